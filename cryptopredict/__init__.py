"""cryptopredict: a Bitcoin price forecast, retrained every six hours and served over HTTP."""
