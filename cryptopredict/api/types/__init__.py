"""The HTTP contract: a msgspec type for every answer and query, which the OpenAPI document is
generated from."""
