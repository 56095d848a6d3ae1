from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import UTCDateTime
from server.accounts.models import Role
from server.db import utcnow
from server.tickets.models import Category, Channel, ComplaintClass, ContactKind, Priority, TicketStatus


def _enum(cls, **kwargs):
    return fields.Enum(cls, by_value=True, **kwargs)


class NeededPartSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    part_number = fields.String(attribute="part.part_number", dump_only=True)


class ReportContactSchema(BaseSchema):
    person = fields.String(validate=validate.Length(max=200), metadata={"description": "Who reported it."})
    phone = fields.String(validate=validate.Length(max=40))
    note = fields.String(validate=validate.Length(max=20_000),
                         metadata={"description": "What they said (default: the summary)."})


class TicketCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    customer_id = fields.UUID(required=True)
    site_id = fields.UUID(required=True)
    asset_id = fields.UUID(allow_none=True)
    contract_id = fields.UUID(allow_none=True)
    channel = _enum(Channel, required=True)
    category = _enum(Category, required=True)
    complaint_class = _enum(ComplaintClass, allow_none=True)
    priority = _enum(Priority, load_default=Priority.normal)
    summary = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    received_at = UTCDateTime(metadata={"description": "When the report came in (default: now); the clocks start "
                                                       "there. Never in the future."})
    needed_parts = fields.List(fields.Nested(NeededPartSchema), load_default=list,
                               validate=validate.Length(max=50))
    contact = fields.Nested(ReportContactSchema, metadata={"description": "The contact person: the first entry of "
                                                                          "the ticket's contact log."})


class TicketUpdateSchema(BaseSchema):
    site_id = fields.UUID(metadata={"description": "Open tickets only; the customer follows the site."})
    asset_id = fields.UUID(allow_none=True, metadata={"description": "Open tickets only; an asset at the site."})
    priority = _enum(Priority)
    summary = fields.String(validate=validate.Length(min=1, max=300))
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))


class TicketEventSchema(BaseSchema):
    kind = fields.String(metadata={"description": "transition, escalation, handover, job_reassign, job_cancel, "
                                                  "spare_unit_sent, spare_unit_lent"})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    at = fields.DateTime()
    by_user_id = fields.UUID(allow_none=True)
    by_name = fields.String(attribute="by_user.display_name", dump_only=True, allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "In English; a person's words as they wrote them."})
    note_key = fields.String(allow_none=True, dump_only=True, metadata={
        "description": "A note the server wrote: its text is `history.<note_key>` in the catalogues (server/i18n), "
                       "filled with `note_params`; null for a person's words and for notes written before."})
    note_params = fields.Dict(allow_none=True, dump_only=True, metadata={
        "description": "The note's values: text, a list of codes (`flags`: unavailable reasons, `clocks`: clock "
                       "names) or a nested note (`{key, params}`)."})


class TicketContactSchema(BaseSchema):
    id = fields.UUID(dump_only=True)
    kind = _enum(ContactKind, required=True)
    inbound = fields.Boolean(load_default=True, metadata={"description": "The customer reached us (else we them)."})
    person = fields.String(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    note = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    at = UTCDateTime(metadata={"description": "When (default: now); never in the future."})
    by_name = fields.String(attribute="by_user.display_name", dump_only=True, allow_none=True)


class TicketContactListSchema(BaseSchema):
    items = fields.List(fields.Nested(TicketContactSchema))


class HandoverSchema(BaseSchema):
    to_username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class OwnerCandidateSchema(BaseSchema):
    """An office user a ticket can be handed to."""

    id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    role = fields.Enum(Role, by_value=True, dump_only=True)


class OwnerCandidateQuerySchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(min=1, max=64),
                      metadata={"description": "Part of the username or the name (taken literally)."})


OwnerCandidatePageSchema = page_of(OwnerCandidateSchema, "OwnerCandidatePage")


class CustomerBriefSchema(BaseSchema):
    name = fields.String()
    contact_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class SiteBriefSchema(BaseSchema):
    name = fields.String()
    address = fields.String()
    city = fields.String(allow_none=True)


class AssetBriefSchema(BaseSchema):
    product_line = fields.String()
    model = fields.String()
    serial_number = fields.String()
    install_date = fields.Date(allow_none=True)
    warranty_end = fields.Date(allow_none=True)
    under_warranty = fields.Function(lambda asset: asset.under_warranty(utcnow().date()), dump_only=True)


class TicketSchema(BaseSchema):
    id = fields.UUID()
    reference = fields.String()
    customer_id = fields.UUID()
    customer_name = fields.String(attribute="customer.name", dump_only=True)
    site_id = fields.UUID()
    site_city = fields.String(attribute="site.city", dump_only=True, allow_none=True)
    asset_id = fields.UUID(allow_none=True)
    contract_id = fields.UUID(allow_none=True)
    channel = _enum(Channel)
    category = _enum(Category)
    complaint_class = _enum(ComplaintClass, allow_none=True)
    priority = _enum(Priority)
    summary = fields.String()
    description = fields.String(allow_none=True)
    owner_id = fields.UUID()
    status = _enum(TicketStatus)
    received_at = fields.DateTime()
    response_due_at = fields.DateTime()
    on_site_due_at = fields.DateTime()
    resolve_due_at = fields.DateTime()
    responded_at = fields.DateTime(allow_none=True)
    on_site_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    escalation_level = fields.Integer()
    version = fields.Integer()
    needed_parts = fields.List(fields.Nested(NeededPartSchema))


class TicketDetailSchema(TicketSchema):
    events = fields.List(fields.Nested(TicketEventSchema))
    customer = fields.Nested(CustomerBriefSchema, dump_only=True)
    site = fields.Nested(SiteBriefSchema, dump_only=True)
    asset = fields.Nested(AssetBriefSchema, dump_only=True, allow_none=True)
    owner_name = fields.String(attribute="owner.display_name", dump_only=True)


TicketPageSchema = page_of(TicketSchema, "TicketPage")


class TicketQuerySchema(PageArgsSchema):
    status = fields.List(_enum(TicketStatus))
    category = _enum(Category)
    complaint_class = _enum(ComplaintClass)
    priority = _enum(Priority)
    customer_id = fields.UUID()
    owner_id = fields.UUID()
    site_id = fields.UUID()
    asset_id = fields.UUID()
    serial_number = fields.String(validate=validate.Length(min=1, max=64),
                                  metadata={"description": "The asset's serial number, exactly."})
    product_line = fields.String(validate=validate.Length(min=1, max=64),
                                 metadata={"description": "The asset's product line."})
    overdue = fields.Boolean(metadata={"description": "Only tickets whose on-site clock has run out."})
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "Search in reference and summary."})


class TransitionSchema(BaseSchema):
    to = _enum(TicketStatus, required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
