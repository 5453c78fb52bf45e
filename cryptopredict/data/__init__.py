"""Market data: sources, the history store, validation, and candles."""
