"""The market feed's database: the feed (`cryptopredict.collect`) writes it and the API reads it,
both through here. It needs nothing beyond the standard library (and psycopg for PostgreSQL), so
it never pulls the feed's network clients or pandas into the server's reads.

- `bars`: what it holds: a closed minute bar, checked before it can reach the database
  (`MinuteBar`), an asset's latest price (`Quote`), how the feed's polls went (`FeedStatus`);
- `store`: the database's schema, its writes and its reads (`MinuteStore`);
- `reader`: reading it from a threaded server (`MinuteReader`).
"""
