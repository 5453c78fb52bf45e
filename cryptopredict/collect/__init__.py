"""The market feed: latest prices and closed minutes from the exchanges into `minutes/`."""
