"""Wire format of dispatch: candidates, stock options, assignment, swap suggestions."""

from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.jobs import JobSchema
from schemas.stock import StockReservationSchema


class CandidatesQuerySchema(BaseSchema):
    limit = fields.Integer(validate=validate.Range(min=1, max=100),
                           metadata={"description": "Candidates to return (default: DISPATCH_CANDIDATE_LIMIT)."})
    product_line = fields.String(validate=validate.Length(min=1, max=64),
                                 metadata={"description": "Overrides the asset's product line (tickets "
                                                          "without an asset need it)."})
    with_spare_unit = fields.Boolean(load_default=False,
                                     metadata={"description": "Also prefer vans holding a spare unit of the "
                                                              "asset's model."})


class StockOptionsQuerySchema(BaseSchema):
    part_number = fields.String(validate=validate.Length(min=1, max=64))
    model = fields.String(validate=validate.Length(min=1, max=64),
                          metadata={"description": "A spare-unit model instead of a part."})
    quantity = fields.Integer(validate=validate.Range(min=1, max=10_000))
    limit = fields.Integer(validate=validate.Range(min=1, max=100))


class PositionSchema(BaseSchema):
    latitude = fields.Float()
    longitude = fields.Float()
    source = fields.String(metadata={"description": "The position distance was measured from: last_known while "
                                                    "the last fix is fresh; home_base once it is stale, or when "
                                                    "no position is known."})
    recorded_at = fields.DateTime(allow_none=True, metadata={"description": "When the last fix was taken."})
    stale = fields.Boolean(metadata={"description": "The last fix is older than DISPATCH_STALE_POSITION_MINUTES."})
    age_minutes = fields.Float(allow_none=True, metadata={"description": "Age of the last fix."})
    explanation = fields.String(metadata={"description": "Which position was used, and why."})


class CriterionSchema(BaseSchema):
    weight = fields.Float()
    points = fields.Float()
    value = fields.Raw(allow_none=True)
    explanation = fields.String()


class NeedSchema(BaseSchema):
    kind = fields.String()
    label = fields.String(metadata={"description": "Part number, or spare-unit model."})
    quantity = fields.Integer()
    part_id = fields.UUID(allow_none=True)


class ReasonSchema(BaseSchema):
    code = fields.String(metadata={"description": "not_certified, certification_expired, off_shift, on_leave, "
                                                  "overloaded; as a late candidate's flag: on_call (off shift, "
                                                  "called out of on-call duty), overtime, on_leave, overloaded"})
    message = fields.String()


class CandidateSchema(BaseSchema):
    rank = fields.Integer()
    technician_id = fields.UUID()
    name = fields.String()
    score = fields.Float()
    score_breakdown = fields.Dict(keys=fields.String(), values=fields.Nested(CriterionSchema))
    distance_km = fields.Float()
    eta_minutes = fields.Float()
    departs_at = fields.DateTime()
    arrival_at = fields.DateTime()
    meets_deadline = fields.Boolean()
    on_shift_now = fields.Boolean()
    open_jobs = fields.Integer()
    max_open_jobs = fields.Integer()
    van_location_id = fields.UUID(allow_none=True)
    van_holds = fields.Dict(keys=fields.String(), values=fields.Integer())
    position = fields.Nested(PositionSchema)
    notes = fields.List(fields.String())
    late_by_minutes = fields.Float(allow_none=True,
                                   metadata={"description": "How late the arrival is for the on-site deadline."})
    flags = fields.List(fields.Nested(ReasonSchema),
                        metadata={"description": "What assigning this technician overrides (on_call, overtime, "
                                                 "on_leave, overloaded)."})
    needs_override = fields.Boolean(metadata={"description": "Assigning needs an override_reason (not for a "
                                                             "call-out of someone on call, flagged on_call only)."})
    on_call = fields.Boolean(metadata={"description": "On call-out duty (值班) when they would set off. Among late "
                                                      "candidates, calling out someone on call ranks before asking "
                                                      "for overtime (overtime counts as arriving "
                                                      "DISPATCH_OVERTIME_PENALTY_MINUTES later)."})


class ExcludedSchema(BaseSchema):
    technician_id = fields.UUID()
    name = fields.String()
    distance_km = fields.Float()
    position = fields.Nested(PositionSchema)
    reasons = fields.List(fields.Nested(ReasonSchema))


class CandidateReportSchema(BaseSchema):
    ticket_id = fields.UUID()
    latitude = fields.Float()
    longitude = fields.Float()
    product_line = fields.String()
    on_site_due_at = fields.DateTime()
    under_warranty = fields.Boolean()
    evaluated_at = fields.DateTime()
    needs = fields.List(fields.Nested(NeedSchema))
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    candidates = fields.List(fields.Nested(CandidateSchema))
    excluded = fields.List(fields.Nested(ExcludedSchema),
                           metadata={"description": "The nearest technicians filtered out, with why."})
    examined = fields.Integer(metadata={"description": "Technicians examined to answer."})
    search = fields.String(metadata={"description": "The spatial index used."})
    outcome = fields.String(metadata={"description": "in_time: someone meets the on-site deadline; late_only: "
                                                     "nobody can, late_candidates ranks who could come soonest; "
                                                     "none_certified: nobody holds a valid certification.",
                                      "enum": ["in_time", "late_only", "none_certified"]})
    message = fields.String(metadata={"description": "The outcome in words (empty when in_time)."})
    late_candidates = fields.List(fields.Nested(CandidateSchema),
                                  metadata={"description": "When nobody meets the deadline: soonest arrival "
                                                           "first, each with how late and its flags."})


