"""Wire format of FieldSync's own sync protocol (version 1).

Push body::

    {"protocol": 1, "device_time": "2026-11-25T10:00:00Z",
     "ops": [{"op_id": "<uuid>", "table": "jobs", "id": "<uuid>", "action": "update",
              "base_version": 3, "fields": {"work_done": "..."}, "device_time": "..."}]}

Operations are parsed one by one (:func:`parse_operation`) rather than by a
marshmallow schema over the whole batch: one malformed operation is rejected
on its own while the others apply, and a 500-operation batch parses in well
under a millisecond. The marshmallow schemas below describe the same shapes
for the OpenAPI document and validate the envelope.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from functools import lru_cache

from marshmallow import fields, validate

from schemas.base import BaseSchema
from sync.push import InvalidOperation, Operation

# Field names of the protocol, as constants.
OP_ID, TABLE, ID, ACTION, BASE_VERSION, FIELDS, DEVICE_TIME = (
    "op_id", "table", "id", "action", "base_version", "fields", "device_time")
ACTIONS = ("create", "update", "delete")
_OP_KEYS = frozenset({OP_ID, TABLE, ID, ACTION, BASE_VERSION, FIELDS, DEVICE_TIME})
# A UUID already in its canonical text form (what ``str(uuid.UUID(x))``
# gives back): taken as it is, without building a UUID to print it again.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _device_time(value):
    if value is None:
        return None
    if type(value) is str:
        return _device_time_text(value)
    return _parse_device_time(value)


@lru_cache(maxsize=1024)
def _device_time_text(value: str):
    # A batch's operations mostly share a few device times: parsed once
    # each, and the same (immutable) datetime is then handed out again.
    return _parse_device_time(value)


def _parse_device_time(value):
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None  # the device's clock is only recorded: a bad one is dropped, not fatal
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        return None


def _uuid_text(value) -> str | None:
    """A UUID's canonical text (what ``str(uuid.UUID(x))`` gives), or None."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value  # taken as it is: no UUID built just to print it again
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def parse_operation(index: int, raw) -> Operation | InvalidOperation:
    """One operation of a push, or the reason it cannot be applied."""
    if not isinstance(raw, dict):
        return InvalidOperation(index, None, "an operation is a JSON object", {})
    op_id = _uuid_text(raw.get(OP_ID))
    if op_id is None:
        return InvalidOperation(index, None, "op_id must be a UUID made by the device", {OP_ID: ["Not a UUID."]})
    if not raw.keys() <= _OP_KEYS:
        unknown = set(raw) - _OP_KEYS
        return InvalidOperation(index, op_id, "unknown keys in the operation",
                                {k: ["Unknown field."] for k in sorted(unknown)})
    errors = {}
    table = raw.get(TABLE)
    if not isinstance(table, str):
        errors[TABLE] = ["Required string."]
    action = raw.get(ACTION)
    if action not in ACTIONS:
        errors[ACTION] = [f"One of: {', '.join(ACTIONS)}."]
    record_id = _uuid_text(raw.get(ID))
    if record_id is None:
        errors[ID] = ["The record's UUID, made by the device."]
    base_version = raw.get(BASE_VERSION)
    if base_version is not None and (isinstance(base_version, bool) or not isinstance(base_version, int)
                                     or base_version < 1):
        errors[BASE_VERSION] = ["A positive integer."]
    if action in ("update", "delete") and base_version is None:
        errors[BASE_VERSION] = ["Required for updates and deletes: the version the edit was made from."]
    values = raw.get(FIELDS, {})
    if values is None:
        values = {}
    if not isinstance(values, dict):
        errors[FIELDS] = ["An object of field names and values."]
    if errors:
        return InvalidOperation(index, op_id, "the operation is malformed", errors,
                                table=table if isinstance(table, str) else None,
                                record_id=record_id if ID not in errors else None)
    return Operation(index=index, op_id=op_id, table=table, record_id=record_id, action=action,
                     base_version=base_version, fields=values, device_time=_device_time(raw.get(DEVICE_TIME)))


# ---- marshmallow schemas (envelope validation and OpenAPI) ---------------------

class OperationSchema(BaseSchema):
    op_id = fields.UUID(required=True, metadata={"description": "Made by the device; the key of exactly-once."})
    table = fields.String(required=True)
    id = fields.UUID(required=True, metadata={"description": "The record's UUID (made by the device on create)."})
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    base_version = fields.Integer(metadata={"description": "The version the edit was made from (update, delete)."})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "Changed fields only."})
    device_time = fields.DateTime(metadata={"description": "The device's clock: recorded, never trusted."})


