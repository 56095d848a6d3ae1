"""Idempotency keys for office writes that create things (``Idempotency-Key``).

A warehouse clerk's browser or a dispatcher's script that retries a POST after
a lost answer must not create a second transfer, receipt or ticket. The client
sends a key of its own making; the first request with it claims the key *in
the same transaction as its effects*, and its answer is kept, so a retry gets
that answer again instead of running twice. Shaped after the IETF draft "The
Idempotency-Key HTTP Header Field": the same key with another request is 422,
a retry while the first is still running is 409.

Keys are per user and kept for ``IDEMPOTENCY_KEY_TTL_HOURS``; each claim
clears that user's expired keys, so the table stays small without a job.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.db import Base, UTCDateTime
from server.exceptions import Conflict, InvalidInput

KEY_MAX_LENGTH = 255


class IdempotencyKey(Base):
    """A claimed key: the request it was claimed for and, once answered, the answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_user_created", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    # What the key was used for: a second request under it must be the same one.
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The answer, recorded right after the effects commit.
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    location: str | None
    body: bytes


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def valid_key(key: str) -> bool:
    """A key is 1-255 visible ASCII characters (a UUID is the usual choice)."""
    return 0 < len(key) <= KEY_MAX_LENGTH and all(33 <= ord(c) <= 126 for c in key)


def claim(session: Session, *, user_id: uuid.UUID, key: str, method: str, path: str, request_fingerprint: str,
          now: datetime, ttl: timedelta) -> Answer | None:
    """Claim ``key`` for this request inside the caller's transaction, or find
    the answer it already had.

    Returns None when claimed: the caller runs the request and commits; the
    claim commits with its effects or not at all. Returns the kept
    :class:`Answer` for a retry of a finished request. Raises 422
    ``idempotency_key_reused`` for the same key with another request, 409
    ``request_in_progress`` while the first is unanswered.
    """
    cutoff = now - ttl
    existing = _find(session, user_id, key, cutoff)
    if existing is None:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                     IdempotencyKey.created_at < cutoff))
        try:
            with session.begin_nested():
                session.add(IdempotencyKey(user_id=user_id, key=key, method=method, path=path,
                                           fingerprint=request_fingerprint, created_at=now))
            return None
        except IntegrityError:
            # Another request claimed it first and has committed meanwhile.
            existing = _find(session, user_id, key, cutoff)
            if existing is None:
                raise Conflict("a request with this Idempotency-Key is still running; retry shortly",
                               code="request_in_progress") from None
    if (existing.method, existing.path, existing.fingerprint) != (method, path, request_fingerprint):
        raise InvalidInput("this Idempotency-Key was used for another request; make a new key per request",
                           code="idempotency_key_reused")
    if existing.status is None:
        raise Conflict("a request with this Idempotency-Key is still running; retry shortly",
                       code="request_in_progress")
    return Answer(existing.status, existing.content_type, existing.location, existing.body or b"")


def record_answer(session: Session, *, user_id: uuid.UUID, key: str, answer: Answer) -> None:
    """Keep the answer of a claimed request (its effects have committed)."""
    row = session.get(IdempotencyKey, (user_id, key))
    if row is not None:
        row.status, row.content_type, row.location, row.body = (answer.status, answer.content_type,
                                                                answer.location, answer.body)


def _find(session: Session, user_id: uuid.UUID, key: str, cutoff: datetime) -> IdempotencyKey | None:
    return session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                       IdempotencyKey.key == key,
                                                       IdempotencyKey.created_at >= cutoff))
