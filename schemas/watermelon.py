"""Wire format of the WatermelonDB sync protocol (see ``sync/watermelon.py``)."""

from __future__ import annotations

import json

from marshmallow import ValidationError, fields, validates

from schemas.base import BaseSchema


class NullableTimestamp(fields.Integer):
    """WatermelonDB's own example puts ``last_pulled_at=${lastPulledAt}`` in
    the URL, which reads ``null`` (or ``undefined``) before the first sync."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("", "null", "undefined"):
            return None
        return super()._deserialize(value, attr, data, **kwargs)


class WatermelonPullArgsSchema(BaseSchema):
    last_pulled_at = NullableTimestamp(allow_none=True, metadata={
        "description": "The last pull's timestamp; none (or `null`): everything."})
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
    last_pulled_at = NullableTimestamp(allow_none=True)


class TableChangesSchema(BaseSchema):
    created = fields.List(fields.Dict(), required=True)
    updated = fields.List(fields.Dict(), required=True)
    deleted = fields.List(fields.String(), required=True)


class WatermelonPullResponseSchema(BaseSchema):
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(TableChangesSchema), required=True)
    timestamp = fields.Integer(required=True)


class RefusalSchema(BaseSchema):
    table = fields.String(required=True)
    id = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code."})
    message = fields.String(required=True)
    field_errors = fields.Dict(data_key="fields", metadata={"description": "Per-field messages."})


class WatermelonPushResponseSchema(BaseSchema):
    ok = fields.Boolean(required=True)
    experimentalRejectedIds = fields.Dict(  # WatermelonDB's own name
        keys=fields.String(), values=fields.List(fields.String()), required=True,
        metadata={"description": "Records refused whole, by table: the device keeps them unsynced."})
    rejected = fields.List(fields.Nested(RefusalSchema), required=True,
                           metadata={"description": "Why each of those was refused."})
    refused = fields.List(fields.Nested(RefusalSchema), required=True, metadata={
        "description": "Parts of changes refused while the rest applied (fields a device may not write, "
                       "deletes of records that cannot be deleted): the next pull sends those records back "
                       "as the server holds them."})
    missing_blobs = fields.List(fields.String(), required=True)
