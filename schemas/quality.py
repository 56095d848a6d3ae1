"""Wire schemas of service quality: surveys, ratings, follow-up tasks."""

from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import UTCDateTime, enum_field
from server.quality.models import (
    CallOutcome,
    ComplaintStage,
    FollowUpStatus,
    Question,
    Rating,
    ReturnVisitStatus,
)


class CampaignCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)


class CampaignSchema(CampaignCreateSchema):
    id = fields.UUID()
    created_at = fields.DateTime()
    invited = fields.Integer(dump_only=True)
    answered = fields.Integer(dump_only=True)


CampaignPageSchema = page_of(CampaignSchema, "CampaignPageSchema")


class CampaignSendSchema(BaseSchema):
    customer_ids = fields.List(fields.UUID(), validate=validate.Length(max=5000), metadata={
        "description": "Whom to invite; left out: every customer with an email or a phone."})
    ttl_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365))


class SentInvitationSchema(BaseSchema):
    id = fields.UUID()
    customer_id = fields.UUID()
    customer_name = fields.String()
    url = fields.String(metadata={"description": "The single-use link (also in the outbox)."})


class CampaignSentSchema(BaseSchema):
    invited = fields.List(fields.Nested(SentInvitationSchema))


class QuestionResultSchema(BaseSchema):
    question = fields.String(validate=validate.OneOf([q.value for q in Question]))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    answered = fields.Integer()


class CampaignResultsSchema(BaseSchema):
    campaign_id = fields.UUID()
    invited = fields.Integer()
    answered = fields.Integer()
    questions = fields.List(fields.Nested(QuestionResultSchema))


class InvitationSchema(BaseSchema):
    id = fields.UUID()
    customer_id = fields.UUID()
    customer_name = fields.String(attribute="customer.name")
    contact_name = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    sent_at = fields.DateTime()
    expires_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    respondent = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    answers = fields.Method("_answers", metadata={"description": "question -> rating"})

    def _answers(self, invitation) -> dict:
        return {a.question.value: a.rating.value for a in invitation.answers}


InvitationPageSchema = page_of(InvitationSchema, "InvitationPageSchema")


class InvitationQuerySchema(PageArgsSchema):
    answered = fields.Boolean()


class SurveyAnswerSchema(BaseSchema):
    ratings = fields.Dict(keys=enum_field(Question), values=enum_field(Rating, allow_none=True), required=True)
    comment = fields.String(allow_none=True, validate=validate.Length(max=5000))
    respondent = fields.String(allow_none=True, validate=validate.Length(max=200))


class SurveyFormSchema(BaseSchema):
    campaign = fields.String()
    customer_name = fields.String()
    expires_at = fields.DateTime()
    questions = fields.List(fields.Dict())
    ratings = fields.List(fields.Dict())


class SurveyDoneSchema(BaseSchema):
    answered_at = fields.DateTime()


