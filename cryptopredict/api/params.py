"""Query parameters: each given at most once."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from cryptopredict.api.errors import BadRequestError


def single(args: MultiDict[str, str], name: str, *, required: bool) -> str | None:
    """The one value of query parameter `name`; BadRequestError if it is repeated or missing."""
    values = args.getlist(name)
    if len(values) > 1:
        raise BadRequestError(f"{name} is given {len(values)} times; give it once")
    if not values:
        if required:
            raise BadRequestError(f"the query parameter {name} is missing")
        return None
    return values[0]
