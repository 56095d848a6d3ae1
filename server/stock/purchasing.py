"""Purchase requests (零部件购买申请表), receipts and inspection. Never commits.

A request is filled in by a department, approved (or rejected) by a manager
who is not its requester, then received, possibly in several deliveries.
Received goods count as stock only once inspected: units that pass become a
``received`` movement; units that fail never enter stock (they go back to the
supplier) and are recorded on the request's line.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from server.stock import serials
from server.stock.ledger import record_movement
from server.stock.models import (
    InspectionResult,
    MovementKind,
    PurchaseRequest,
    PurchaseRequestLine,
    PurchaseRequestStatus,
    Receipt,
    ReceiptLine,
)
from server.stock.transfers import get_location, get_part


def create_purchase_request(session: Session, *, department: str, requested_by_name: str, requested_by_user_id,
                            destination_location_id, lines: list[dict], request_date: date | None = None,
                            customer_id=None, remarks: str | None = None, at: datetime) -> PurchaseRequest:
    get_location(session, destination_location_id)
    if customer_id is not None:
        from server.customers.models import Customer

        if session.get(Customer, customer_id) is None:
            raise NotFound("no such customer", details={"customer_id": str(customer_id)})
    if not lines:
        raise InvalidInput("a purchase request lists at least one part", code="no_lines")
    seen = set()
    request = PurchaseRequest(
        id=uuid.uuid4(), number=f"PR-{at:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}", department=department,
        requested_by_name=requested_by_name, requested_by_user_id=requested_by_user_id,
        request_date=request_date or at.date(), customer_id=customer_id,
        destination_location_id=destination_location_id, remarks=remarks)
    for position, line in enumerate(lines, start=1):
        part = get_part(session, line["part_id"])
        if part.id in seen:
            raise InvalidInput("each part appears once on a request", code="duplicate_part",
                               details={"part_id": str(part.id)})
        seen.add(part.id)
        request.lines.append(PurchaseRequestLine(position=position, part_id=part.id, quantity=line["quantity"],
                                                 remarks=line.get("remarks")))
    session.add(request)
    session.flush()
    return request


def decide(session: Session, request: PurchaseRequest, *, approve: bool, by_user_id, at: datetime,
           note: str | None = None) -> PurchaseRequest:
    """The manager's approval or rejection; nobody approves their own request."""
    session.refresh(request, with_for_update=True)
    if request.status is not PurchaseRequestStatus.pending_approval:
        raise InvalidTransition(f"a {request.status.value} request cannot be decided",
                                details={"status": request.status.value})
    if request.requested_by_user_id == by_user_id:
        raise PermissionDenied("a request is approved by someone other than its requester", code="self_approval")
    request.status = PurchaseRequestStatus.approved if approve else PurchaseRequestStatus.rejected
    request.decided_by_user_id, request.decided_at, request.decision_note = by_user_id, at, note
    session.flush()
    return request


def _pending_on_receipts(session: Session, line_id) -> int:
    return session.scalar(select(func.coalesce(func.sum(ReceiptLine.quantity), 0))
                          .where(ReceiptLine.purchase_request_line_id == line_id,
                                 ReceiptLine.inspection == InspectionResult.pending)) or 0


def create_receipt(session: Session, *, location_id, lines: list[dict], at: datetime, purchase_request_id=None,
                   supplier: str | None = None, delivery_note: str | None = None, by_user_id=None) -> Receipt:
    """Goods arrived, awaiting inspection. Against an approved request, each
    line is matched to the request's line for its part and may not exceed
    what is still outstanding."""
    get_location(session, location_id)
    if not lines:
        raise InvalidInput("a receipt lists at least one part", code="no_lines")
    request = None
    if purchase_request_id is not None:
        request = session.get(PurchaseRequest, purchase_request_id, with_for_update=True)
        if request is None:
            raise NotFound("no such purchase request")
        if request.status is not PurchaseRequestStatus.approved:
            raise InvalidTransition(f"goods are received only against an approved request ({request.status.value})",
                                    code="request_not_approved", details={"status": request.status.value})
    receipt = Receipt(id=uuid.uuid4(), location_id=location_id, purchase_request_id=purchase_request_id,
                      supplier=supplier, delivery_note=delivery_note, received_at=at, received_by_user_id=by_user_id)
    for position, line in enumerate(lines, start=1):
        part = get_part(session, line["part_id"])
        quantity = line["quantity"]
        serial_numbers = list(line.get("serial_numbers") or [])
        if part.serialised:
            serial_numbers = serials._check_serials(part.id, serial_numbers, quantity)
        request_line = None
        if request is not None:
            request_line = next((pl for pl in request.lines if pl.part_id == part.id), None)
            if request_line is None:
                raise InvalidInput("this part is not on the purchase request", code="part_not_requested",
                                   details={"part_id": str(part.id)})
            outstanding = request_line.quantity - request_line.accepted_quantity - _pending_on_receipts(
                session, request_line.id)
            if quantity > outstanding:
                raise Conflict("more received than the request still expects", code="over_delivery",
                               details={"part_id": str(part.id), "outstanding": outstanding, "received": quantity})
        receipt.lines.append(ReceiptLine(position=position, part_id=part.id, quantity=quantity,
                                         serial_numbers=serial_numbers,
                                         purchase_request_line_id=request_line.id if request_line else None))
    session.add(receipt)
    session.flush()
    return receipt


