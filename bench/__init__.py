"""`make bench`: the serving API measured against the per-request approach and the ceiling."""
