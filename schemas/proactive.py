"""Wire schemas of tours, inspections and incidents."""

from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import UTCDateTime, enum_field
from server.quality.proactive_models import IncidentStatus, InspectionStatus, StopStatus

Money = lambda **kw: fields.Float(validate=validate.Range(min=0, max=1e9), allow_nan=False, **kw)  # noqa: E731
Hours = lambda **kw: fields.Float(validate=validate.Range(min=0, max=10_000), allow_nan=False, **kw)  # noqa: E731


class RegionSchema(BaseSchema):
    city = fields.String()
    assets = fields.Integer()
    customers = fields.Integer()


class RegionListSchema(BaseSchema):
    items = fields.List(fields.Nested(RegionSchema))


class TourCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    technician_id = fields.UUID(allow_none=True)


class TourStopSchema(BaseSchema):
    id = fields.UUID()
    site_id = fields.UUID()
    site_name = fields.String()
    address = fields.String()
    customer_id = fields.UUID()
    customer_name = fields.String()
    phone = fields.String(allow_none=True)
    status = enum_field(StopStatus)
    contacted_at = fields.DateTime(allow_none=True)
    contact_in_window = fields.Boolean(allow_none=True, metadata={
        "description": "Whether the pre-contact was made 3 to 5 days before the tour."})
    contact_name = fields.String(allow_none=True)
    asset_id = fields.UUID(allow_none=True)
    model = fields.String(allow_none=True)
    symptoms = fields.String(allow_none=True)
    estimated_hours = fields.Float(allow_none=True)
    estimated_cost = fields.Float(allow_none=True)
    visit_on = fields.Date(allow_none=True)
    route_order = fields.Integer(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    planned_start = fields.DateTime(allow_none=True)


class TourSchema(BaseSchema):
    id = fields.UUID()
    name = fields.String()
    city = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    technician_id = fields.UUID(allow_none=True)
    contact_from = fields.Date()
    contact_by = fields.Date()
    planned_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    stops = fields.List(fields.Nested(TourStopSchema))


class TourBriefSchema(BaseSchema):
    id = fields.UUID()
    name = fields.String()
    city = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    planned_at = fields.DateTime(allow_none=True)


TourPageSchema = page_of(TourBriefSchema, "TourPageSchema")


class StopContactSchema(BaseSchema):
    agreed = fields.Boolean(required=True)
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    asset_id = fields.UUID(allow_none=True)
    model = fields.String(validate=validate.Length(max=64))
    symptoms = fields.String(allow_none=True, validate=validate.Length(max=5000))
    estimated_hours = Hours(allow_none=True)
    estimated_cost = Money(allow_none=True)
    visit_on = fields.Date(allow_none=True)


class TourPlanSchema(BaseSchema):
    technician_id = fields.UUID(required=True)


class InspectionScheduleCreateSchema(BaseSchema):
    asset_id = fields.UUID(required=True)
    interval_days = fields.Integer(required=True, validate=validate.Range(min=7, max=3650))
    first_due_on = fields.Date(required=True)


class InspectionScheduleSchema(BaseSchema):
    id = fields.UUID()
    asset_id = fields.UUID()
    interval_days = fields.Integer()
    active = fields.Boolean()


class FindingCreateSchema(BaseSchema):
    severity = fields.String(required=True, validate=validate.OneOf(["info", "minor", "major"]))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    open_ticket = fields.Boolean(load_default=False)


class AssetInspectionCompleteSchema(BaseSchema):
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    findings = fields.List(fields.Nested(FindingCreateSchema), load_default=list, validate=validate.Length(max=100))


class FindingSchema(BaseSchema):
    id = fields.UUID()
    severity = fields.String()
    description = fields.String()
    ticket_id = fields.UUID(allow_none=True)


class AssetInspectionSchema(BaseSchema):
    id = fields.UUID()
    schedule_id = fields.UUID()
    asset_id = fields.UUID()
    model = fields.String(attribute="asset.model")
    serial_number = fields.String(attribute="asset.serial_number")
    customer_name = fields.String(attribute="asset.site.customer.name")
    site_name = fields.String(attribute="asset.site.name")
    due_on = fields.Date()
    status = enum_field(InspectionStatus)
    inspected_at = fields.DateTime(allow_none=True)
    inspected_by_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True)
    findings = fields.List(fields.Nested(FindingSchema))


