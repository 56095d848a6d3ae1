"""Field helpers shared by the resource schemas."""

from __future__ import annotations

import copy
import enum
import re
from datetime import UTC, datetime

from marshmallow import Schema, fields, missing, validate

from schemas.base import BaseSchema


def enum_field(cls, **kw) -> fields.Enum:  # a stored enum on the wire, by its values
    return fields.Enum(cls, by_value=True, **kw)


def Latitude(**kw) -> fields.Float:  # named like the field classes it stands beside
    return fields.Float(validate=validate.Range(-90, 90), allow_nan=False, **kw)


def Longitude(**kw) -> fields.Float:
    return fields.Float(validate=validate.Range(-180, 180), allow_nan=False, **kw)


class UTCDateTime(fields.AwareDateTime):
    """A moment in time: an offset is required (naive times are refused), the
    value is converted to UTC and must fall between 1970 and 2200, so that no
    later arithmetic (due times, windows) can overflow."""

    EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
    LATEST = datetime(2200, 1, 1, tzinfo=UTC)
    default_error_messages = {"range": "Must be between 1970 and 2200."}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise self.make_error("range") from None
        if not self.EARLIEST <= moment < self.LATEST:
            raise self.make_error("range")
        return moment


class EnumOf(fields.Enum):
    """An enum field that takes only some of the enum's members (by value) and
    says so, in the OpenAPI document and in its error message; it loads the
    full enum's member."""

    def __init__(self, enum_class, members, **kw):
        self.full_enum = enum_class
        subset = enum.Enum(f"{enum_class.__name__}Subset", {m.name: m.value for m in members}, type=str)
        super().__init__(subset, by_value=True, **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        return self.full_enum(super()._deserialize(value, attr, data, **kwargs).value)


class LocalTime(fields.Time):
    """A wall-clock time of day, ``HH:MM`` or ``HH:MM:SS`` (no offset: local to
    whoever it belongs to); the document states the pattern."""

    PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
    default_error_messages = {"invalid": "Not a time of day (HH:MM or HH:MM:SS)."}

    def __init__(self, **kw):
        kw["metadata"] = {"pattern": self.PATTERN, "example": "08:30", **kw.get("metadata", {})}
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.match(self.PATTERN, value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def text(max_length: int, *, required: bool = False, allow_none: bool = False, min_length: int = 1, **kw):
    """A string that is never blank (when given) and never longer than the column."""
    return fields.String(required=required, allow_none=allow_none,
                         validate=validate.Length(min=min_length, max=max_length), **kw)


def patch_of(create: type[Schema], name: str, *, exclude: tuple[str, ...] = ()) -> type[Schema]:
    """The PATCH schema of a create schema: the same fields and rules, none
    required, no defaults filled in (an absent field stays as it is)."""
    attrs = {}
    for field_name, field in create._declared_fields.items():
        if field_name in exclude or field.dump_only:
            continue
        clone = copy.copy(field)
        clone.required = False
        clone.load_default = missing
        attrs[field_name] = clone
    return type(name, (BaseSchema,), attrs)


class RecordSchema(BaseSchema):
    """What every versioned record shows besides its own fields."""

    version = fields.Integer(dump_only=True, metadata={"description": "Grows by one on every change."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
