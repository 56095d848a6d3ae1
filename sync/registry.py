"""The syncable tables: what each one sends down, what a device may write,
who owns each field when both sides changed it, and how it is scoped.

Scope kinds:

- ``global``: everyone sees it (the parts catalogue);
- ``job``: visible with the job named by ``scope_column`` (a job, its facts);
- ``technician``: visible to the technician named by ``scope_column``;
- ``location``: visible to the technician whose van is ``scope_column``;
- ``related``: reached through a technician's jobs' tickets (tickets,
  customers, sites, assets); matched by id.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache
from typing import Any

from media.models import Photo, PhotoKind, Signature
from server.customers.models import Asset, Customer, Site
from server.jobs.models import (
    Adjustment,
    CheckIn,
    CheckInKind,
    CustomerRating,
    Job,
    JobStatus,
    NoSignatureReason,
    PartUsage,
)
from server.reports.models import ExpenseKind, JobExpense
from server.stock.models import Part, SpareUnit, StockLevel
from server.tickets.models import Ticket

DEVICE = "device"
SERVER = "server"

CREATE, UPDATE, DELETE = "create", "update", "delete"


class FieldError(ValueError):
    """A pushed value of the wrong type or shape."""


# ---- value parsers: wire value -> Python value (raise FieldError) ----------
# Each parser carries ``json_schema``: what it accepts, as OpenAPI 3.0 states
# it. The push's operation shapes in the API document are built from these
# (operation_schemas below), so the document cannot drift from the parsers.

def _described(parse, schema: dict, nullable: bool = False):
    parse.json_schema = {**schema, "nullable": True} if nullable else schema
    return parse


def _text(max_length: int | None = None, required: bool = False) -> Callable[[Any], Any]:
    def parse(value):
        if value is None:
            if required:
                raise FieldError("may not be null")
            return None
        if not isinstance(value, str):
            raise FieldError("must be a string")
        if max_length is not None and len(value) > max_length:
            raise FieldError(f"longer than {max_length} characters")
        if required and not value.strip():
            raise FieldError("may not be empty")
        return value
    schema = {"type": "string"} | ({"maxLength": max_length} if max_length is not None else {})
    if required:
        schema["pattern"] = r"\S"  # not blank
    return _described(parse, schema, nullable=not required)


def _datetime(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError("must be an ISO 8601 date-time string")
    return _datetime_text(value)


# A batch's facts share a few timestamps and name the same few jobs and parts:
# each text is parsed once (refusals are not cached) and the same immutable
# value handed out again.
@lru_cache(maxsize=4096)
def _datetime_text(value: str):
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FieldError("not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise FieldError("must carry a time zone (UTC: 'Z')")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        raise FieldError("outside 1970-2200") from None
    if not 1970 <= parsed.year <= 2200:
        raise FieldError("outside 1970-2200")
    return parsed


def _uuid(required: bool = False):
    def parse(value):
        if value is None:
            if required:
                raise FieldError("may not be null")
            return None
        try:
            return _uuid_text(value) if type(value) is str else uuid.UUID(str(value))
        except ValueError:
            raise FieldError("not a UUID") from None
    return _described(parse, {"type": "string", "format": "uuid"}, nullable=not required)


@lru_cache(maxsize=4096)
def _uuid_text(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _number(low: float | None = None, high: float | None = None, required: bool = False):
    def parse(value):
        if value is None:
            if required:
                raise FieldError("may not be null")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FieldError("must be a number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise FieldError(f"must be between {low} and {high}")
        return float(value)
    bounds = {k: v for k, v in (("minimum", low), ("maximum", high)) if v is not None}
    return _described(parse, {"type": "number", **bounds}, nullable=not required)


def _positive_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise FieldError("must be a positive integer")
    if value > 1_000_000:
        raise FieldError("implausibly large")
    return value


def _integer(low: int, high: int):
    def parse(value):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("must be a whole number")
        if not low <= value <= high:
            raise FieldError(f"must be between {low} and {high}")
        return value
    return _described(parse, {"type": "integer", "minimum": low, "maximum": high}, nullable=True)


MAX_AMOUNT = 10_000_000


def _money(value):
    """An amount in yuan (CNY) to the fen: 0 to 10,000,000, at most two decimals."""
    if value is None:
        raise FieldError("may not be null")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError("must be a number (yuan)")
    if not 0 <= value <= MAX_AMOUNT:
        raise FieldError(f"must be between 0 and {MAX_AMOUNT:,} yuan")
    fen = round(value * 100)
    if abs(value * 100 - fen) > 1e-6:
        raise FieldError("at most two decimals (fen)")
    return fen / 100


def _bool_or_none(value):
    if value is not None and not isinstance(value, bool):
        raise FieldError("must be true, false or null")
    return value


def _enum(cls: type[enum.Enum], required: bool = False, refused: tuple = ()):
    def parse(value):
        if value is None:
            if required:
                raise FieldError("may not be null")
            return None
        try:
            member = cls(value)
        except ValueError:
            raise FieldError("one of: " + ", ".join(m.value for m in cls if m not in refused)) from None
        if member in refused:
            raise FieldError(f"{member.value!r} cannot be set from a device")
        return member
    values = [m.value for m in cls if m not in refused]
    return _described(parse, {"type": "string", "enum": values + ([] if required else [None])},
                      nullable=not required)


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _sha256(value):
    if not isinstance(value, str) or not _SHA256.match(value):
        raise FieldError("must be a lowercase hex SHA-256")
    return value


def _string_list(value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 64 for v in value):
        raise FieldError("must be a list of strings")
    if len(value) > 1000:
        raise FieldError("too many items")
    return value


_described(_datetime, {"type": "string", "format": "date-time",
                       "description": "ISO 8601 with an offset (UTC: Z), 1970-2200."}, nullable=True)
_described(_positive_int, {"type": "integer", "minimum": 1, "maximum": 1_000_000})
_described(_money, {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT,
                    "description": "Yuan (CNY) to the fen: at most two decimals."})
_described(_bool_or_none, {"type": "boolean"}, nullable=True)
_described(_sha256, {"type": "string", "pattern": _SHA256.pattern, "description": "Lowercase hex SHA-256."})
_described(_string_list, {"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 64}},
           nullable=True)


def _finite(value, low, high) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
            and low <= value <= high)


def _point(point) -> bool:
    """A point as the REST path takes it (``schemas.media.PointSchema``): x, y
    in canvas units, t in ms since the first point (optional here: older
    apps leave it out), optional pressure p."""
    return (isinstance(point, dict) and {"x", "y"} <= set(point) <= {"x", "y", "t", "p"}
            and _finite(point["x"], 0, 100_000) and _finite(point["y"], 0, 100_000)
            and (point.get("t") is None or (type(point["t"]) is int and 0 <= point["t"] < 2 ** 53))
            and (point.get("p") is None or _finite(point["p"], 0, 1)))


def _strokes(value):
    if not isinstance(value, list) or not value or not all(isinstance(s, list) and s for s in value):
        raise FieldError("must be a non-empty list of strokes (lists of points)")
    if len(value) > 200 or any(len(s) > 5000 for s in value) or sum(len(s) for s in value) > 20_000:
        raise FieldError("too many strokes or points")
    if not all(_point(p) for s in value for p in s):
        raise FieldError("each point is {x, y, t?, p?}: x, y 0-100000, t whole milliseconds >= 0, p 0-1")
    return value


_POINT = {"type": "object", "required": ["x", "y"], "additionalProperties": False, "properties": {
    "x": {"type": "number", "minimum": 0, "maximum": 100_000},
    "y": {"type": "number", "minimum": 0, "maximum": 100_000},
    "t": {"type": "integer", "minimum": 0, "maximum": 2 ** 53 - 1, "nullable": True,
          "description": "Milliseconds since the first point."},
    "p": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True, "description": "Pressure."}}}
_described(_strokes, {"type": "array", "minItems": 1, "maxItems": 200,
                      "description": "Strokes, each a list of points; at most 20,000 points in all.",
                      "items": {"type": "array", "minItems": 1, "maxItems": 5000, "items": _POINT}})


# ---- wire rendering: Python value -> JSON value ------------------------------

_PLAIN = (str, int, float, bool, type(None))


def to_wire(value):
    if type(value) in _PLAIN:  # exact types: our enums are str subclasses
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@dataclass(frozen=True)
class SyncTable:
    name: str
    model: type
    scope: str
    scope_column: str | None = None
    versioned: bool = True
    # Device-writable fields and their parsers; required ones for create.
    writable: dict[str, Callable] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    create_only: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    # Both sides changed a field: who wins. Fields not named follow the device
    # for device-written tables.
    owners: dict[str, str] = field(default_factory=dict)
    fact: bool = False
    # Columns that hold a blob's SHA-256 (blobs travel separately).
    blob_fields: tuple[str, ...] = ()
    key_columns: tuple[str, ...] = ("id",)
    excluded: frozenset[str] = frozenset({"created_at", "updated_at"})

    @property
    def table(self):
        return self.model.__table__

    @cached_property
    def pulled_columns(self) -> list:
        return [c for c in self.table.columns if c.name not in self.excluded]

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.pulled_columns if c.name not in self.key_columns and c.name != "version")

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns)

    @cached_property
    def column_defaults(self) -> tuple[tuple[str, Callable], ...]:
        """(column, make value) for columns with a Python-side default: a bulk
        INSERT given an explicit None would not apply them."""
        out = []
        for column in self.table.columns:
            default = column.default
            if default is None or getattr(default, "is_sequence", False) or getattr(default, "is_clause_element",
                                                                                     False):
                continue
            if default.is_callable:
                out.append((column.name, lambda fn=default.arg: fn(None)))
            else:
                out.append((column.name, lambda value=default.arg: value))
        return tuple(out)

    def record_id(self, row) -> str:
        """The record's key as text, from an object, a row or a mapping."""
        get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
        return ":".join(str(get(k)) for k in self.key_columns)

    def owner(self, name: str) -> str:
        return self.owners.get(name, DEVICE)


