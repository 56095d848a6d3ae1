"""Wire schemas of the monthly statistics and the cost inputs (expenses) they need."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import UTCDateTime
from server.reports.models import ExpenseKind
from server.reports.statistics import FIGURES, GROUPINGS

# Years 1970-2199, as every time the API takes: earlier years in the company's zone have
# local-mean-time offsets (+08:05:43) that no RFC 3339 date-time can carry.
MONTH = validate.Regexp(r"^(19[7-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])$", error="Use YYYY-MM (1970-2199).")
LANGS = validate.OneOf(["zh-CN", "en"])


class MonthlyQuerySchema(BaseSchema):
    month = fields.String(required=True, validate=MONTH, metadata={"description": "A calendar month in the "
                          "company's zone, YYYY-MM."})
    by = fields.String(load_default="total", validate=validate.OneOf(GROUPINGS),
                       metadata={"description": "total, region (the site's city) or technician."})
    lang = fields.String(validate=LANGS, metadata={"description": "Language of CSV headers and the PDF."})


class BehindQuerySchema(PageArgsSchema):
    month = fields.String(required=True, validate=MONTH)
    by = fields.String(load_default="total", validate=validate.OneOf(GROUPINGS))
    group = fields.String(validate=validate.Length(max=200),
                          metadata={"description": "A group's key from the figures (none: every group)."})
    figure = fields.String(required=True, validate=validate.Length(max=100), metadata={
        "description": "A figure's key, or a distribution's value (tickets_by_channel.phone); rates give the "
                       "tickets they were computed over, or only the attained ones with .num."})


class MonthlyGroupSchema(BaseSchema):
    key = fields.String(allow_none=True)
    label = fields.String()
    figures = fields.Dict(keys=fields.String(), metadata={"description": "figure key -> value: " + ", ".join(FIGURES)})


class MonthlySchema(BaseSchema):
    month = fields.String()
    by = fields.String()
    timezone = fields.String()
    due_by = fields.String(metadata={"description": "The report is due by the 4th of the next month."})
    from_ = fields.DateTime(data_key="from", attribute="from")
    to = fields.DateTime()
    groups = fields.List(fields.Nested(MonthlyGroupSchema))
    definitions = fields.Dict(keys=fields.String(), values=fields.String())
    units = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "count, rate (0..1), hours, days, money (CNY) or distribution"})
    not_yet_available = fields.Dict(keys=fields.String(), values=fields.String())


class BehindTicketSchema(BaseSchema):
    id = fields.UUID()
    reference = fields.String()
    customer_name = fields.String(attribute="customer.name")
    site_city = fields.String(attribute="site.city", allow_none=True)
    category = fields.String(attribute="category.value")
    status = fields.String(attribute="status.value")
    received_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


BehindPageSchema = page_of(BehindTicketSchema, "MonthlyFigureTicketPage")


def _to_the_fen(value: float) -> None:
    if abs(value * 100 - round(value * 100)) > 1e-6:
        raise ValidationError("At most two decimals (fen).")


class ExpenseInSchema(BaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ExpenseKind]))
    amount = fields.Float(required=True, validate=[validate.Range(min=0, max=10_000_000), _to_the_fen],
                          metadata={"description": "Yuan (CNY) to the fen: at most two decimals."})
    travel_minutes = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=7 * 24 * 60))
    distance_km = fields.Float(allow_none=True, validate=validate.Range(min=0, max=20_000))
    incurred_at = UTCDateTime(metadata={"description": "When it was spent (default: now)."})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    receipt_ref = fields.String(allow_none=True, validate=validate.Length(max=100))


class ExpenseSchema(BaseSchema):
    id = fields.UUID()
    job_id = fields.UUID()
    kind = fields.String(attribute="kind.value")
    amount = fields.Float()
    travel_minutes = fields.Integer(allow_none=True)
    distance_km = fields.Float(allow_none=True)
    incurred_at = fields.DateTime()
    note = fields.String(allow_none=True)
    receipt_ref = fields.String(allow_none=True)
    recorded_at = fields.DateTime()


class ExpenseListSchema(BaseSchema):
    items = fields.List(fields.Nested(ExpenseSchema))
