"""Wire schemas of the stock resources: locations and levels, movements,
purchase requests, receipts and inspection, transfers, returns, counts,
spare units and serial histories, discrepancies and reconciliation."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from schemas.base import BaseSchema, PageArgsSchema, page_of
from server.stock.models import (
    CountStatus,
    DiscrepancyKind,
    DiscrepancyStatus,
    InspectionResult,
    LocationKind,
    MovementKind,
    PurchaseRequestStatus,
    ReservationStatus,
    SpareUnitStatus,
    StockCondition,
    TransferStatus,
)
from server.stock.serials import SPARE_UNIT_ACTIONS

QUANTITY = validate.Range(min=1, max=1_000_000)
SERIALS = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=1000))


def _enum(cls, **kwargs):
    return fields.Enum(cls, by_value=True, **kwargs)


# --- locations, levels, movements ------------------------------------------------------------------------------

class StockLocationSchema(BaseSchema):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()
    kind = _enum(LocationKind)
    address = fields.String(allow_none=True)
    latitude = fields.Float()
    longitude = fields.Float()


StockLocationPageSchema = page_of(StockLocationSchema, "StockLocationPage")


class LocationQuerySchema(PageArgsSchema):
    kind = _enum(LocationKind)


class LevelSchema(BaseSchema):
    location_id = fields.UUID()
    part_id = fields.UUID()
    part_number = fields.String()
    part_name = fields.String(metadata={"description": "The part's name, shown next to its number."})
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer(metadata={"description": "On hand minus reserved, never below zero."})
    in_transit = fields.Integer(metadata={"description": "Shipped towards this location, not yet received."})
    defective = fields.Integer(metadata={"description": "Defective units held here; never available."})
    awaiting_inspection = fields.Integer(metadata={"description": "Received, not yet inspected."})


LevelPageSchema = page_of(LevelSchema, "StockLevelPage")


class LevelQuerySchema(PageArgsSchema):
    location_id = fields.UUID()
    part_id = fields.UUID()

    @validates_schema
    def _one_of(self, data, **kwargs):
        if not data.get("location_id") and not data.get("part_id"):
            raise ValidationError("Name a location_id, a part_id or both.", "location_id")


class MovementSchema(BaseSchema):
    id = fields.Integer()
    kind = _enum(MovementKind)
    location_id = fields.UUID()
    part_id = fields.UUID(allow_none=True)
    quantity = fields.Integer(metadata={"description": "Signed: positive into the location."})
    condition = _enum(StockCondition)
    at = fields.DateTime()
    job_id = fields.UUID(allow_none=True)
    source = fields.String(allow_none=True)
    under_warranty = fields.Boolean(allow_none=True)
    serial_numbers = fields.List(fields.String(), allow_none=True)
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    counterpart_location_id = fields.UUID(allow_none=True)
    by_user_id = fields.UUID(allow_none=True)


MovementPageSchema = page_of(MovementSchema, "StockMovementPage")


class MovementQuerySchema(PageArgsSchema):
    location_id = fields.UUID()
    part_id = fields.UUID()
    job_id = fields.UUID()
    kind = fields.List(_enum(MovementKind))
    start = fields.AwareDateTime(data_key="from")
    end = fields.AwareDateTime(data_key="to")


# --- purchase requests, receipts ------------------------------------------------------------------------------

class PurchaseLineInSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=QUANTITY)
    remarks = fields.String(allow_none=True, validate=validate.Length(max=2000))


class PurchaseRequestCreateSchema(BaseSchema):
    """零部件购买申请表."""

    department = fields.String(required=True, validate=validate.Length(min=1, max=100))
    requested_by_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    request_date = fields.Date()
    customer_id = fields.UUID(allow_none=True)
    destination_location_id = fields.UUID(required=True)
    remarks = fields.String(allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(PurchaseLineInSchema), required=True, validate=validate.Length(min=1, max=200))


class PurchaseLineSchema(BaseSchema):
    id = fields.UUID()
    part_id = fields.UUID()
    part_number = fields.String(attribute="part.part_number")
    quantity = fields.Integer()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    remarks = fields.String(allow_none=True)


class PurchaseRequestSchema(BaseSchema):
    id = fields.UUID()
    number = fields.String()
    department = fields.String()
    requested_by_name = fields.String()
    requested_by_user_id = fields.UUID()
    request_date = fields.Date()
    customer_id = fields.UUID(allow_none=True)
    destination_location_id = fields.UUID()
    remarks = fields.String(allow_none=True)
    status = _enum(PurchaseRequestStatus)
    decided_by_user_id = fields.UUID(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(PurchaseLineSchema))


PurchaseRequestPageSchema = page_of(PurchaseRequestSchema, "PurchaseRequestPage")


class PurchaseRequestQuerySchema(PageArgsSchema):
    status = fields.List(_enum(PurchaseRequestStatus))


class DecisionSchema(BaseSchema):
    approve = fields.Boolean(required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class ReceiptLineInSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=QUANTITY)
    serial_numbers = SERIALS


class ReceiptCreateSchema(BaseSchema):
    location_id = fields.UUID(required=True)
    purchase_request_id = fields.UUID(allow_none=True)
    supplier = fields.String(allow_none=True, validate=validate.Length(max=200))
    delivery_note = fields.String(allow_none=True, validate=validate.Length(max=100))
    lines = fields.List(fields.Nested(ReceiptLineInSchema), required=True, validate=validate.Length(min=1, max=200))


class ReceiptLineSchema(BaseSchema):
    id = fields.UUID()
    part_id = fields.UUID()
    purchase_request_line_id = fields.UUID(allow_none=True)
    quantity = fields.Integer()
    serial_numbers = fields.List(fields.String())
    inspection = _enum(InspectionResult)
    passed_quantity = fields.Integer(allow_none=True)
    failed_quantity = fields.Integer(allow_none=True)
    inspected_at = fields.DateTime(allow_none=True)
    inspection_note = fields.String(allow_none=True)


class ReceiptSchema(BaseSchema):
    id = fields.UUID()
    location_id = fields.UUID()
    purchase_request_id = fields.UUID(allow_none=True)
    supplier = fields.String(allow_none=True)
    delivery_note = fields.String(allow_none=True)
    received_at = fields.DateTime()
    lines = fields.List(fields.Nested(ReceiptLineSchema))


class InspectionResultInSchema(BaseSchema):
    line_id = fields.UUID(required=True)
    passed_quantity = fields.Integer(validate=validate.Range(min=0, max=1_000_000),
                                     metadata={"description": "Default: all of the line; the rest failed."})
    failed_serial_numbers = SERIALS
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class InspectionSchema(BaseSchema):
    results = fields.List(fields.Nested(InspectionResultInSchema), required=True,
                          validate=validate.Length(min=1, max=200))


# --- transfers, issues, restocks, returns ---------------------------------------------------------------------

class TransferLineInSchema(BaseSchema):
    part_id = fields.UUID()
    quantity = fields.Integer(validate=QUANTITY)
    serial_numbers = SERIALS
    spare_unit_id = fields.UUID()

    @validates_schema
    def _part_or_unit(self, data, **kwargs):
        if bool(data.get("part_id")) == bool(data.get("spare_unit_id")):
            raise ValidationError("Give a part_id with a quantity, or a spare_unit_id.", "part_id")
        if data.get("part_id") and not data.get("quantity"):
            raise ValidationError("Required with a part_id.", "quantity")


class TransferCreateSchema(BaseSchema):
    from_location_id = fields.UUID(required=True)
    to_location_id = fields.UUID(required=True)
    job_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(TransferLineInSchema), required=True, validate=validate.Length(min=1, max=200))


class IssueSchema(BaseSchema):
    from_location_id = fields.UUID(required=True)
    van_id = fields.UUID(required=True)
    job_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(TransferLineInSchema), required=True, validate=validate.Length(min=1, max=200))


class RestockLineSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=QUANTITY)


class RestockSchema(BaseSchema):
    lines = fields.List(fields.Nested(RestockLineSchema), required=True, validate=validate.Length(min=1, max=200))
    job_id = fields.UUID(allow_none=True)
    ship = fields.Boolean(load_default=False, metadata={"description": "Ship at once rather than only plan."})


class TransferLineSchema(BaseSchema):
    id = fields.UUID()
    part_id = fields.UUID(allow_none=True)
    spare_unit_id = fields.UUID(allow_none=True)
    quantity = fields.Integer()
    serial_numbers = fields.List(fields.String())
    received_quantity = fields.Integer(allow_none=True)


class TransferSchema(BaseSchema):
    id = fields.UUID()
    from_location_id = fields.UUID()
    to_location_id = fields.UUID()
    status = _enum(TransferStatus)
    is_issue = fields.Boolean()
    job_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True)
    explanation = fields.String(allow_none=True)
    created_at = fields.DateTime()
    shipped_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(TransferLineSchema))


TransferPageSchema = page_of(TransferSchema, "TransferPage")


class TransferListSchema(BaseSchema):
    transfers = fields.List(fields.Nested(TransferSchema))


class TransferQuerySchema(PageArgsSchema):
    status = fields.List(_enum(TransferStatus))
    location_id = fields.UUID(metadata={"description": "Either end."})


class ReceiveLineSchema(BaseSchema):
    line_id = fields.UUID(required=True)
    received_quantity = fields.Integer(required=True, validate=validate.Range(min=0, max=1_000_000))


class ReceiveSchema(BaseSchema):
    lines = fields.List(fields.Nested(ReceiveLineSchema), load_default=list,
                        metadata={"description": "Only lines that did not arrive whole."})


class ReturnSchema(BaseSchema):
    from_location_id = fields.UUID(allow_none=True, metadata={
        "description": "The van it comes from; none for a part removed from a customer's machine."})
    to_location_id = fields.UUID(required=True)
    part_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=QUANTITY)
    defective = fields.Boolean(load_default=False)
    reason = fields.String(allow_none=True, validate=validate.Length(max=200))
    job_id = fields.UUID(allow_none=True)
    serial_numbers = SERIALS


class ReturnResultSchema(BaseSchema):
    movements = fields.List(fields.Nested(MovementSchema))


# --- counts ---------------------------------------------------------------------------------------------------

class CountCreateSchema(BaseSchema):
    location_id = fields.UUID(required=True)
    full = fields.Boolean(load_default=False, metadata={
        "description": "A full count: parts the books hold that nobody counted were found at zero."})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class CountLineInSchema(BaseSchema):
    part_id = fields.UUID(required=True)
    counted_quantity = fields.Integer(required=True, validate=validate.Range(min=0, max=1_000_000))


class CountLinesSchema(BaseSchema):
    lines = fields.List(fields.Nested(CountLineInSchema), required=True, validate=validate.Length(min=1, max=5000))


class CountLineSchema(BaseSchema):
    part_id = fields.UUID()
    counted_quantity = fields.Integer()
    expected_quantity = fields.Integer(allow_none=True)
    difference = fields.Integer(allow_none=True)
    counted_at = fields.DateTime()


class CountSchema(BaseSchema):
    id = fields.UUID()
    location_id = fields.UUID()
    status = _enum(CountStatus)
    full = fields.Boolean()
    note = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(CountLineSchema))


class CountDifferenceSchema(BaseSchema):
    part_id = fields.UUID()
    expected = fields.Integer()
    counted = fields.Integer()
    difference = fields.Integer()


class CountClosedSchema(BaseSchema):
    count = fields.Nested(CountSchema)
    differences = fields.List(fields.Nested(CountDifferenceSchema))


# --- spare units, serials, reservations -----------------------------------------------------------------------

class StockSpareUnitSchema(BaseSchema):
    id = fields.UUID()
    model = fields.String()
    product_line = fields.String()
    serial_number = fields.String()
    status = _enum(SpareUnitStatus)
    location_id = fields.UUID(allow_none=True)
    site_id = fields.UUID(allow_none=True)
    version = fields.Integer()


StockSpareUnitPageSchema = page_of(StockSpareUnitSchema, "StockSpareUnitPage")


class SpareUnitQuerySchema(PageArgsSchema):
    location_id = fields.UUID()
    status = fields.List(_enum(SpareUnitStatus))
    model = fields.String(validate=validate.Length(max=64))


class SpareUnitActionSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(sorted(SPARE_UNIT_ACTIONS)))
    job_id = fields.UUID(allow_none=True)
    location_id = fields.UUID(allow_none=True)
    defective = fields.Boolean(load_default=False)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class SerialEventSchema(BaseSchema):
    id = fields.Integer()
    serial_number = fields.String()
    part_id = fields.UUID(allow_none=True)
    spare_unit_id = fields.UUID(allow_none=True)
    event = fields.String()
    status = fields.String()
    location_id = fields.UUID(allow_none=True)
    site_id = fields.UUID(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    movement_id = fields.Integer(allow_none=True)
    at = fields.DateTime()
    note = fields.String(allow_none=True)


class SerialHistorySchema(BaseSchema):
    serial_number = fields.String()
    events = fields.List(fields.Nested(SerialEventSchema))


class StockReservationSchema(BaseSchema):
    id = fields.UUID()
    location_id = fields.UUID()
    part_id = fields.UUID(allow_none=True)
    spare_unit_id = fields.UUID(allow_none=True)
    quantity = fields.Integer()
    job_id = fields.UUID(allow_none=True)
    under_warranty = fields.Boolean()
    status = _enum(ReservationStatus)
    preempted_by_id = fields.UUID(allow_none=True)
    release_reason = fields.String(allow_none=True, metadata={
        "description": "Why it was released: job_cancelled, or job_reassigned (held in the former technician's van)."})
    created_at = fields.DateTime()


StockReservationPageSchema = page_of(StockReservationSchema, "StockReservationPage")


class ReservationQuerySchema(PageArgsSchema):
    location_id = fields.UUID()
    job_id = fields.UUID()
    part_id = fields.UUID()
    status = fields.List(_enum(ReservationStatus))


# --- discrepancies and reconciliation -------------------------------------------------------------------------

class DiscrepancySchema(BaseSchema):
    id = fields.UUID()
    kind = _enum(DiscrepancyKind)
    status = _enum(DiscrepancyStatus)
    location_id = fields.UUID()
    part_id = fields.UUID(allow_none=True)
    quantity = fields.Integer()
    balance_after = fields.Integer(allow_none=True)
    movement_id = fields.Integer(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    count_session_id = fields.UUID(allow_none=True)
    transfer_id = fields.UUID(allow_none=True)
    serial_number = fields.String(allow_none=True)
    detected_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution_note = fields.String(allow_none=True)


DiscrepancyPageSchema = page_of(DiscrepancySchema, "DiscrepancyPage")


class DiscrepancyQuerySchema(PageArgsSchema):
    location_id = fields.UUID()
    status = _enum(DiscrepancyStatus)
    kind = _enum(DiscrepancyKind)


class DiscrepancyResolveSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class PeriodSchema(BaseSchema):
    start = fields.AwareDateTime(data_key="from", required=True)
    end = fields.AwareDateTime(data_key="to", required=True)
    format = fields.String(validate=validate.OneOf(["json", "csv"]),
                           metadata={"description": "Or send Accept: text/csv."})


class ReconciliationQuerySchema(PeriodSchema):
    location = fields.UUID(required=True)


class SummaryQuerySchema(PeriodSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ReconMovementSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    quantity = fields.Integer()
    at = fields.DateTime()
    condition = fields.String()
    job_id = fields.UUID(allow_none=True)
    ticket_reference = fields.String(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    technician_name = fields.String(allow_none=True)
    under_warranty = fields.Boolean(allow_none=True)
    source = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    counterpart_location_id = fields.UUID(allow_none=True)
    serial_numbers = fields.List(fields.String())


class ReconConsumptionSchema(ReconMovementSchema):
    part_id = fields.UUID()
    part_number = fields.String(allow_none=True)
    chargeable = fields.Boolean(metadata={"description": "False under warranty: the customer is not charged."})
    charge = fields.Float(allow_none=True, metadata={"description": "Quantity x unit cost, 0 under warranty."})


class ReconLineSchema(BaseSchema):
    part_id = fields.UUID()
    part_number = fields.String()
    part_name = fields.String()
    opening = fields.Integer()
    received = fields.Integer()
    transferred_in = fields.Integer()
    transferred_out = fields.Integer()
    issued_in = fields.Integer()
    issued_out = fields.Integer()
    consumed = fields.Integer()
    returned_in = fields.Integer()
    returned_out = fields.Integer()
    returned_defective = fields.Integer()
    expected_closing = fields.Integer()
    adjusted = fields.Integer(metadata={"description": "Counted minus expected, over the period's counts."})
    closing = fields.Integer()
    counted = fields.Integer(allow_none=True)
    counted_at = fields.DateTime(allow_none=True)
    count_difference = fields.Integer(allow_none=True)
    in_transit_now = fields.Integer()
    reserved_now = fields.Integer()


class ReconTotalsSchema(BaseSchema):
    opening = fields.Integer()
    received = fields.Integer()
    transferred_in = fields.Integer()
    transferred_out = fields.Integer()
    issued_in = fields.Integer()
    issued_out = fields.Integer()
    consumed = fields.Integer()
    returned_in = fields.Integer()
    returned_out = fields.Integer()
    returned_defective = fields.Integer()
    expected_closing = fields.Integer()
    adjusted = fields.Integer()
    closing = fields.Integer()


class ReconDiscrepancySchema(BaseSchema):
    id = fields.UUID()
    kind = fields.String()
    status = fields.String()
    part_id = fields.UUID(allow_none=True)
    part_number = fields.String(allow_none=True)
    quantity = fields.Integer()
    balance_after = fields.Integer(allow_none=True)
    detected_at = fields.DateTime()
    job_id = fields.UUID(allow_none=True)
    ticket_reference = fields.String(allow_none=True)
    technician_name = fields.String(allow_none=True)
    count_session_id = fields.UUID(allow_none=True)
    transfer_id = fields.UUID(allow_none=True)
    serial_number = fields.String(allow_none=True)
    movements = fields.List(fields.Nested(ReconMovementSchema))


class ReconLocationSchema(BaseSchema):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class ReconciliationSchema(BaseSchema):
    location = fields.Nested(ReconLocationSchema)
    start = fields.DateTime(data_key="from")
    end = fields.DateTime(data_key="to")
    lines = fields.List(fields.Nested(ReconLineSchema))
    totals = fields.Nested(ReconTotalsSchema)
    consumption = fields.List(fields.Nested(ReconConsumptionSchema))
    discrepancies = fields.List(fields.Nested(ReconDiscrepancySchema))


class SummaryLocationSchema(BaseSchema):
    location_id = fields.UUID()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    received = fields.Integer()
    transferred_in = fields.Integer()
    transferred_out = fields.Integer()
    issued_in = fields.Integer()
    issued_out = fields.Integer()
    consumed = fields.Integer()
    returned_in = fields.Integer()
    returned_out = fields.Integer()
    returned_defective = fields.Integer()
    adjusted = fields.Integer()
    discrepancies = fields.Integer()
    discrepancy_quantity = fields.Integer()
    discrepancy_value = fields.Float()
    open_discrepancies = fields.Integer()


class SummaryDiscrepancySchema(BaseSchema):
    id = fields.UUID()
    kind = fields.String()
    status = fields.String()
    location_id = fields.UUID()
    location_code = fields.String(allow_none=True)
    part_id = fields.UUID(allow_none=True)
    part_number = fields.String(allow_none=True)
    quantity = fields.Integer()
    value = fields.Float()
    job_id = fields.UUID(allow_none=True)
    detected_at = fields.DateTime()


class SummarySchema(BaseSchema):
    start = fields.DateTime(data_key="from")
    end = fields.DateTime(data_key="to")
    locations = fields.List(fields.Nested(SummaryLocationSchema))
    largest = fields.List(fields.Nested(SummaryDiscrepancySchema))
