"""Base schemas: the policy every wire schema follows."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class BaseSchema(Schema):
    """Unknown fields are an error, never silently dropped: a client that sends
    a misspelled field learns it at once."""

    class Meta:
        unknown = RAISE
        ordered = True


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
