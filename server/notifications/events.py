"""What the rest of FieldSync tells the outbox, in the transaction of the
cause: one function per event, so the wording and payloads live in one place.
Plain functions over a session; never commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from server.notifications.models import Audience
from server.notifications.outbox import notify, notify_event

CLOCK_ZH = {"response": "响应", "on_site": "到场", "resolve": "解决"}


def _ticket_payload(ticket) -> dict:
    return {"ticket_id": str(ticket.id), "reference": ticket.reference, "status": ticket.status.value,
            "category": ticket.category.value, "priority": getattr(ticket.priority, "value", ticket.priority),
            "customer_id": str(ticket.customer_id), "owner_id": str(ticket.owner_id),
            "escalation_level": ticket.escalation_level}


def ticket_opened(session: Session, ticket, *, now: datetime) -> None:
    notify_event(session, kind="ticket.opened", subject=f"工单 {ticket.reference} 已受理",
                 payload=_ticket_payload(ticket), now=now, ref=("ticket", ticket.id))


def ticket_status_changed(session: Session, ticket, from_status: str, *, now: datetime) -> None:
    notify_event(session, kind="ticket.status_changed",
                 subject=f"工单 {ticket.reference}: {from_status} → {ticket.status.value}",
                 payload={**_ticket_payload(ticket), "from_status": from_status}, now=now, ref=("ticket", ticket.id))


def clock_breached(session: Session, ticket, missed: list[str], *, now: datetime) -> None:
    """To the managers (email and webhooks), and as a ticket event."""
    names = "、".join(CLOCK_ZH.get(m, m) for m in missed)
    customer = ticket.customer
    notify(session, kind="ticket.clock_breach", audience=Audience.manager,
           subject=f"超时预警 · {ticket.reference} · {names}",
           body=(f"工单 {ticket.reference}（{customer.name if customer else ''}）{names}时限已超。\n"
                 f"{ticket.summary}"),
           payload={**_ticket_payload(ticket), "missed": missed}, ref=("ticket", ticket.id), now=now)


def job_assigned(session: Session, job, ticket, technician, *, now: datetime) -> None:
    """The customer hears when to expect the technician; other systems hear of the job."""
    customer = ticket.customer
    when = job.planned_start
    payload = {"job_id": str(job.id), "ticket_id": str(ticket.id), "reference": ticket.reference,
               "technician": technician.name, "planned_start": when.isoformat() if when else None,
               "customer_id": str(ticket.customer_id), "phone": customer.phone if customer else None}
    if customer is not None and (customer.email or customer.phone):
        from server.i18n import DEFAULT_TIMEZONE, format_time

        notify(session, kind="job.appointment", audience=Audience.customer,
               subject=f"服务预约 · {ticket.reference}",
               body=(f"{customer.contact_name or customer.name}，您好：您报修的「{ticket.summary}」已安排技术员"
                     f"{technician.name}上门，预计到达时间 "
                     f"{format_time(when, DEFAULT_TIMEZONE) if when else '另行通知'}。"),
               payload=payload, email=customer.email, ref=("job", job.id), now=now)
    notify_event(session, kind="job.assigned", subject=f"工单 {ticket.reference} 已派工", payload=payload, now=now,
                 ref=("job", job.id))


def signing_link(session: Session, job, ticket, url: str, *, now: datetime) -> None:
    customer = ticket.customer
    if customer is None or not (customer.email or customer.phone):
        return
    notify(session, kind="signing.link", audience=Audience.customer, subject=f"请签收作业报告 · {ticket.reference}",
           body=(f"{customer.contact_name or customer.name}，您好：请打开以下链接查看并签收作业报告"
                 f"（仅可使用一次）：\n{url}"),
           payload={"url": url, "job_id": str(job.id), "customer_id": str(customer.id), "phone": customer.phone},
           email=customer.email, ref=("job", job.id), now=now)


def jobs_changed(session: Session, rows: list[dict], *, now: datetime) -> None:
    """Job status changes a sync push wrote: for other systems (webhooks), and
    the customer hears when the technician sets off (en route: the ETA)."""
    for row in rows:
        status = getattr(row.get("status"), "value", row.get("status"))
        notify_event(session, kind="job.status_changed", subject=f"作业 {row['id']} → {status}",
                     payload={"job_id": str(row["id"]), "ticket_id": str(row.get("ticket_id")), "status": status,
                              "technician_id": str(row.get("technician_id"))}, now=now, ref=("job", row["id"]))
        if status == "en_route":
            _on_the_way(session, row, now=now)


def _on_the_way(session: Session, row: dict, *, now: datetime) -> None:
    from server.jobs.models import Job

    job_id = row["id"] if isinstance(row["id"], uuid.UUID) else uuid.UUID(str(row["id"]))
    job = session.get(Job, job_id)
    ticket = job.ticket if job else None
    customer = ticket.customer if ticket else None
    if customer is None or not (customer.email or customer.phone):
        return
    from server.i18n import DEFAULT_TIMEZONE, format_time

    eta = job.planned_start if job.planned_start and job.planned_start > now else None
    name = job.technician.name if job.technician else "技术员"
    notify(session, kind="job.eta", audience=Audience.customer, subject=f"技术员已出发 · {ticket.reference}",
           body=(f"{customer.contact_name or customer.name}，您好：技术员{name}已出发前往贵处"
                 + (f"，预计 {format_time(eta, DEFAULT_TIMEZONE)} 到达。" if eta else "，请保持电话畅通。")),
           payload={"job_id": str(job.id), "ticket_id": str(ticket.id), "technician": name,
                    "eta": eta.isoformat() if eta else None, "phone": customer.phone},
           email=customer.email, ref=("job", job.id), now=now)
