"""Delivering the outbox: email over SMTP and signed webhooks, with retries
and back-off; every attempt logged. A failed attempt never loses the
notification: the delivery stays, to be tried again, and after the last try
it is marked failed (kept; the office can redeliver it). Never commits: the
worker (``flask notify-worker``) commits after each batch, so delivery is at
least once (a worker killed mid-batch sends that batch's successes again).

Webhook bodies are signed with the endpoint's secret:
``X-FieldSync-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``,
with ``X-FieldSync-Event`` (the kind), ``X-FieldSync-Delivery`` (the
delivery's id: receivers de-duplicate on it) and ``X-FieldSync-Timestamp``
(also inside the signed body, for receivers that refuse old messages)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus


@dataclass(frozen=True)
class DeliverySettings:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    sender: str = "FieldSync <noreply@localhost>"
    manager_emails: tuple[str, ...] = field(default_factory=tuple)
    max_attempts: int = 8
    backoff_seconds: float = 30
    backoff_cap_seconds: float = 6 * 3600
    timeout_seconds: float = 10

    @classmethod
    def from_config(cls, config) -> DeliverySettings:
        emails = config.get("NOTIFY_MANAGER_EMAILS") or ()
        if isinstance(emails, str):
            emails = tuple(a.strip() for a in emails.split(",") if a.strip())
        return cls(smtp_host=config["NOTIFY_SMTP_HOST"], smtp_port=int(config["NOTIFY_SMTP_PORT"]),
                   smtp_starttls=bool(config["NOTIFY_SMTP_STARTTLS"]), smtp_user=config.get("NOTIFY_SMTP_USER"),
                   smtp_password=config.get("NOTIFY_SMTP_PASSWORD"), sender=config["NOTIFY_FROM"],
                   manager_emails=tuple(emails), max_attempts=int(config["NOTIFY_MAX_ATTEMPTS"]),
                   backoff_seconds=float(config["NOTIFY_BACKOFF_SECONDS"]),
                   backoff_cap_seconds=float(config["NOTIFY_BACKOFF_CAP_SECONDS"]),
                   timeout_seconds=float(config["NOTIFY_TIMEOUT_SECONDS"]))


class DeliveryFailed(Exception):
    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


def backoff(settings: DeliverySettings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: doubling from the base, capped."""
    return timedelta(seconds=min(settings.backoff_cap_seconds, settings.backoff_seconds * 2 ** (attempts - 1)))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(delivery: Delivery, now: datetime) -> bytes:
    note = delivery.notification
    return json.dumps({"delivery_id": str(delivery.id), "notification_id": str(note.id), "kind": note.kind,
                       "audience": note.audience.value, "subject": note.subject, "body": note.body,
                       "payload": note.payload, "created_at": note.created_at.isoformat(),
                       "ref": {"type": note.ref_type, "id": str(note.ref_id) if note.ref_id else None},
                       "sent_at": now.isoformat()}, ensure_ascii=False, separators=(",", ":")).encode()


def _send_webhook(delivery: Delivery, settings: DeliverySettings, now: datetime) -> int:
    endpoint = delivery.endpoint
    if endpoint is None or not endpoint.active:
        raise DeliveryFailed("the webhook endpoint is gone or disabled")
    if not endpoint.url.startswith(("http://", "https://")):
        raise DeliveryFailed("the webhook URL is not http(s)")
    body = webhook_body(delivery, now)
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={  # noqa: S310 (http(s) only)
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "FieldSync-Webhook/1",
        "X-FieldSync-Event": delivery.notification.kind, "X-FieldSync-Delivery": str(delivery.id),
        "X-FieldSync-Timestamp": now.isoformat(), "X-FieldSync-Signature": sign(endpoint.secret, body)})
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}", status_code=exc.code) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None


def _send_email(delivery: Delivery, settings: DeliverySettings) -> None:
    to = [delivery.address] if delivery.address else list(settings.manager_emails)
    if not to:
        raise DeliveryFailed("no address: NOTIFY_MANAGER_EMAILS is empty")
    note = delivery.notification
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = note.subject, settings.sender, ", ".join(to)
    message["Message-ID"] = make_msgid(idstring=str(delivery.id))
    message["X-FieldSync-Delivery"] = str(delivery.id)
    message.set_content(note.body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None


def attempt(session: Session, delivery: Delivery, settings: DeliverySettings, *, now: datetime) -> bool:
    """Try one delivery once and record the outcome. Returns whether it got through."""
    status_code, error = None, None
    try:
        if delivery.channel is Channel.webhook:
            status_code = _send_webhook(delivery, settings, now)
        else:
            _send_email(delivery, settings)
    except DeliveryFailed as exc:
        status_code, error = exc.status_code, str(exc)[:2000]
    delivery.attempts += 1
    session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, ok=error is None, status_code=status_code,
                                error=error))
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.delivered, now, None
        return True
    delivery.last_error = error
    if delivery.attempts >= settings.max_attempts:
        delivery.status = DeliveryStatus.failed
    else:
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
    return False


def claim_due(session: Session, *, now: datetime, limit: int = 50) -> list[Delivery]:
    """Pending deliveries whose time has come, locked so that two workers never
    send the same one (PostgreSQL: SKIP LOCKED; SQLite has one writer anyway)."""
    return session.scalars(select(Delivery).where(Delivery.status == DeliveryStatus.pending,
                                                  Delivery.next_attempt_at <= now)
                           .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
                           .with_for_update(skip_locked=True)).all()


def deliver_due(session: Session, settings: DeliverySettings, *, now: datetime, limit: int = 50) -> dict:
    """One batch: every due delivery tried once. Returns counts."""
    sent = failed = 0
    for delivery in claim_due(session, now=now, limit=limit):
        if attempt(session, delivery, settings, now=now):
            sent += 1
        else:
            failed += 1
    session.flush()
    return {"delivered": sent, "failed": failed}


def redeliver(delivery: Delivery, *, now: datetime) -> Delivery:
    """Send again (a failed delivery, or a delivered one the receiver lost): its
    tries start over; the log keeps the earlier ones."""
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.pending, 0, now
    return delivery
