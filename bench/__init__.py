"""`make bench`: the serving API measured against a stock Flask + Waitress server and the
per-request approach."""
