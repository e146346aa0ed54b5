"""Slack's App Home tab: what the reader owes now, what is coming, what just finished."""
