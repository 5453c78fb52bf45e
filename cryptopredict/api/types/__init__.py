"""The HTTP contract: a msgspec type for every answer and for every operation's parameters.

Views build their answers as these types and `responses.json_response` encodes them; the
OpenAPI document (`cryptopredict.api.openapi`) is generated from the same types, so what is
served and what is documented cannot drift apart. Serving imports the artifact's schema for the
model card and the backtest, as training writes them, and nothing of training.
"""
