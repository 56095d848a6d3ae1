"""Small helpers the domain modules share for editing records. Never commit.

They raise :mod:`server.exceptions` errors whose ``details["fields"]`` name the
offending input, so that the API answers with per-field messages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput, NotFound


def field_error(field: str, message: str) -> dict:
    return {"fields": {"json": {field: [message]}}}


def get_or_404(session: Session, model, record_id, what: str):
    obj = session.get(model, record_id)
    if obj is None:
        raise NotFound(f"no such {what}")
    return obj


def referenced(session: Session, model, record_id, field: str, what: str):
    """A record named by an input field: unknown ids are the caller's mistake (422), not a 404."""
    obj = session.get(model, record_id) if record_id is not None else None
    if obj is None:
        raise InvalidInput(f"unknown {what}", code="unknown_reference", details=field_error(field, f"Unknown {what}."))
    return obj


def ensure_unique(session: Session, column, value, *, field: str, exclude_id=None) -> None:
    """Refuse a value another record already holds (checked before the insert,
    so the client gets a clear 409 naming the field)."""
    model = column.class_
    stmt = select(model.id).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise Conflict(f"{field} {value!r} is already taken", code="duplicate",
                       details=field_error(field, "Already taken."))


def update_record(obj, data: dict) -> bool:
    """Set the given attributes; bump ``version`` (the sync's edit counter) when
    anything actually changed. Returns whether it did."""
    changed = False
    for name, value in data.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    if changed and hasattr(obj, "version"):
        obj.version += 1
    return changed


def flush_or_conflict(session: Session, message: str) -> None:
    """Flush, turning a constraint the checks above could not see (a race
    between two writers) into a 409 instead of a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(message, code="constraint_violation") from exc
