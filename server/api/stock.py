"""Stock: levels, movements, purchase requests, receipts and inspection,
transfers, issues, van restocks, returns, counts, spare units, discrepancies
and reconciliation.

Warehouse staff and admins write; dispatchers read; a technician reads only
their own van. Approving a purchase request is a manager's act (admin).
"""

from __future__ import annotations

import uuid

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from schemas.stock import (
    CountClosedSchema,
    CountCreateSchema,
    CountLinesSchema,
    CountSchema,
    DecisionSchema,
    DiscrepancyPageSchema,
    DiscrepancyQuerySchema,
    DiscrepancyResolveSchema,
    DiscrepancySchema,
    InspectionSchema,
    IssueSchema,
    LevelPageSchema,
    LevelQuerySchema,
    LocationQuerySchema,
    MovementPageSchema,
    MovementQuerySchema,
    PurchaseRequestCreateSchema,
    PurchaseRequestPageSchema,
    PurchaseRequestQuerySchema,
    PurchaseRequestSchema,
    ReceiptCreateSchema,
    ReceiptSchema,
    ReceiveSchema,
    ReconciliationQuerySchema,
    ReconciliationSchema,
    ReservationQuerySchema,
    RestockSchema,
    ReturnResultSchema,
    ReturnSchema,
    SerialHistorySchema,
    SpareUnitActionSchema,
    SpareUnitQuerySchema,
    StockLocationPageSchema,
    StockReservationPageSchema,
    StockSpareUnitPageSchema,
    StockSpareUnitSchema,
    SummaryQuerySchema,
    SummarySchema,
    TransferCreateSchema,
    TransferListSchema,
    TransferPageSchema,
    TransferQuerySchema,
    TransferSchema,
)
from server.accounts.models import Role
from server.api.idempotency import idempotent
from server.api.security import current_principal, requires
from server.db import utcnow
from server.exceptions import InvalidTransition, NotFound, PermissionDenied
from server.extensions import db
from server.pagination import Page, paginate
from server.stock import counts, purchasing, reconciliation, serials, transfers
from server.stock.models import (
    CountSession,
    DiscrepancyStatus,
    Part,
    PurchaseRequest,
    Receipt,
    Reservation,
    SpareUnit,
    StockDiscrepancy,
    StockLevel,
    StockLocation,
    StockMovement,
    Transfer,
)

blp = Blueprint("stock", __name__, url_prefix="/api/v1/stock",
                description="Parts and spare units: the stock ledger, transfers, counts and reconciliation")

WRITE = (Role.admin, Role.warehouse)
READ = (Role.admin, Role.warehouse, Role.dispatcher)
READ_OWN_VAN = (*READ, Role.technician)


# --- scope ----------------------------------------------------------------------------------------------------

def _own_van_id() -> uuid.UUID | None:
    from server.technicians.models import Technician

    principal = current_principal()
    return db.session.scalar(select(Technician.van_location_id).where(Technician.id == principal.technician_id))


def _scope_location(location_id: uuid.UUID | None) -> uuid.UUID | None:
    """A technician sees only their own van: the location defaults to it and
    any other is refused."""
    if not current_principal().is_technician:
        return location_id
    van_id = _own_van_id()
    if van_id is None or (location_id is not None and location_id != van_id):
        raise PermissionDenied("a technician sees only the stock on their own van", code="not_your_van")
    return van_id


def _get(model, object_id, what: str):
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(f"no such {what}")
    return obj


def _by() -> dict:
    return {"by_user_id": current_principal().user_id, "at": utcnow()}


# --- locations, levels, movements -----------------------------------------------------------------------------

