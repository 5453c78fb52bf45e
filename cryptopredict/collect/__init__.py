"""The market feed: latest prices and closed minutes from the exchanges' REST APIs into the
feed's database (`cryptopredict.minutes`), on a thread of the API process or as `python -m
cryptopredict.collect`; and the replay of a minute file."""
