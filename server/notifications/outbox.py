"""Writing notifications into the outbox, in the caller's transaction (so a
notification exists exactly when its cause was committed). Never commits;
delivery is ``server.notifications.delivery``'s work, later and elsewhere."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.notifications.models import Audience, Channel, Delivery, Notification, WebhookEndpoint


def wants(endpoint_kinds: list, kind: str) -> bool:
    """Whether an endpoint subscribed to ``kind``: by exact name or by a prefix ending in a dot."""
    if not endpoint_kinds:
        return True
    return any(kind == k or (k.endswith(".") and kind.startswith(k)) for k in endpoint_kinds)


def notify(session: Session, *, kind: str, audience: Audience, subject: str, body: str, now: datetime,
           payload: dict | None = None, email: str | None = None, ref: tuple[str, uuid.UUID] | None = None,
           email_managers: bool | None = None) -> Notification:
    """Put a notification in the outbox with one delivery per target: the
    customer's email address (when given), the managers' addresses (for the
    manager audience; resolved when sent, from NOTIFY_MANAGER_EMAILS) and every
    active webhook endpoint that subscribed to its kind."""
    note = Notification(id=uuid.uuid4(), kind=kind, audience=audience, subject=subject, body=body,
                        payload=payload or {}, ref_type=ref[0] if ref else None, ref_id=ref[1] if ref else None,
                        created_at=now)
    session.add(note)
    if email:
        note.deliveries.append(Delivery(channel=Channel.email, address=email, next_attempt_at=now, created_at=now))
    if email_managers if email_managers is not None else audience is Audience.manager:
        # address None: "the managers", looked up when it is sent (so a changed list applies to what waits).
        note.deliveries.append(Delivery(channel=Channel.email, address=None, next_attempt_at=now, created_at=now))
    for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))):
        if wants(endpoint.kinds or [], kind):
            note.deliveries.append(Delivery(channel=Channel.webhook, endpoint_id=endpoint.id, next_attempt_at=now,
                                            created_at=now))
    return note


def notify_event(session: Session, *, kind: str, subject: str, payload: dict, now: datetime,
                 ref: tuple[str, uuid.UUID] | None = None) -> Notification | None:
    """A system event (ticket or job changed) for a company's other systems:
    webhooks only, and only when some endpoint wants it (no empty rows)."""
    endpoints = [e for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
                 if wants(e.kinds or [], kind)]
    if not endpoints:
        return None
    return notify(session, kind=kind, audience=Audience.system, subject=subject, body=subject, payload=payload,
                  now=now, ref=ref, email_managers=False)
