"""Reading one record through the caller's scope: what a principal may not
see answers 404, exactly as if it did not exist (no existence leaks)."""

from __future__ import annotations

from sqlalchemy import select

from server.api.security import current_principal
from server.exceptions import NotFound
from server.extensions import db


def visible_or_404(model, record_id, scope, what: str):
    stmt = select(model).where(model.id == record_id)
    if scope is not None:
        stmt = scope(stmt, current_principal())
    obj = db.session.scalar(stmt)
    if obj is None:
        raise NotFound(f"no such {what}")
    return obj


def like(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, with its wildcards taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
