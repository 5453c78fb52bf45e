"""Training's orchestration on Dask; the numerics it drives are `cryptopredict.model`'s."""
