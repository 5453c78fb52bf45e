"""The market feed: the latest price of every served pair and the closed minutes of ASSETS,
polled from the exchanges' REST APIs (`binance`, `alpaca`, over `rest`) into the feed's
database (`cryptopredict.minutes`) through one storage path (`writer`), on a thread of the API
process or as `python -m cryptopredict.collect` (`cli`); and the replay of a minute file."""
