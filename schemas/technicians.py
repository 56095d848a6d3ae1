"""Technicians, their certifications, shifts and leave on the wire."""

from datetime import date
from zoneinfo import available_timezones

from marshmallow import ValidationError, fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import Latitude, LocalTime, Longitude, RecordSchema, UTCDateTime, patch_of, text

LEAVE_KINDS = ("leave", "sick", "training", "other")
_ZONES = frozenset(available_timezones())


def _known_zone(value: str) -> None:
    if value not in _ZONES:
        raise ValidationError("Not an IANA time zone.")


class CertificationCreateSchema(BaseSchema):
    product_line = text(64, required=True)
    certified_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)


class CertificationSchema(CertificationCreateSchema):
    id = fields.UUID(dump_only=True)
    valid = fields.Method("_valid", dump_only=True,
                          metadata={"type": "boolean", "description": "持证上岗: valid today."})

    def _valid(self, cert) -> bool:
        return cert.valid_on(date.today())


class ShiftSlotSchema(BaseSchema):
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6),
                             metadata={"description": "0 = Monday."})
    starts = LocalTime(required=True, metadata={"description": "Local time in the technician's timezone."})
    ends = LocalTime(required=True, metadata={"description": "After starts; split a night shift in two."})


class ShiftPatternSchema(BaseSchema):
    slots = fields.List(fields.Nested(ShiftSlotSchema), required=True, validate=validate.Length(max=50))


class LeaveCreateSchema(BaseSchema):
    kind = fields.String(load_default="leave", validate=validate.OneOf(LEAVE_KINDS))
    starts_at = UTCDateTime(required=True)
    ends_at = UTCDateTime(required=True)
    note = text(300, allow_none=True)


class LeaveSchema(LeaveCreateSchema):
    id = fields.UUID(dump_only=True)


class LeaveQuerySchema(PageArgsSchema):
    ends_after = UTCDateTime(metadata={"description": "Only leave still running after this time."})


LeavePageSchema = page_of(LeaveSchema, "LeavePage")


class OnCallCreateSchema(BaseSchema):
    starts_at = UTCDateTime(required=True)
    ends_at = UTCDateTime(required=True, metadata={"description": "After starts_at."})
    note = text(300, allow_none=True)


class OnCallSchema(OnCallCreateSchema):
    id = fields.UUID(dump_only=True)


class OnCallQuerySchema(PageArgsSchema):
    ends_after = UTCDateTime(metadata={"description": "Only duty still running after this time."})


OnCallPageSchema = page_of(OnCallSchema, "OnCallPage")


class TechnicianCreateSchema(BaseSchema):
    user_id = fields.UUID(required=True, metadata={"description": "A user with role technician."})
    name = text(200, required=True)
    phone = text(40, allow_none=True)
    timezone = fields.String(load_default="Asia/Shanghai", validate=_known_zone,
                             metadata={"description": "IANA zone of the shift times, e.g. Asia/Shanghai."})
    home_latitude = Latitude(required=True)
    home_longitude = Longitude(required=True)
    van_location_id = fields.UUID(allow_none=True, metadata={"description": "A stock location of kind van."})
    max_open_jobs = fields.Integer(load_default=5, validate=validate.Range(0, 100))
    active = fields.Boolean(load_default=True)
    certifications = fields.List(fields.Nested(CertificationCreateSchema), load_default=list,
                                 validate=validate.Length(max=50))
    shifts = fields.List(fields.Nested(ShiftSlotSchema), load_default=list, validate=validate.Length(max=50))


TechnicianUpdateSchema = patch_of(TechnicianCreateSchema, "TechnicianUpdateSchema",
                                  exclude=("user_id", "certifications", "shifts"))


class TechnicianSchema(TechnicianCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)
    username = fields.String(attribute="user.username", dump_only=True)
    last_latitude = fields.Float(dump_only=True, allow_none=True,
                                 metadata={"description": "Reported by the handheld through sync."})
    last_longitude = fields.Float(dump_only=True, allow_none=True)
    last_position_at = fields.DateTime(dump_only=True, allow_none=True)
    certifications = fields.List(fields.Nested(CertificationSchema), dump_only=True)
    shifts = fields.List(fields.Nested(ShiftSlotSchema), dump_only=True)


class TechnicianDetailSchema(TechnicianSchema):
    leaves = fields.List(fields.Nested(LeaveSchema), dump_only=True, data_key="leave")
    on_call = fields.List(fields.Nested(OnCallSchema), dump_only=True,
                          metadata={"description": "On-call duty (值班), soonest first."})


class TechnicianQuerySchema(PageArgsSchema):
    q = text(100, metadata={"description": "Search in name, phone and username."})
    product_line = text(64, metadata={"description": "Only technicians certified for it (valid today)."})
    active = fields.Boolean()


TechnicianPageSchema = page_of(TechnicianSchema, "TechnicianPage")
