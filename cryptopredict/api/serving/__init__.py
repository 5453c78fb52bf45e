"""What the routes answer from, on numpy: no Flask, `cryptopredict.model` or `.data`."""
