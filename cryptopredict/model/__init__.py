"""Training's numerics: the forecasters, the backtest, bands, scores, the gate and the served
model. The orchestration that runs them on Dask is `cryptopredict.training`."""
