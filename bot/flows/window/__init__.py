"""The window's own life: cancel, expiry, the timed actions stored at approval and their
handlers (pre-check, reminders, start, end, the proposal re-post)."""