@blp.route("/locations")
class Locations(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(LocationQuerySchema, location="query")
    @blp.response(200, StockLocationPageSchema)
    def get(self, args):
        """List stock locations (warehouses, service stations, vans); a technician sees their van."""
        stmt = select(StockLocation)
        if current_principal().is_technician:
            stmt = stmt.where(StockLocation.id == _scope_location(None))
        if args.get("kind"):
            stmt = stmt.where(StockLocation.kind == args["kind"])
        return paginate(db.session, stmt, order_by=[StockLocation.code, StockLocation.id], limit=args["limit"],
                        cursor=args.get("cursor"))


@blp.route("/levels")
class Levels(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(LevelQuerySchema, location="query")
    @blp.response(200, LevelPageSchema)
    def get(self, args):
        """On hand, reserved, available, in transit, defective and awaiting inspection, derived from the ledger."""
        location_id = _scope_location(args.get("location_id"))
        stmt = select(StockLevel)
        if location_id:
            stmt = stmt.where(StockLevel.location_id == location_id)
        if args.get("part_id"):
            stmt = stmt.where(StockLevel.part_id == args["part_id"])
        page = paginate(db.session, stmt, order_by=[StockLevel.location_id, StockLevel.part_id],
                        limit=args["limit"], cursor=args.get("cursor"))
        parts = {pid: (number, name) for pid, number, name in db.session.execute(
            select(Part.id, Part.part_number, Part.name).where(Part.id.in_({lv.part_id for lv in page.items})))}
        waiting = {loc: purchasing.awaiting_inspection(db.session, loc) for loc in {lv.location_id
                                                                                    for lv in page.items}}
        unknown = (None, None)
        items = [{"location_id": lv.location_id, "part_id": lv.part_id,
                  "part_number": parts.get(lv.part_id, unknown)[0], "part_name": parts.get(lv.part_id, unknown)[1],
                  "on_hand": lv.on_hand, "reserved": lv.reserved, "available": max(lv.on_hand - lv.reserved, 0),
                  "in_transit": lv.in_transit, "defective": lv.defective,
                  "awaiting_inspection": waiting[lv.location_id].get(lv.part_id, 0)} for lv in page.items]
        return Page(items=items, next_cursor=page.next_cursor, has_more=page.has_more)


@blp.route("/movements")
class Movements(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(MovementQuerySchema, location="query")
    @blp.response(200, MovementPageSchema)
    def get(self, args):
        """The ledger itself, newest first. Movements are never edited or deleted."""
        location_id = _scope_location(args.get("location_id"))
        stmt = select(StockMovement)
        if location_id:
            stmt = stmt.where(StockMovement.location_id == location_id)
        for name in ("part_id", "job_id"):
            if args.get(name):
                stmt = stmt.where(getattr(StockMovement, name) == args[name])
        if args.get("kind"):
            stmt = stmt.where(StockMovement.kind.in_(args["kind"]))
        if args.get("start"):
            stmt = stmt.where(StockMovement.at >= args["start"])
        if args.get("end"):
            stmt = stmt.where(StockMovement.at < args["end"])
        return paginate(db.session, stmt, order_by=[StockMovement.id], limit=args["limit"],
                        cursor=args.get("cursor"), descending=True)


# --- purchase requests and receipts ---------------------------------------------------------------------------

@blp.route("/purchase-requests")
class PurchaseRequests(MethodView):
    @requires(*READ)
    @blp.arguments(PurchaseRequestQuerySchema, location="query")
    @blp.response(200, PurchaseRequestPageSchema)
    def get(self, args):
        """List purchase requests, newest first."""
        stmt = select(PurchaseRequest)
        if args.get("status"):
            stmt = stmt.where(PurchaseRequest.status.in_(args["status"]))
        return paginate(db.session, stmt, order_by=[PurchaseRequest.created_at, PurchaseRequest.id],
                        limit=args["limit"], cursor=args.get("cursor"), descending=True)

    @requires(*WRITE)
    @idempotent
    @blp.arguments(PurchaseRequestCreateSchema)
    @blp.response(201, PurchaseRequestSchema)
    def post(self, data):
        """File a parts purchase request (零部件购买申请表); a manager approves it."""
        pr = purchasing.create_purchase_request(db.session, requested_by_user_id=current_principal().user_id,
                                                at=utcnow(), **data)
        db.session.commit()
        return pr


@blp.route("/purchase-requests/<uuid:request_id>")
class PurchaseRequestById(MethodView):
    @requires(*READ)
    @blp.response(200, PurchaseRequestSchema)
    def get(self, request_id):
        """One purchase request with its lines (accepted and rejected so far)."""
        return _get(PurchaseRequest, request_id, "purchase request")


@blp.route("/purchase-requests/<uuid:request_id>/decision")
class PurchaseRequestDecision(MethodView):
    @requires(Role.admin)
    @blp.arguments(DecisionSchema)
    @blp.response(200, PurchaseRequestSchema)
    def post(self, data, request_id):
        """A manager approves or rejects a request (never their own)."""
        pr = _get(PurchaseRequest, request_id, "purchase request")
        purchasing.decide(db.session, pr, approve=data["approve"], note=data.get("note"), **_by())
        db.session.commit()
        return pr


@blp.route("/receipts")
class Receipts(MethodView):
    @requires(*WRITE)
    @idempotent
    @blp.arguments(ReceiptCreateSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data):
        """Goods arrived: recorded as awaiting inspection, not yet stock."""
        receipt = purchasing.create_receipt(db.session, **data, **_by())
        db.session.commit()
        return receipt


@blp.route("/receipts/<uuid:receipt_id>")
class ReceiptById(MethodView):
    @requires(*READ)
    @blp.response(200, ReceiptSchema)
    def get(self, receipt_id):
        """One receipt with each line's inspection."""
        return _get(Receipt, receipt_id, "receipt")


@blp.route("/receipts/<uuid:receipt_id>/inspection")
class ReceiptInspection(MethodView):
    @requires(*WRITE)
    @blp.arguments(InspectionSchema)
    @blp.response(200, ReceiptSchema)
    def post(self, data, receipt_id):
        """Record pass/fail per line: what passes becomes available stock."""
        receipt = _get(Receipt, receipt_id, "receipt")
        purchasing.inspect_receipt(db.session, receipt, results=data["results"], **_by())
        db.session.commit()
        return receipt


# --- transfers, issues, restocks, returns ---------------------------------------------------------------------

@blp.route("/transfers")
class Transfers(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(TransferQuerySchema, location="query")
    @blp.response(200, TransferPageSchema)
    def get(self, args):
        """List transfers, newest first; ``location_id`` matches either end."""
        location_id = _scope_location(args.get("location_id"))
        stmt = select(Transfer)
        if location_id:
            stmt = stmt.where(or_(Transfer.from_location_id == location_id, Transfer.to_location_id == location_id))
        if args.get("status"):
            stmt = stmt.where(Transfer.status.in_(args["status"]))
        return paginate(db.session, stmt, order_by=[Transfer.created_at, Transfer.id], limit=args["limit"],
                        cursor=args.get("cursor"), descending=True)

    @requires(*WRITE)
    @idempotent
    @blp.arguments(TransferCreateSchema)
    @blp.response(201, TransferSchema)
    def post(self, data):
        """Plan a transfer between any two locations; ship and receive it next."""
        transfer = transfers.create_transfer(db.session, **data, **_by())
        db.session.commit()
        return transfer


def _visible_transfer(transfer_id) -> Transfer:
    transfer = _get(Transfer, transfer_id, "transfer")
    if current_principal().is_technician and _own_van_id() not in (transfer.from_location_id,
                                                                    transfer.to_location_id):
        raise NotFound("no such transfer")
    return transfer


@blp.route("/transfers/<uuid:transfer_id>")
class TransferById(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.response(200, TransferSchema)
    def get(self, transfer_id):
        """One transfer with its lines."""
        return _visible_transfer(transfer_id)


@blp.route("/transfers/<uuid:transfer_id>/ship")
class TransferShip(MethodView):
    @requires(*WRITE)
    @blp.response(200, TransferSchema)
    def post(self, transfer_id):
        """Ship: the stock leaves the source and is in transit."""
        transfer = _get(Transfer, transfer_id, "transfer")
        transfers.ship_transfer(db.session, transfer, **_by())
        db.session.commit()
        return transfer


@blp.route("/transfers/<uuid:transfer_id>/receive")
class TransferReceive(MethodView):
    @requires(*WRITE)
    @blp.arguments(ReceiveSchema)
    @blp.response(200, TransferSchema)
    def post(self, data, transfer_id):
        """Receive: the stock arrives; name the lines that arrived short."""
        transfer = _get(Transfer, transfer_id, "transfer")
        transfers.receive_transfer(db.session, transfer, **_by(),
                                   received={line["line_id"]: line["received_quantity"] for line in data["lines"]})
        db.session.commit()
        return transfer


@blp.route("/transfers/<uuid:transfer_id>/cancel")
class TransferCancel(MethodView):
    @requires(*WRITE)
    @blp.response(200, TransferSchema)
    def post(self, transfer_id):
        """Cancel a transfer not yet shipped."""
        transfer = _get(Transfer, transfer_id, "transfer")
        transfers.cancel_transfer(db.session, transfer)
        db.session.commit()
        return transfer


@blp.route("/issues")
class Issues(MethodView):
    @requires(*WRITE)
    @idempotent
    @blp.arguments(IssueSchema)
    @blp.response(201, TransferSchema)
    def post(self, data):
        """Issue parts over the counter to a van (shipped and received at once)."""
        transfer = transfers.issue_to_van(db.session, **data, **_by())
        db.session.commit()
        return transfer


@blp.route("/vans/<uuid:van_id>/restock")
class VanRestock(MethodView):
    @requires(*WRITE)
    @idempotent
    @blp.arguments(RestockSchema)
    @blp.response(201, TransferListSchema)
    def post(self, data, van_id):
        """Restock a van: each part from the nearest warehouse holding enough (geodesic distance)."""
        planned = transfers.restock_van(db.session, van_id=van_id, lines=data["lines"], job_id=data.get("job_id"),
                                        ship=data["ship"], **_by())
        db.session.commit()
        return {"transfers": planned}


@blp.route("/returns")
class Returns(MethodView):
    @requires(*WRITE)
    @idempotent
    @blp.arguments(ReturnSchema)
    @blp.response(201, ReturnResultSchema)
    def post(self, data):
        """Parts come back, unused or defective (with a reason)."""
        movements = transfers.return_stock(db.session, **data, **_by())
        db.session.commit()
        return {"movements": movements}


# --- counts ---------------------------------------------------------------------------------------------------

@blp.route("/counts")
class Counts(MethodView):
    @requires(*WRITE)
    @idempotent
    @blp.arguments(CountCreateSchema)
    @blp.response(201, CountSchema)
    def post(self, data):
        """Open a count session at a location (one at a time per location)."""
        count = counts.open_count(db.session, **data, **_by())
        db.session.commit()
        return count


def _open_count(count_id) -> CountSession:
    return _get(CountSession, count_id, "count session")


@blp.route("/counts/<uuid:count_id>")
class CountById(MethodView):
    @requires(*READ)
    @blp.response(200, CountSchema)
    def get(self, count_id):
        """One count session with what was found."""
        return _open_count(count_id)


@blp.route("/counts/<uuid:count_id>/lines")
class CountLines(MethodView):
    @requires(*WRITE)
    @blp.arguments(CountLinesSchema)
    @blp.response(200, CountSchema)
    def post(self, data, count_id):
        """Record what was physically found; counting a part again replaces its figure."""
        count = _open_count(count_id)
        counts.record_counts(db.session, count, lines=data["lines"], **_by())
        db.session.commit()
        return count


@blp.route("/counts/<uuid:count_id>/close")
class CountClose(MethodView):
    @requires(*WRITE)
    @blp.response(200, CountClosedSchema)
    def post(self, count_id):
        """Close the count: write the adjustments and list the differences."""
        count = _open_count(count_id)
        differences = counts.close_count(db.session, count, **_by())
        db.session.commit()
        return {"count": count, "differences": differences}


@blp.route("/counts/<uuid:count_id>/cancel")
class CountCancel(MethodView):
    @requires(*WRITE)
    @blp.response(200, CountSchema)
    def post(self, count_id):
        """Abandon an open count; nothing is adjusted."""
        count = _open_count(count_id)
        counts.cancel_count(db.session, count, **_by())
        db.session.commit()
        return count


# --- spare units and serial numbers ---------------------------------------------------------------------------

@blp.route("/spare-units")
class SpareUnits(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(SpareUnitQuerySchema, location="query")
    @blp.response(200, StockSpareUnitPageSchema)
    def get(self, args):
        """Spare (loaner) units, one by one, where they are and their status."""
        location_id = _scope_location(args.get("location_id"))
        stmt = select(SpareUnit)
        if location_id:
            stmt = stmt.where(SpareUnit.location_id == location_id)
        if args.get("status"):
            stmt = stmt.where(SpareUnit.status.in_(args["status"]))
        if args.get("model"):
            stmt = stmt.where(SpareUnit.model == args["model"])
        return paginate(db.session, stmt, order_by=[SpareUnit.serial_number, SpareUnit.id], limit=args["limit"],
                        cursor=args.get("cursor"))


@blp.route("/spare-units/<uuid:unit_id>/actions")
class SpareUnitActions(MethodView):
    @requires(*WRITE)
    @blp.arguments(SpareUnitActionSchema)
    @blp.response(200, StockSpareUnitSchema)
    def post(self, data, unit_id):
        """Move a spare unit through its life: loan, return, report_defective, send_to_repair, repaired."""
        unit = _get(SpareUnit, unit_id, "spare unit")
        serials.spare_unit_action(db.session, unit, data.pop("action"), **data, **_by())
        db.session.commit()
        return unit


@blp.route("/serials/<path:serial_number>/history")  # path: serial numbers may hold "/"
class SerialHistory(MethodView):
    @requires(*READ)
    @blp.response(200, SerialHistorySchema)
    def get(self, serial_number):
        """Every step of one serial number (a serialised part or a spare unit), oldest first."""
        events = serials.history(db.session, serial_number)
        if not events:
            raise NotFound("no history for this serial number")
        return {"serial_number": serial_number, "events": events}


@blp.route("/reservations")
class Reservations(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(ReservationQuerySchema, location="query")
    @blp.response(200, StockReservationPageSchema)
    def get(self, args):
        """Stock held for jobs (active, consumed, released, or preempted by a warranty repair), newest first."""
        location_id = _scope_location(args.get("location_id"))
        stmt = select(Reservation)
        if location_id:
            stmt = stmt.where(Reservation.location_id == location_id)
        for name in ("job_id", "part_id"):
            if args.get(name):
                stmt = stmt.where(getattr(Reservation, name) == args[name])
        if args.get("status"):
            stmt = stmt.where(Reservation.status.in_(args["status"]))
        return paginate(db.session, stmt, order_by=[Reservation.created_at, Reservation.id], limit=args["limit"],
                        cursor=args.get("cursor"), descending=True)


# --- discrepancies and reconciliation -------------------------------------------------------------------------

@blp.route("/discrepancies")
class Discrepancies(MethodView):
    @requires(*READ)
    @blp.arguments(DiscrepancyQuerySchema, location="query")
    @blp.response(200, DiscrepancyPageSchema)
    def get(self, args):
        """Discrepancies raised by the ledger (negative balances, count differences, ...), newest first."""
        stmt = select(StockDiscrepancy)
        for name in ("location_id", "status", "kind"):
            if args.get(name):
                stmt = stmt.where(getattr(StockDiscrepancy, name) == args[name])
        return paginate(db.session, stmt, order_by=[StockDiscrepancy.detected_at, StockDiscrepancy.id],
                        limit=args["limit"], cursor=args.get("cursor"), descending=True)


@blp.route("/discrepancies/<uuid:discrepancy_id>/resolve")
class DiscrepancyResolve(MethodView):
    @requires(*WRITE)
    @blp.arguments(DiscrepancyResolveSchema)
    @blp.response(200, DiscrepancySchema)
    def post(self, data, discrepancy_id):
        """Record how a discrepancy was explained (the ledger itself is corrected only by movements)."""
        found = _get(StockDiscrepancy, discrepancy_id, "discrepancy")
        if found.status is not DiscrepancyStatus.open:
            raise InvalidTransition("this discrepancy is already resolved")
        found.status, found.resolved_at = DiscrepancyStatus.resolved, utcnow()
        found.resolved_by_user_id, found.resolution_note = current_principal().user_id, data["note"]
        db.session.commit()
        return found


def _wants_csv(args) -> bool:
    if args.get("format"):
        return args["format"] == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]


@blp.route("/reconciliation")
class Reconciliation(MethodView):
    @requires(*READ_OWN_VAN)
    @blp.arguments(ReconciliationQuerySchema, location="query")
    @blp.response(200, ReconciliationSchema)
    @blp.doc(responses={"200": {"content": {"application/json": {"schema": ReconciliationSchema},
                                            "text/csv": {"schema": {"type": "string"}}},
                                "description": "The report; as CSV with format=csv or Accept: text/csv."}})
    def get(self, args):
        """A location's reconciliation for a period: opening, every movement kind, expected against counted,
        consumption per job and technician, and every discrepancy with the movements behind it."""
        location_id = _scope_location(args["location"])
        report = reconciliation.reconcile_location(db.session, location_id=location_id, start=args["start"],
                                                   end=args["end"])
        if _wants_csv(args):
            name = f"reconciliation-{report['location']['code']}-{args['start']:%Y%m%d}-{args['end']:%Y%m%d}.csv"
            return Response(reconciliation.report_csv(report), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return report


@blp.route("/reconciliation/summary")
class ReconciliationSummary(MethodView):
    @requires(*READ)
    @blp.arguments(SummaryQuerySchema, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Every location side by side for a period, ranked by the size of its discrepancies."""
        return reconciliation.reconciliation_summary(db.session, start=args["start"], end=args["end"],
                                                     limit=args["limit"])
