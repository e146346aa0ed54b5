"""What stands between Slack and the flows: the intake of requests (retries claimed once, foreign
payloads refused), the check that a button belongs to its message, and the Web API retry rules."""
