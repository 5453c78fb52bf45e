"""Live minute bars: a collector streams closed one-minute bars into SQLite or PostgreSQL.

`store` is also what the API reads the database with: it needs nothing beyond the standard
library (and psycopg for PostgreSQL), so it never pulls the collector's network stack or pandas
into the server.
"""