class FollowUpSchema(BaseSchema):
    id = fields.UUID()
    customer_id = fields.UUID()
    customer_name = fields.String(attribute="customer.name")
    source = fields.String()
    invitation_id = fields.UUID(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    reason = fields.String()
    status = enum_field(FollowUpStatus)
    created_at = fields.DateTime()
    done_at = fields.DateTime(allow_none=True)
    done_by_id = fields.UUID(allow_none=True)
    outcome = fields.String(allow_none=True)


FollowUpPageSchema = page_of(FollowUpSchema, "FollowUpPageSchema")


class FollowUpQuerySchema(PageArgsSchema):
    status = enum_field(FollowUpStatus)
    customer_id = fields.UUID()


class FollowUpCloseSchema(BaseSchema):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class RatingQuerySchema(BaseSchema):
    since = UTCDateTime(data_key="from", metadata={"description": "Jobs completed at or after this moment."})
    until = UTCDateTime(data_key="to", metadata={"description": "Jobs completed before this moment."})


class RatingSummarySchema(BaseSchema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    with_opinion = fields.Integer()
    satisfied_or_acceptable_share = fields.Float(allow_none=True)


class RatedJobQuerySchema(PageArgsSchema, RatingQuerySchema):
    rating = enum_field(Rating)


class RatedJobSchema(BaseSchema):
    id = fields.UUID()
    ticket_id = fields.UUID()
    ticket_reference = fields.String(attribute="ticket.reference")
    customer_name = fields.String(attribute="ticket.customer.name")
    completed_at = fields.DateTime(allow_none=True)
    customer_rating = enum_field(Rating)
    customer_opinion = fields.String(allow_none=True)


RatedJobPageSchema = page_of(RatedJobSchema, "RatedJobPageSchema")


class ReturnVisitCallSchema(BaseSchema):
    id = fields.UUID()
    at = fields.DateTime()
    by_user_id = fields.UUID()
    outcome = enum_field(CallOutcome)
    note = fields.String(allow_none=True)
    call_back_on = fields.Date(allow_none=True)
    ticket_id = fields.UUID(allow_none=True)


class ReturnVisitSchema(BaseSchema):
    id = fields.UUID()
    asset_id = fields.UUID()
    model = fields.String(attribute="asset.model")
    serial_number = fields.String(attribute="asset.serial_number")
    install_date = fields.Date(attribute="asset.install_date", allow_none=True)
    site_id = fields.UUID(attribute="asset.site.id")
    site_name = fields.String(attribute="asset.site.name")
    customer_id = fields.UUID(attribute="asset.site.customer.id")
    customer_name = fields.String(attribute="asset.site.customer.name")
    contact_name = fields.String(attribute="asset.site.customer.contact_name", allow_none=True)
    phone = fields.String(attribute="asset.site.customer.phone", allow_none=True)
    sequence = fields.Integer()
    due_on = fields.Date()
    next_call_on = fields.Date()
    status = enum_field(ReturnVisitStatus)
    outcome = enum_field(CallOutcome, allow_none=True)
    ticket_id = fields.UUID(allow_none=True)
    calls = fields.List(fields.Nested(ReturnVisitCallSchema))


ReturnVisitPageSchema = page_of(ReturnVisitSchema, "ReturnVisitPageSchema")


class ReturnVisitQuerySchema(PageArgsSchema):
    day = fields.Date(metadata={"description": "The call list of this day: pending visits due (or called back) "
                                               "on or before it. Default: today in the company's zone."})
    asset_id = fields.UUID(metadata={"description": "One asset's whole schedule instead (every status)."})


class ProblemSchema(BaseSchema):
    summary = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    priority = fields.String(load_default="normal", validate=validate.OneOf(["low", "normal", "high", "urgent"]))
    category = fields.String(load_default="repair", validate=validate.OneOf(["repair", "maintenance"]))


class ReturnVisitCallCreateSchema(BaseSchema):
    outcome = enum_field(CallOutcome, required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    call_back_on = fields.Date(allow_none=True, metadata={"description": "For call_back / unreachable; "
                                                                         "default tomorrow."})
    problem = fields.Nested(ProblemSchema, metadata={"description": "Required for outcome problem: the ticket "
                                                                    "opened with the call."})


class ScheduleResultSchema(BaseSchema):
    assets = fields.Integer()
    added = fields.Integer()
    removed = fields.Integer()


class ComplaintStepSchema(BaseSchema):
    id = fields.UUID()
    step = fields.String()
    at = fields.DateTime()
    by_user_id = fields.UUID()
    by_name = fields.String(dump_only=True)
    note = fields.String()
    to_user_id = fields.UUID(allow_none=True)
    to_name = fields.String(dump_only=True, allow_none=True)


class ComplaintSchema(BaseSchema):
    ticket_id = fields.UUID()
    reference = fields.String()
    summary = fields.String()
    customer_name = fields.String()
    complaint_class = fields.String()
    ticket_status = fields.String()
    received_at = fields.DateTime()
    stage = enum_field(ComplaintStage)
    next_step = fields.String(allow_none=True)
    accountable_user_id = fields.UUID()
    accountable_name = fields.String()
    cause = fields.String(allow_none=True)
    responsible_department = fields.String(allow_none=True)
    responsible_person = fields.String(allow_none=True)
    remedy = fields.String(allow_none=True)
    follow_up_result = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    steps = fields.List(fields.Nested(ComplaintStepSchema))


ComplaintPageSchema = page_of(ComplaintSchema, "ComplaintPageSchema")


class ComplaintQuerySchema(PageArgsSchema):
    open = fields.Boolean(metadata={"description": "true: not closed yet; false: closed."})


class ComplaintStepCreateSchema(BaseSchema):
    step = fields.String(required=True, validate=validate.OneOf([s.value for s in ComplaintStage][1:]))
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    cause = fields.String(validate=validate.Length(max=5000))
    responsible_department = fields.String(validate=validate.Length(max=200))
    responsible_person = fields.String(validate=validate.Length(max=200))
    remedy = fields.String(validate=validate.Length(max=5000))
    follow_up_result = fields.String(validate=validate.Length(max=5000))


class ComplaintHandoverSchema(BaseSchema):
    to_user_id = fields.UUID(required=True)
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ScheduleRunSchema(BaseSchema):
    horizon_days = fields.Integer(load_default=400, validate=validate.Range(min=30, max=1500), metadata={
        "description": "How far ahead the calls are generated."})
