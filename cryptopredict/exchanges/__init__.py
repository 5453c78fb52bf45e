"""The exchanges' REST market data, one client module each (`binance`, `alpaca`), over one GET
(`rest`): what the collector backfills minutes from and what the API polls its latest prices
from. Below both, it imports neither."""
