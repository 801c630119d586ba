"""Saved searches re-run on a schedule, and the feed their new matches land in."""