class _Operations(fields.List):
    """A list of operations, kept as they are: each is checked on its own by
    :func:`parse_operation`. Same refusals as ``List(Raw())`` (not a list;
    a null item), without deserialising 500 items one by one to get them back
    unchanged; the same OpenAPI description."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or any(item is None for item in value):
            return super()._deserialize(value, attr, data, **kwargs)
        return list(value)


class PushPullSchema(BaseSchema):
    cursor = fields.String(allow_none=True, metadata={
        "description": "The device's pull cursor, as the last pull (or push answer) gave it; none: a first sync."})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10_000),
                           metadata={"description": "At most this many changes, as the pull's `limit`."})


class PushRequestSchema(BaseSchema):
    protocol = fields.Integer(required=True, metadata={"description": "Sync protocol version the app speaks."})
    device_time = fields.String(allow_none=True)
    # Each operation is checked on its own (see parse_operation): one bad
    # operation is rejected in its result, never by failing the batch.
    ops = _Operations(fields.Raw(), required=True, metadata={"description": "Operations, applied in order."})
    pull = fields.Nested(PushPullSchema, metadata={"description": (
        "Ask for the pull in the same round trip: the answer's `pull` is exactly what "
        "`GET /sync/pull?cursor=…&limit=…` would answer right after this push committed (same scope, same "
        "gap-free cursor). A cursor the server did not give out (422 `invalid_cursor`) or one older than the "
        "retention (410 `resync_required`) is refused before anything is applied.")})


class ErrorInResultSchema(BaseSchema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(data_key="fields")


class OutcomeSchema(BaseSchema):
    op_id = fields.UUID(allow_none=True)
    status = fields.String(required=True, metadata={"description": "applied, merged or rejected."})
    table = fields.String(allow_none=True)
    id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    conflict_id = fields.UUID(allow_none=True)
    error = fields.Nested(ErrorInResultSchema)
    refused = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "Updates: fields the device may not write, refused while the others applied; the "
                       "record comes back with the next pull as the server holds it."})


class ResultSchema(OutcomeSchema):
    status = fields.String(required=True, metadata={"description": "applied, duplicate, merged or rejected."})
    outcome = fields.Nested(OutcomeSchema, metadata={"description": "Duplicates: the first outcome, again."})


class PullArgsSchema(BaseSchema):
    protocol = fields.Integer(required=True)
    cursor = fields.String(metadata={"description": "Opaque; from the previous pull. None: a first sync."})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10_000))


class ChangeSchema(BaseSchema):
    table = fields.String(required=True)
    id = fields.String(required=True)
    version = fields.Integer(allow_none=True)
    deleted = fields.Boolean(required=True)
    reason = fields.String(metadata={"description": "Tombstones: deleted or out_of_scope."})
    fields_ = fields.Dict(data_key="fields")


class PullResponseSchema(BaseSchema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    next_cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)


class PushResponseSchema(BaseSchema):
    results = fields.List(fields.Nested(ResultSchema), required=True)
    missing_blobs = fields.List(fields.String(), required=True,
                                metadata={"description": "SHA-256 of referenced blobs not uploaded yet."})
    position = fields.Integer(allow_none=True)
    pull = fields.Nested(PullResponseSchema, metadata={"description": (
        "Only when the push asked for it (`pull`): the first page of changes since the cursor, read after "
        "the push committed; continue with `GET /sync/pull` from `next_cursor` while `has_more`.")})


class ConflictSchema(BaseSchema):
    id = fields.UUID()
    table = fields.String(attribute="table_name")
    record_id = fields.String()
    kind = fields.String()
    status = fields.String()
    fields_ = fields.Dict(data_key="fields", attribute="fields",
                          metadata={"description": "{field: {server, device, kept}}"})
    op_id = fields.UUID(allow_none=True)
    device_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    base_version = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.UUID(allow_none=True)
    resolution = fields.Dict(allow_none=True)


class ConflictQuerySchema(BaseSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved", "all"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String()


class ConflictPageSchema(BaseSchema):
    items = fields.List(fields.Nested(ConflictSchema), required=True)
    next_cursor = fields.String(allow_none=True)
    has_more = fields.Boolean(required=True)


class ConflictResolveSchema(BaseSchema):
    keep = fields.String(required=True, validate=validate.OneOf(["server", "device", "values"]),
                         metadata={"description": "Keep the server's values, the device's, or set values."})
    values = fields.Dict(metadata={"description": "keep=values: the field values to set."})
    note = fields.String(validate=validate.Length(max=2000))
