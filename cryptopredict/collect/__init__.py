"""Live minute bars: a collector streams closed one-minute bars into SQLite or PostgreSQL, through
the minute database (`cryptopredict.minutes`) the API reads."""
