"""Customers, sites, assets and service contracts on the wire."""

from datetime import date

from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import Latitude, Longitude, RecordSchema, patch_of, text
from server.jobs.models import CustomerRating, NoSignatureReason
from server.tickets.models import Category, ComplaintClass, TicketStatus

# ---- customers ----


class CustomerCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    name = text(200, required=True, metadata={"description": "Any script: 上海华东制冷设备有限公司 is fine."})
    contact_name = text(200, allow_none=True)
    phone = text(40, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    address = text(2000, allow_none=True)


CustomerUpdateSchema = patch_of(CustomerCreateSchema, "CustomerUpdateSchema", exclude=("id",))


class CustomerSchema(CustomerCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)


class CustomerQuerySchema(PageArgsSchema):
    q = text(100, metadata={"description": "Search in name, contact, phone, email, address and sites' names and "
                                           "addresses."})
    city = text(100, metadata={"description": "Customers with a site in this city."})


CustomerPageSchema = page_of(CustomerSchema, "CustomerPage")

# ---- sites ----


class SiteCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    customer_id = fields.UUID(required=True)
    name = text(200, required=True)
    address = text(2000, required=True)
    city = text(100, allow_none=True)
    latitude = Latitude(allow_none=True)
    longitude = Longitude(allow_none=True)


SiteUpdateSchema = patch_of(SiteCreateSchema, "SiteUpdateSchema", exclude=("id", "customer_id"))


class SiteSchema(SiteCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)


class SiteQuerySchema(PageArgsSchema):
    customer_id = fields.UUID()
    city = text(100)
    q = text(100, metadata={"description": "Search in name and address."})


SitePageSchema = page_of(SiteSchema, "SitePage")


class CustomerDetailSchema(CustomerSchema):
    sites = fields.List(fields.Nested(SiteSchema), dump_only=True)


# ---- assets ----


class AssetCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    site_id = fields.UUID(required=True)
    product_line = text(64, required=True)
    model = text(64, required=True)
    serial_number = text(64, required=True)
    install_date = fields.Date(allow_none=True)
    warranty_end = fields.Date(allow_none=True, metadata={"description": "三包: last day of the warranty."})


AssetUpdateSchema = patch_of(AssetCreateSchema, "AssetUpdateSchema", exclude=("id",))


class AssetSchema(AssetCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)
    customer_id = fields.UUID(attribute="site.customer_id", dump_only=True)
    under_warranty = fields.Method("_under_warranty", dump_only=True,
                                   metadata={"type": "boolean", "description": "Under warranty today."})

    def _under_warranty(self, asset) -> bool:
        return asset.under_warranty(date.today())


class AssetQuerySchema(PageArgsSchema):
    site_id = fields.UUID()
    customer_id = fields.UUID()
    product_line = text(64)
    model = text(64)
    serial_number = text(64)
    under_warranty = fields.Boolean(metadata={"description": "Under warranty today, or not."})


AssetPageSchema = page_of(AssetSchema, "AssetPage")


class AssetVisitSchema(BaseSchema):
    """An earlier completed visit to an asset: when, by whom, what was found and done."""

    job_id = fields.UUID(attribute="id", dump_only=True)
    ticket_reference = fields.String(attribute="ticket.reference", dump_only=True)
    technician_name = fields.String(attribute="technician.name", allow_none=True, dump_only=True)
    completed_at = fields.DateTime(dump_only=True)
    fault_cause = fields.String(allow_none=True, dump_only=True)
    solution = fields.String(allow_none=True, dump_only=True)
    work_done = fields.String(allow_none=True, dump_only=True)


AssetVisitPageSchema = page_of(AssetVisitSchema, "AssetVisitPage")


class UsedPartSchema(BaseSchema):
    part_number = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    quantity = fields.Integer(dump_only=True)


class ServiceVisitSchema(AssetVisitSchema):
    """A completed visit in a customer's service history: the asset visit, with its times, parts, rating and
    signature."""

    dispatched_at = fields.DateTime(allow_none=True, dump_only=True, metadata={
        "description": "When the visit was dispatched: the ticket's latest move to dispatched before the arrival."})
    arrived_at = fields.DateTime(allow_none=True, dump_only=True)
    departed_at = fields.DateTime(allow_none=True, dump_only=True)
    customer_rating = fields.Enum(CustomerRating, by_value=True, allow_none=True, dump_only=True)
    customer_opinion = fields.String(allow_none=True, dump_only=True)
    no_signature_reason = fields.Enum(NoSignatureReason, by_value=True, allow_none=True, dump_only=True)
    parts = fields.List(fields.Nested(UsedPartSchema), dump_only=True)
    signed_at = fields.DateTime(allow_none=True, dump_only=True,
                                metadata={"description": "When the signed report reached the server (none: unsigned)."})
    signer_name = fields.String(allow_none=True, dump_only=True)


class ServiceHistoryEntrySchema(BaseSchema):
    """One ticket of a customer's service history with its completed visits (oldest first)."""

    ticket_id = fields.UUID(attribute="ticket.id", dump_only=True)
    reference = fields.String(attribute="ticket.reference", dump_only=True)
    asset_id = fields.UUID(attribute="ticket.asset_id", allow_none=True, dump_only=True)
    received_at = fields.DateTime(attribute="ticket.received_at", dump_only=True)
    resolved_at = fields.DateTime(attribute="ticket.resolved_at", allow_none=True, dump_only=True)
    closed_at = fields.DateTime(attribute="ticket.closed_at", allow_none=True, dump_only=True)
    status = fields.Enum(TicketStatus, by_value=True, attribute="ticket.status", dump_only=True)
    category = fields.Enum(Category, by_value=True, attribute="ticket.category", dump_only=True)
    complaint_class = fields.Enum(ComplaintClass, by_value=True, attribute="ticket.complaint_class", allow_none=True,
                                  dump_only=True)
    summary = fields.String(attribute="ticket.summary", dump_only=True)
    visits = fields.List(fields.Nested(ServiceVisitSchema), dump_only=True)


class ServiceHistoryQuerySchema(PageArgsSchema):
    asset_id = fields.UUID(metadata={"description": "Only this asset's tickets."})


ServiceHistoryPageSchema = page_of(ServiceHistoryEntrySchema, "ServiceHistoryPage")

# ---- service contracts ----

# More than zero, as the server (and the table's check) require; apispec drops min_inclusive, so say it.
_hours = dict(validate=validate.Range(min=0, min_inclusive=False, max=24 * 365), allow_nan=False,
              metadata={"exclusiveMinimum": True})


class ContractCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    customer_id = fields.UUID(required=True)
    name = text(200, required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True, metadata={"description": "Open-ended when absent."})
    response_hours = fields.Float(required=True, **_hours)
    on_site_hours = fields.Float(required=True, **_hours)
    resolve_hours = fields.Float(required=True, **_hours)


ContractUpdateSchema = patch_of(ContractCreateSchema, "ContractUpdateSchema", exclude=("id", "customer_id"))


class ContractSchema(ContractCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)


class ContractQuerySchema(PageArgsSchema):
    customer_id = fields.UUID()
    active_on = fields.Date(metadata={"description": "Only contracts covering this day."})


ContractPageSchema = page_of(ContractSchema, "ContractPage")
