"""The database of live minute bars: the collector (`cryptopredict.collect`) writes it and the
API reads it, both through here. It needs nothing beyond the standard library (and psycopg for
PostgreSQL), so it never pulls the collector's network stack or pandas into the server.

- `bars`: one closed minute bar, checked before it can reach the database (`MinuteBar`);
- `store`: the database's schema, its writes and its reads (`MinuteStore`);
- `reader`: reading it from a threaded server (`MinuteReader`).
"""
