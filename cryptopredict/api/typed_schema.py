"""Marshmallow schemas made field by field from the artifact's typed contract (the msgspec
structs of `cryptopredict.artifact.schema`), so the OpenAPI document declares the
model card and the backtest exactly as training writes them: every object with its properties,
every mapping with the type of its values, and a field added to the contract documented with it.

Imported only to build the OpenAPI document (`cryptopredict.api.schemas`).
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
from marshmallow import Schema, fields, validate

_made: dict[type, type[Schema]] = {}


def schema_of(cls: type, *, name: str | None = None, **extra: fields.Field) -> type[Schema]:
    """The schema of a struct or dataclass of the contract, named as the class (or `name`), with
    `extra` fields after its own. One schema per class and name: a class met again is reused."""
    if name is None and not extra and cls in _made:
        return _made[cls]
    info = mi.type_info(cls)
    if not isinstance(info, mi.StructType | mi.DataclassType):
        raise TypeError(f"{cls.__name__} is not a struct or dataclass of the contract")
    own = {
        field.name: _field(field.type, field.required, field.encode_name) for field in info.fields
    }
    made = Schema.from_dict({**own, **extra}, name=name or cls.__name__)
    made.__doc__ = cls.__doc__
    if name is None and not extra:
        _made[cls] = made
    return made


def _field(kind: mi.Type, required: bool, key: str | None = None) -> fields.Field:
    options: dict[str, Any] = {"required": required}
    if isinstance(kind, mi.UnionType):
        others = [member for member in kind.types if not isinstance(member, mi.NoneType)]
        if len(others) != 1:
            raise TypeError(f"no schema for a union of {kind.types}")
        kind = others[0]
        options["allow_none"] = True
    if key is not None:
        options["data_key"] = key
    return _plain(kind, **options)


_SCALARS: dict[type, type[fields.Field]] = {
    mi.StrType: fields.String,
    mi.DateTimeType: fields.DateTime,
    mi.BoolType: fields.Boolean,
    mi.IntType: fields.Integer,
    mi.FloatType: fields.Float,
}


def _plain(kind: mi.Type, **options: Any) -> fields.Field:
    if type(kind) in _SCALARS:
        return _SCALARS[type(kind)](**options)
    if isinstance(kind, mi.LiteralType) and all(isinstance(v, str) for v in kind.values):
        return fields.String(validate=validate.OneOf(kind.values), **options)
    if isinstance(kind, mi.StructType | mi.DataclassType):
        return fields.Nested(schema_of(kind.cls), **options)
    if isinstance(kind, mi.VarTupleType | mi.ListType):
        return fields.List(_field(kind.item_type, True), **options)
    if isinstance(kind, mi.TupleType):
        return _numbers(kind, **options)
    if isinstance(kind, mi.DictType) and isinstance(kind.key_type, mi.StrType):
        return fields.Dict(keys=fields.String(), values=_field(kind.value_type, True), **options)
    raise TypeError(f"no schema for {kind}")


def _numbers(kind: mi.TupleType, **options: Any) -> fields.Field:
    """A fixed pair of numbers ((hours, days), (hours, weight)) as a list of numbers."""
    found = [_field(item, True) for item in kind.item_types]
    if not all(isinstance(item, fields.Integer | fields.Float) for item in found):
        raise TypeError(f"no schema for a tuple of {kind.item_types}")
    nullable = any(item.allow_none for item in found)
    whole = all(isinstance(item, fields.Integer) for item in found)
    number = fields.Integer if whole else fields.Float
    return fields.List(number(allow_none=nullable), **options)
