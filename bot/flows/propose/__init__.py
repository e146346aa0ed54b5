"""Propose: the proposal, planned and posted; and the parent message every step refreshes."""
