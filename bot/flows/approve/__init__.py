"""G1, window approved: Approve, or Reject with a reason; four eyes."""
