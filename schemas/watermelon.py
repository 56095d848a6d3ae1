"""Wire format of the WatermelonDB sync protocol (see ``sync/watermelon.py``)."""

from __future__ import annotations

import json

from marshmallow import ValidationError, fields, validates

from schemas.base import BaseSchema


class WatermelonPullArgsSchema(BaseSchema):
    last_pulled_at = fields.Integer(allow_none=True, metadata={"description": "The last pull's timestamp; none: all."})
    schema_version = fields.Integer(metadata={"description": "The app's WatermelonDB schema version."})
    migration = fields.String(allow_none=True, metadata={"description": "JSON: WatermelonDB's migration info."})

    @validates("migration")
    def _json(self, value, **_kwargs):
        if value in (None, "", "null"):
            return
        try:
            json.loads(value)
        except ValueError:
            raise ValidationError("Not JSON.") from None


class WatermelonPushArgsSchema(BaseSchema):
    last_pulled_at = fields.Integer(allow_none=True)


class TableChangesSchema(BaseSchema):
    created = fields.List(fields.Dict(), required=True)
    updated = fields.List(fields.Dict(), required=True)
    deleted = fields.List(fields.String(), required=True)


class WatermelonPullResponseSchema(BaseSchema):
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(TableChangesSchema), required=True)
    timestamp = fields.Integer(required=True)


class WatermelonPushResponseSchema(BaseSchema):
    ok = fields.Boolean(required=True)
    missing_blobs = fields.List(fields.String(), required=True)
