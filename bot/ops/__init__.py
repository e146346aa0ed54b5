"""Running it for the people around the bot: metrics, the ops HTTP routes (/healthz, /metrics,
/calendar.ics), the calendar feed and readable logs."""
