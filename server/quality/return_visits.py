"""Return visits (回访): the call schedule of each installed asset, the day's
call list, and what each call came to. Plain functions; never commit.

The schedule (客服部管理制度): a call every month in the first year after the
asset's installation (its ``install_date``, which is also its delivery date
for FieldSync), every quarter after that. Visits are generated a rolling
``horizon`` ahead (``flask return-visits-schedule`` extends it daily) and never
backwards: an asset entered years after its installation starts with its next
due call, not with a backlog."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.customers.models import Asset, Site
from server.exceptions import InvalidInput, InvalidTransition
from server.quality.models import CallOutcome, ReturnVisit, ReturnVisitCall, ReturnVisitStatus
from server.records import field_error

HORIZON_DAYS = 400


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule_dates(installed: date, until: date) -> list[tuple[int, date]]:
    """(sequence, due date) of every call from installation up to ``until``:
    months 1-12, then every third month."""
    out, n = [], 1
    while True:
        months = n if n <= 12 else 12 + 3 * (n - 12)
        due = add_months(installed, months)
        if due > until:
            return out
        out.append((n, due))
        n += 1


def schedule_asset(session: Session, asset: Asset, *, today: date, horizon_days: int = HORIZON_DAYS) -> dict:
    """Bring one asset's pending visits in line with its installation date:
    pending visits the schedule no longer has go (the date changed, or was
    cleared); missing ones from today to the horizon are added. Visits already
    called are kept as they are. Returns how many were added and removed."""
    wanted = dict((due, n) for n, due in schedule_dates(asset.install_date, today + timedelta(days=horizon_days))) \
        if asset.install_date else {}
    existing = session.scalars(select(ReturnVisit).where(ReturnVisit.asset_id == asset.id)).all()
    stale = [v.id for v in existing if v.status is ReturnVisitStatus.due and not v.calls and v.due_on not in wanted]
    if stale:
        session.execute(delete(ReturnVisit).where(ReturnVisit.id.in_(stale)))
        for v in existing:
            if v.id in stale:
                session.expunge(v)
    have = {v.due_on for v in existing if v.id not in stale}
    added = 0
    for due, n in wanted.items():
        if due >= today and due not in have:
            session.add(ReturnVisit(id=uuid.uuid4(), asset_id=asset.id, sequence=n, due_on=due, next_call_on=due,
                                    status=ReturnVisitStatus.due))
            added += 1
    session.flush()
    return {"added": added, "removed": len(stale)}


def schedule_all(session: Session, *, today: date, horizon_days: int = HORIZON_DAYS) -> dict:
    """Every installed asset's schedule, extended to the horizon (run daily)."""
    totals = {"assets": 0, "added": 0, "removed": 0}
    for asset in session.scalars(select(Asset).where(Asset.install_date.is_not(None)).order_by(Asset.id)):
        done = schedule_asset(session, asset, today=today, horizon_days=horizon_days)
        totals["assets"] += 1
        totals["added"] += done["added"]
        totals["removed"] += done["removed"]
    return totals


def call_list(day: date):
    """The day's calls: every pending visit due (or called back) on or before ``day``."""
    return (select(ReturnVisit).join(Asset, Asset.id == ReturnVisit.asset_id).join(Site, Site.id == Asset.site_id)
            .where(ReturnVisit.status == ReturnVisitStatus.due, ReturnVisit.next_call_on <= day))


def record_call(session: Session, visit: ReturnVisit, data: dict, *, by_user_id, now: datetime,
                open_ticket=None) -> ReturnVisitCall:
    """What a call came to. ``problem`` opens a ticket in the same step
    (``open_ticket(data) -> Ticket``, the tickets service with its clocks);
    ``call_back`` and ``unreachable`` move the visit to the call-back day (the
    next day if none is given); ``satisfied`` and ``problem`` close it."""
    if visit.status is ReturnVisitStatus.done:
        raise InvalidTransition("this return visit is already done", code="return_visit_done")
    outcome = CallOutcome(data["outcome"])
    call = ReturnVisitCall(id=uuid.uuid4(), visit_id=visit.id, at=now, by_user_id=by_user_id, outcome=outcome,
                           note=data.get("note"))
    if outcome is CallOutcome.problem:
        problem = data.get("problem")
        if not problem:
            raise InvalidInput("describe the problem to open its ticket",
                               details=field_error("problem", "Required when the outcome is problem."))
        asset = session.get(Asset, visit.asset_id)
        site = session.get(Site, asset.site_id)
        ticket = open_ticket({"customer_id": site.customer_id, "site_id": site.id, "asset_id": asset.id,
                              "channel": "phone", "category": problem.get("category", "repair"),
                              "priority": problem.get("priority", "normal"), "summary": problem["summary"],
                              "description": problem.get("description")})
        session.flush()
        call.ticket_id = visit.ticket_id = ticket.id
    if outcome in (CallOutcome.call_back, CallOutcome.unreachable):
        back = data.get("call_back_on") or (now.date() + timedelta(days=1))
        if back <= now.date() - timedelta(days=1):
            raise InvalidInput("the call-back day is in the past",
                               details=field_error("call_back_on", "Must be today or later."))
        call.call_back_on = visit.next_call_on = back
    else:
        visit.status = ReturnVisitStatus.done
    visit.outcome = outcome
    session.add(call)
    session.flush()
    return call


def remind(session: Session, *, day: date, now: datetime) -> int:
    """Queue a return-visit reminder for each customer with a call due on
    ``day`` (once per visit: a reminder already queued is not repeated).
    Returns how many were queued."""
    from server.customers.models import Customer
    from server.notifications.models import Audience, Notification
    from server.notifications.outbox import notify

    due = session.execute(
        select(ReturnVisit, Asset, Customer).join(Asset, Asset.id == ReturnVisit.asset_id)
        .join(Site, Site.id == Asset.site_id).join(Customer, Customer.id == Site.customer_id)
        .where(ReturnVisit.status == ReturnVisitStatus.due, ReturnVisit.next_call_on == day)).all()
    if not due:
        return 0
    told = set(session.scalars(select(Notification.ref_id).where(
        Notification.kind == "return_visit.reminder", Notification.ref_type == "return_visit",
        Notification.ref_id.in_([v.id for v, _, _ in due]))))
    queued = 0
    for visit, asset, customer in due:
        if visit.id in told or not (customer.email or customer.phone):
            continue
        notify(session, kind="return_visit.reminder", audience=Audience.customer,
               subject=f"回访提醒 · {asset.model}",
               body=(f"{customer.contact_name or customer.name}，您好：我们的客服今天将致电回访您的 {asset.model}"
                     f"（序列号 {asset.serial_number}）的使用情况。如有问题也可随时联系我们。"),
               payload={"customer_id": str(customer.id), "phone": customer.phone, "asset_id": str(asset.id),
                        "due_on": day.isoformat()},
               email=customer.email, ref=("return_visit", visit.id), now=now)
        queued += 1
    return queued