AssetInspectionPageSchema = page_of(AssetInspectionSchema, "AssetInspectionPageSchema")


class AssetInspectionQuerySchema(PageArgsSchema):
    due_by = fields.Date(metadata={"description": "Due on or before this day and not done (default: today)."})
    asset_id = fields.UUID(metadata={"description": "One asset's inspections instead (every status)."})


class IncidentCreateSchema(BaseSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    level = fields.Integer(required=True, validate=validate.Range(min=1, max=4),
                           metadata={"description": "1 (most severe) to 4."})
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    occurred_at = UTCDateTime()
    asset_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000))
    customer_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000))


class AffectedCreateSchema(BaseSchema):
    asset_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000))
    customer_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000))


class NoticeCreateSchema(BaseSchema):
    person = fields.String(required=True, validate=validate.Length(min=1, max=200))
    channel = fields.String(required=True, validate=validate.OneOf(["phone", "sms", "email", "wechat", "in_person"]))
    notified_at = UTCDateTime()
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))


class PlanPartSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000))


class PlanSchema(BaseSchema):
    repair_hours = Hours(required=True)
    people = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    lead = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tools = fields.String(allow_none=True, validate=validate.Length(max=5000))
    parts = fields.List(fields.Nested(PlanPartSchema), load_default=list, validate=validate.Length(max=100))
    estimated_cost = Money(required=True)


class IssuePartsSchema(BaseSchema):
    location_id = fields.UUID(required=True, metadata={"description": "The warehouse the parts leave."})
    to_location_id = fields.UUID(required=True, metadata={"description": "Where they go (the rescue's van)."})


class ReportSchema(BaseSchema):
    cause = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    actions = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    prevention = fields.String(required=True, validate=validate.Length(min=1, max=20_000))


class AffectedSchema(BaseSchema):
    customer_id = fields.UUID()
    customer_name = fields.String(attribute="customer.name")
    asset_id = fields.UUID(allow_none=True)
    model = fields.String(attribute="asset.model", allow_none=True)
    serial_number = fields.String(attribute="asset.serial_number", allow_none=True)


class NoticeSchema(BaseSchema):
    id = fields.UUID()
    person = fields.String()
    channel = fields.String()
    notified_at = fields.DateTime()
    recorded_by_id = fields.UUID()
    note = fields.String(allow_none=True)


class IncidentSchema(BaseSchema):
    id = fields.UUID()
    title = fields.String()
    level = fields.Integer()
    description = fields.String(allow_none=True)
    status = enum_field(IncidentStatus)
    occurred_at = fields.DateTime()
    reported_by_id = fields.UUID()
    affected = fields.List(fields.Nested(AffectedSchema))
    notices = fields.List(fields.Nested(NoticeSchema))
    plan_repair_hours = fields.Float(allow_none=True)
    plan_people = fields.Integer(allow_none=True)
    plan_lead = fields.String(allow_none=True)
    plan_tools = fields.String(allow_none=True)
    plan_parts = fields.List(fields.Dict(), allow_none=True)
    plan_cost = fields.Float(allow_none=True)
    plan_submitted_at = fields.DateTime(allow_none=True)
    plan_approved_at = fields.DateTime(allow_none=True)
    plan_approved_by_id = fields.UUID(allow_none=True)
    parts_issued_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    report_cause = fields.String(allow_none=True)
    report_actions = fields.String(allow_none=True)
    report_prevention = fields.String(allow_none=True)
    report_at = fields.DateTime(allow_none=True)


IncidentPageSchema = page_of(IncidentSchema, "IncidentPageSchema")


class IncidentQuerySchema(PageArgsSchema):
    status = enum_field(IncidentStatus)
