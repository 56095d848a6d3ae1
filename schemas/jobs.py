from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import UTCDateTime
from schemas.stock import StockReservationSchema
from server.jobs.models import CustomerRating, JobStatus, NoSignatureReason


class AdjustmentSchema(BaseSchema):
    id = fields.UUID()
    parameter = fields.String()
    value_before = fields.String(allow_none=True)
    value_after = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)


class JobSchema(BaseSchema):
    id = fields.UUID()
    ticket_id = fields.UUID()
    technician_id = fields.UUID(allow_none=True)
    status = fields.Enum(JobStatus, by_value=True)
    priority = fields.String()
    planned_start = fields.DateTime(allow_none=True)
    planned_end = fields.DateTime(allow_none=True)
    instructions = fields.String(allow_none=True)
    arrived_at = fields.DateTime(allow_none=True)
    departed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    work_done = fields.String(allow_none=True)
    fault_cause = fields.String(allow_none=True)
    solution = fields.String(allow_none=True)
    customer_opinion = fields.String(allow_none=True)
    customer_rating = fields.Enum(CustomerRating, by_value=True, allow_none=True)
    no_signature_reason = fields.Enum(NoSignatureReason, by_value=True, allow_none=True, metadata={
        "description": "Why the customer did not sign (a job completes with a signature or this)."})
    no_signature_note = fields.String(allow_none=True)
    version = fields.Integer()
    updated_at = fields.DateTime()


class JobDetailSchema(JobSchema):
    adjustments = fields.List(fields.Nested(AdjustmentSchema))


class JobActionResultSchema(JobDetailSchema):
    """A cancelled or reassigned job, with what became of the stock reserved for it."""

    reservations = fields.List(fields.Nested(StockReservationSchema))


JobPageSchema = page_of(JobSchema, "JobPage")


class JobQuerySchema(PageArgsSchema):
    status = fields.List(fields.Enum(JobStatus, by_value=True))
    technician_id = fields.UUID()
    ticket_id = fields.UUID()


class JobUpdateSchema(BaseSchema):
    """What a dispatcher edits; on-site facts come from the handheld through sync."""

    planned_start = UTCDateTime(allow_none=True)
    planned_end = UTCDateTime(allow_none=True)
    priority = fields.String(validate=validate.OneOf(["low", "normal", "high", "urgent"]))
    instructions = fields.String(allow_none=True, validate=validate.Length(max=20_000))


class JobCancelSchema(BaseSchema):
    reason = fields.String(validate=validate.Length(max=2000),
                           metadata={"description": "Why (recorded as a dispatch action and in the ticket's history)."})


class JobReassignSchema(BaseSchema):
    technician_id = fields.UUID(required=True)
    reason = fields.String(validate=validate.Length(max=2000),
                           metadata={"description": "Why (recorded as a dispatch action and in the ticket's history)."})
    override_reason = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(min=3, max=2000),
        metadata={"description": "As for an assignment: why this technician although they are off shift, on leave "
                                 "or at their job limit (required then; 409 technician_unavailable without it), or "
                                 "although they miss the on-site deadline. Recorded as an override dispatch action "
                                 "and in the ticket's history. A missing certification is never overridden."})
    product_line = fields.String(validate=validate.Length(min=1, max=64),
                                 metadata={"description": "The product line to check certification for when the "
                                                          "ticket has no asset (as for an assignment)."})