class SpareUnitRefSchema(BaseSchema):
    id = fields.UUID()
    serial_number = fields.String()


class StockOptionSchema(BaseSchema):
    rank = fields.Integer()
    location_id = fields.UUID()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    distance_km = fields.Float()
    transfer_hours = fields.Float()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer(metadata={"description": "On hand minus reserved."})
    claimable = fields.Integer(metadata={"description": "What this ticket may take (warranty first claim)."})
    held_for_warranty = fields.Integer()
    sufficient = fields.Boolean()
    spare_units = fields.List(fields.Nested(SpareUnitRefSchema))


class NeedOptionsSchema(BaseSchema):
    need = fields.Nested(NeedSchema)
    options = fields.List(fields.Nested(StockOptionSchema))


class StockOptionsReportSchema(BaseSchema):
    ticket_id = fields.UUID()
    under_warranty = fields.Boolean()
    items = fields.List(fields.Nested(NeedOptionsSchema))


class PartChoiceSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    location_id = fields.UUID(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))


class AssignSchema(BaseSchema):
    technician_id = fields.UUID(required=True)
    parts = fields.List(fields.Nested(PartChoiceSchema), load_default=list, validate=validate.Length(max=50))
    spare_unit_id = fields.UUID(allow_none=True, load_default=None)
    product_line = fields.String(validate=validate.Length(min=1, max=64))
    planned_start = fields.AwareDateTime(allow_none=True, load_default=None)
    instructions = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=20_000))
    override_reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=3, max=2000),
                                    metadata={"description": "Why this technician although they are off shift, "
                                                             "on leave or at their job limit (required then), or "
                                                             "although they miss the on-site deadline. Recorded on "
                                                             "the job's dispatch record and the ticket's history."})


class DispatchActionSchema(BaseSchema):
    kind = fields.String(metadata={"description": "override, reassign or cancel."})
    flags = fields.Function(lambda a: a.flags.split() if a.flags else [],
                            metadata={"description": "late, on_call, overtime, on_leave, overloaded."})
    late_by_minutes = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    at = fields.DateTime()


class DispatchActionRecordSchema(DispatchActionSchema):
    id = fields.UUID()
    ticket_id = fields.UUID()
    job_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    from_technician_id = fields.UUID(allow_none=True)
    by_user_id = fields.UUID(allow_none=True)


DispatchActionPageSchema = page_of(DispatchActionRecordSchema, "DispatchActionPage")


class DispatchActionQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(["override", "reassign", "cancel"]))
    since = fields.AwareDateTime(metadata={"description": "At or after (for a month's statistics)."})
    until = fields.AwareDateTime(metadata={"description": "Before."})


class AssignmentSchema(BaseSchema):
    job = fields.Nested(JobSchema)
    ticket_status = fields.String(attribute="ticket.status.value")
    reservations = fields.List(fields.Nested(StockReservationSchema))
    arrival_at = fields.DateTime()
    meets_deadline = fields.Boolean()
    override = fields.Nested(DispatchActionSchema, allow_none=True,
                             metadata={"description": "The recorded override, when there was one."})


class CourierSchema(BaseSchema):
    technician_id = fields.UUID()
    name = fields.String()
    holds_unit_in_van = fields.Boolean()
    to_pickup_km = fields.Float()
    delivery_minutes = fields.Float()
    delivered_at = fields.DateTime()


class SwapOptionSchema(BaseSchema):
    location_id = fields.UUID()
    location_code = fields.String()
    location_kind = fields.String()
    distance_km = fields.Float()
    spare_unit_id = fields.UUID()
    serial_number = fields.String()
    couriers = fields.List(fields.Nested(CourierSchema))


class SwapSuggestionSchema(BaseSchema):
    job_id = fields.UUID()
    ticket_id = fields.UUID()
    technician_id = fields.UUID(allow_none=True)
    model = fields.String(allow_none=True)
    on_site_since = fields.DateTime(allow_none=True)
    on_site_hours = fields.Float()
    options = fields.List(fields.Nested(SwapOptionSchema))
    note = fields.String(allow_none=True)
    note_code = fields.String(allow_none=True, metadata={
        "description": "Why there is no option, as a code (not_due, no_asset, no_coordinates, no_unit); null when "
                       "there are options. `note` says it in English."})
    on_its_way = fields.List(fields.Nested(SpareUnitRefSchema),
                             metadata={"description": "Spare units already sent to the site, in transit."})


class SendSpareUnitSchema(BaseSchema):
    spare_unit_id = fields.UUID(required=True)
    courier_id = fields.UUID(allow_none=True, load_default=None,
                             metadata={"description": "The technician bringing it (recorded in the history)."})


class SpareUnitArrivedSchema(BaseSchema):
    spare_unit_id = fields.UUID(required=True)


class SwapSuggestionListSchema(BaseSchema):
    items = fields.List(fields.Nested(SwapSuggestionSchema))