_REPORT = {
    "status": _enum(JobStatus, required=True, refused=(JobStatus.cancelled, JobStatus.assigned)),
    "arrived_at": _datetime,
    "departed_at": _datetime,
    "completed_at": _datetime,
    "work_done": _text(20_000),
    "fault_cause": _text(20_000),
    "solution": _text(20_000),
    "customer_opinion": _text(20_000),
    "customer_rating": _enum(CustomerRating),
    "no_signature_reason": _enum(NoSignatureReason),
    "no_signature_note": _text(2000),
}

TABLES: dict[str, SyncTable] = {t.name: t for t in (
    SyncTable(
        "jobs", Job, scope="job", scope_column="id", actions=frozenset({UPDATE}), writable=_REPORT,
        # On-site facts follow the technician (the default); assignment,
        # schedule, priority and cancellation follow the dispatcher.
        owners={"technician_id": SERVER, "planned_start": SERVER, "planned_end": SERVER,
                "priority": SERVER, "instructions": SERVER, "ticket_id": SERVER},
    ),
    SyncTable("tickets", Ticket, scope="related", excluded=frozenset({"created_at", "updated_at", "owner_id"})),
    SyncTable("customers", Customer, scope="related"),
    SyncTable("sites", Site, scope="related"),
    SyncTable("assets", Asset, scope="related"),
    SyncTable("parts", Part, scope="global"),
    SyncTable("stock_levels", StockLevel, scope="location", scope_column="location_id", versioned=False,
              key_columns=("location_id", "part_id")),
    SyncTable("spare_units", SpareUnit, scope="location", scope_column="location_id"),
    SyncTable(
        "adjustments", Adjustment, scope="job", scope_column="job_id", actions=frozenset({CREATE, UPDATE, DELETE}),
        writable={"job_id": _uuid(required=True), "parameter": _text(200, required=True),
                  "value_before": _text(200), "value_after": _text(200), "unit": _text(32)},
        required=frozenset({"job_id", "parameter"}), create_only=frozenset({"job_id"}),
    ),
    SyncTable(
        "part_usages", PartUsage, scope="job", scope_column="job_id", versioned=False, fact=True,
        actions=frozenset({CREATE}),
        writable={"job_id": _uuid(required=True), "part_id": _uuid(required=True), "quantity": _positive_int,
                  "serial_numbers": _string_list, "location_id": _uuid(), "under_warranty": _bool_or_none,
                  "recorded_at": _datetime},
        required=frozenset({"job_id", "part_id", "quantity"}), excluded=frozenset(),
    ),
    SyncTable(
        "check_ins", CheckIn, scope="technician", scope_column="technician_id", versioned=False, fact=True,
        actions=frozenset({CREATE}),
        writable={"job_id": _uuid(), "kind": _enum(CheckInKind, required=True),
                  "latitude": _number(-90, 90, required=True), "longitude": _number(-180, 180, required=True),
                  "accuracy_m": _number(0, 1_000_000), "recorded_at": _datetime},
        required=frozenset({"kind", "latitude", "longitude"}), excluded=frozenset(),
    ),
    SyncTable(
        "photos", Photo, scope="job", scope_column="job_id", versioned=False, fact=True,
        actions=frozenset({CREATE}), blob_fields=("blob_sha256",),
        writable={"job_id": _uuid(required=True), "blob_sha256": _sha256, "kind": _enum(PhotoKind),
                  "caption": _text(2000), "latitude": _number(-90, 90), "longitude": _number(-180, 180),
                  "recorded_at": _datetime},
        required=frozenset({"job_id", "blob_sha256"}), excluded=frozenset(),
    ),
    SyncTable(
        "signatures", Signature, scope="job", scope_column="job_id", versioned=False, fact=True,
        actions=frozenset({CREATE}),
        writable={"job_id": _uuid(required=True), "signer_name": _text(200, required=True),
                  "signer_role": _text(100), "strokes": _strokes, "signed_at_device": _datetime,
                  "latitude": _number(-90, 90), "longitude": _number(-180, 180), "report_sha256": _sha256},
        required=frozenset({"job_id", "signer_name", "strokes", "report_sha256"}), excluded=frozenset(),
    ),
    SyncTable(
        # Cost inputs recorded where they happen (the monthly report's travel, lodging, meals, transport):
        # a fact like a part used; the device edits or drops its own only until it has synced.
        "job_expenses", JobExpense, scope="job", scope_column="job_id", versioned=False, fact=True,
        actions=frozenset({CREATE}),
        writable={"job_id": _uuid(required=True), "kind": _enum(ExpenseKind, required=True), "amount": _money,
                  "travel_minutes": _integer(0, 7 * 24 * 60), "distance_km": _number(0, 20_000),
                  "note": _text(2000), "incurred_at": _datetime, "receipt_ref": _text(100)},
        required=frozenset({"job_id", "kind", "amount"}), excluded=frozenset(),
    ),
)}