def inspect_receipt(session: Session, receipt: Receipt, *, results: list[dict], at: datetime,
                    by_user_id=None) -> Receipt:
    """Record inspection (pass/fail) of receipt lines. Each result names a
    ``line_id`` and ``passed_quantity`` (the rest failed) or, for serialised
    parts, ``failed_serial_numbers``. Passed units enter stock now."""
    session.refresh(receipt, with_for_update=True)  # one inspection of a line, even when two arrive at once
    lines = {line.id: line for line in receipt.lines}
    for result in results:
        line = lines.get(uuid.UUID(str(result["line_id"])))
        if line is None:
            raise InvalidInput("this line is not on the receipt", code="unknown_lines",
                               details={"line_id": str(result["line_id"])})
        if line.inspection is not InspectionResult.pending:
            raise InvalidTransition("this line is already inspected", code="already_inspected",
                                    details={"line_id": str(line.id), "inspection": line.inspection.value})
        failed_serials = list(result.get("failed_serial_numbers") or [])
        if failed_serials:
            if set(failed_serials) - set(line.serial_numbers):
                raise InvalidInput("failed serial numbers must be on the line", code="invalid_serials")
            passed = line.quantity - len(set(failed_serials))
        else:
            passed = result.get("passed_quantity", line.quantity)
        if not 0 <= passed <= line.quantity:
            raise InvalidInput("passed quantity is between 0 and the quantity received", code="invalid_quantity",
                               details={"line_id": str(line.id), "quantity": line.quantity})
        if line.serial_numbers and passed not in (line.quantity, line.quantity - len(set(failed_serials))):
            raise InvalidInput("for a serialised part, name the failed serial numbers", code="serials_required")
        line.passed_quantity, line.failed_quantity = passed, line.quantity - passed
        line.inspection = (InspectionResult.passed if passed == line.quantity
                           else InspectionResult.failed if passed == 0 else InspectionResult.partial)
        line.inspected_at, line.inspected_by_user_id = at, by_user_id
        line.inspection_note = result.get("note")
        if passed:
            movement = record_movement(session, kind=MovementKind.received, location_id=receipt.location_id,
                                       part_id=line.part_id, quantity=passed, at=at,
                                       source=f"receipt_line:{line.id}", by_user_id=by_user_id,
                                       note=f"receipt {receipt.id}" + (f", {receipt.supplier}" if receipt.supplier
                                                                        else ""))
            if line.serial_numbers:
                good = [s for s in line.serial_numbers if s not in set(failed_serials)]
                serials.receive_serials(session, part_id=line.part_id, serial_numbers=good,
                                        location_id=receipt.location_id, movement=movement, at=at,
                                        by_user_id=by_user_id)
        if line.purchase_request_line_id is not None:
            request_line = session.get(PurchaseRequestLine, line.purchase_request_line_id)
            request_line.accepted_quantity += passed
            request_line.rejected_quantity += line.quantity - passed
    session.flush()
    if receipt.purchase_request_id is not None:
        request = session.get(PurchaseRequest, receipt.purchase_request_id)
        if all(pl.accepted_quantity >= pl.quantity for pl in request.lines):
            request.status = PurchaseRequestStatus.received
    session.flush()
    return receipt


def awaiting_inspection(session: Session, location_id) -> dict:
    """Per part: units received at the location and not yet inspected."""
    rows = session.execute(
        select(ReceiptLine.part_id, func.sum(ReceiptLine.quantity))
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .where(Receipt.location_id == location_id, ReceiptLine.inspection == InspectionResult.pending)
        .group_by(ReceiptLine.part_id))
    return {part_id: int(q) for part_id, q in rows}
