"""The serving objects, free of Flask: what the routes answer from.

- `catalog`: the served assets by slug (`Catalog`, `CatalogEntry`);
- `forecast`: one asset's forecast, from its grid and the latest price the API read, at an
  instant or over a range, and the answer at an instant (`Forecast`);
- `candles`: an asset's bars, ready to aggregate into candles (`CandleSource`).

Nothing here imports Flask, `cryptopredict.model` or `cryptopredict.data`
(`tests/api/test_structure.py` checks it): serving runs on numpy.
"""
