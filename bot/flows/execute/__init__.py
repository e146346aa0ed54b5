"""The night: each step triggered through the adapter and followed, progress, halt, Retry /
Abort, steps run by hand, and re-attaching after a restart."""
