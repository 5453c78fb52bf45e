"""The market feed's database, which the feed writes and the API reads, on the standard library
(psycopg for PostgreSQL): `bars` (what it holds), `store` (schema, writes, reads), `reader`
(reading it from a threaded server)."""
