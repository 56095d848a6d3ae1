"""Base schemas: the policy every wire schema follows."""

from __future__ import annotations

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate


def _nul_fields(data, path: str = "") -> list[str]:
    """Where a NUL character hides in loaded input (PostgreSQL cannot store it in text)."""
    if not path and isinstance(data, dict | list):
        # Fast path for large bodies (a 500-operation sync push): JSON text
        # escapes NUL as \u0000, so input whose JSON lacks that has none.
        # Anything orjson cannot encode, or a match, takes the full walk.
        try:
            if b"\\u0000" not in orjson.dumps(data):
                return []
        except (TypeError, orjson.JSONEncodeError):
            pass
    if isinstance(data, str):
        return [path or "_schema"] if "\x00" in data else []
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in _nul_fields(key, path) + _nul_fields(
            value, f"{path}.{key}" if path else str(key))]
    if isinstance(data, list | tuple):
        return [p for item in data for p in _nul_fields(item, path)]
    return []


class BaseSchema(Schema):
    """Unknown fields are an error, never silently dropped: a client that sends
    a misspelled field learns it at once."""

    class Meta:
        unknown = RAISE
        ordered = True

    @pre_load(pass_collection=True)
    def _refuse_nul_characters(self, data, **kwargs):
        # A query string (MultiDict) is checked with every value of every name.
        bad = _nul_fields({key: data.getlist(key) for key in data} if hasattr(data, "getlist") else data)
        if bad:
            raise ValidationError({name.split(".")[0]: ["NUL characters are not allowed."] for name in bad})
        return data


class ErrorBodySchema(BaseSchema):
    status = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code."})
    message = fields.String(required=True)
    field_errors = fields.Dict(data_key="fields",
                               metadata={"description": "Per-field messages, keyed by input location."})
    details = fields.Dict()
    request_id = fields.String()


class ErrorSchema(BaseSchema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(BaseSchema):
    """The one pagination scheme: keyset cursors. Pass back ``next_cursor``
    as ``cursor`` until ``has_more`` is false."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(metadata={"description": "Opaque; from a previous page's next_cursor."})


class PageSchema(BaseSchema):
    next_cursor = fields.String(allow_none=True)
    has_more = fields.Boolean(required=True)


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """A page envelope schema: ``{"items": [...], "next_cursor": ..., "has_more": ...}``."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item_schema), required=True)})
