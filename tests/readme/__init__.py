"""The README, executed."""
