"""G3, pre-check accepted: the day-before pre-check with upload only, acceptance bound to its
evidence, and reopening when the evidence changes."""
