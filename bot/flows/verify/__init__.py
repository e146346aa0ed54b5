"""G5, verified: post-checks against the day-before baseline, Verified or Problem…."""