# Tables whose records a device both creates and deletes: their tombstones are kept for good, so a create
# naming a deleted id is refused however late it comes (a deleted id stays deleted).
CREATED_AND_DELETED = tuple(t.name for t in TABLES.values() if {CREATE, DELETE} <= t.actions)
GLOBAL_TABLES = tuple(t.name for t in TABLES.values() if t.scope == "global")
RELATED_TABLES = ("tickets", "customers", "sites", "assets")
JOB_FACT_TABLES = tuple(t.name for t in TABLES.values() if t.scope == "job" and t.name != "jobs")

_BY_TABLE_NAME = {t.table.name: t for t in TABLES.values()}
_BY_MODEL = {t.model: t for t in TABLES.values()}


def for_model(cls) -> SyncTable | None:
    return _BY_MODEL.get(cls)


def for_table_name(name: str) -> SyncTable | None:
    return _BY_TABLE_NAME.get(name)


def parse_key(spec: SyncTable, record_id: str) -> dict:
    """The key columns of a record from its text id."""
    parts = record_id.split(":")
    if len(parts) != len(spec.key_columns):
        raise FieldError("malformed id")
    try:
        return {name: uuid.UUID(p) for name, p in zip(spec.key_columns, parts, strict=True)}
    except ValueError:
        raise FieldError("malformed id") from None


