"""The serving objects, free of Flask: what the routes answer from.

- `catalog`: the served assets by slug (`Catalog`, `CatalogEntry`);
- `forecast`: one asset's forecast grid, at an instant or over a range (`Forecast`);
- `answers`: the body of a forecast answer, shared by the Flask views and the `/bitcoin` fast
  path (`PointAnswer`);
- `candles`: an asset's bars, ready to aggregate into candles (`CandleSource`);
- `utc`: times as the answers write them.

Nothing here imports Flask, `cryptopredict.model` or `cryptopredict.data`
(`tests/api/test_structure.py` checks it): serving runs on numpy.
"""