def valid_uuids(texts) -> list[uuid.UUID]:
    """The valid UUIDs among these texts (others cannot name a record)."""
    out = []
    for text in texts:
        if text is None:
            continue
        try:
            out.append(text if isinstance(text, uuid.UUID) else uuid.UUID(str(text)))
        except (TypeError, ValueError):
            continue
    return out


# ---- the push's operation shapes, for the API document ----------------------

def operation_schema_name(table: SyncTable) -> str:
    return "".join(part.title() for part in table.name.split("_")) + "Operation"


def operation_schemas() -> dict[str, dict]:
    """One OpenAPI schema per table a device may write, named by
    :func:`operation_schema_name`: its actions, writable fields with their
    types and enums (from the parsers), required and create-only fields."""
    out = {}
    for table in TABLES.values():
        if not table.actions:
            continue
        actions = [a for a in (CREATE, UPDATE, DELETE) if a in table.actions]
        properties = {}
        for name, parse in table.writable.items():
            schema = dict(getattr(parse, "json_schema", {}))  # tests/test_sync_op_shapes.py: none lack one
            notes = [n for n, on in (("required on create", name in table.required),
                                     ("create only", name in table.create_only)) if on]
            if table.fact:
                notes.append("a fact: written once, never changed")
            if notes:
                schema["description"] = "; ".join([schema["description"]] if "description" in schema else []
                                                  + notes) + "."
            properties[name] = schema
        required = sorted(table.required)
        fields_doc = ("Changed fields only (update); every required field (create)" if UPDATE in table.actions
                      else "The record's fields")
        out[operation_schema_name(table)] = {
            "type": "object",
            "description": f"An operation on `{table.name}`: {', '.join(actions)}."
                           + (" Required fields on create: " + ", ".join(required) + "." if required else ""),
            "required": ["op_id", "table", "id", "action"],
            "additionalProperties": False,
            "properties": {
                "op_id": {"type": "string", "format": "uuid",
                          "description": "Made by the device; the key of exactly-once."},
                "table": {"type": "string", "enum": [table.name]},
                "id": {"type": "string", "format": "uuid",
                       "description": "The record's UUID (made by the device on create)."},
                "action": {"type": "string", "enum": actions},
                "base_version": {"type": "integer", "minimum": 1, "nullable": True,
                                 "description": "The version the edit was made from: required for update and "
                                                "delete, absent on create."},
                "fields": {"type": "object", "additionalProperties": False, "properties": properties,
                           "description": fields_doc + "."},
                "device_time": {"type": "string", "format": "date-time", "nullable": True,
                                "description": "The device's clock: recorded, never trusted."},
            },
        }
    return out
