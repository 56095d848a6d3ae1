"""A small database-backed task queue for slow media work (thumbnails).

Tasks are rows in ``media_tasks`` added in the same transaction as the change
that needs them (an outbox): if that transaction rolls back, the task never
existed; once it commits, the worker sees it. The worker reloads its data by
id, runs each task in its own transaction, retries failures with backoff and
gives up after ``MAX_ATTEMPTS`` (the error stays on the row).

Run it with ``flask media-worker``; tests call :func:`run_pending` directly.
On PostgreSQL several workers share the queue (``FOR UPDATE SKIP LOCKED``);
SQLite serialises writers anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from media.models import MediaTask
from server.db import utcnow

logger = logging.getLogger("fieldsync.media.tasks")
MAX_ATTEMPTS = 5
_handlers: dict[str, Callable] = {}


def register(kind: str, handler: Callable) -> None:
    """``handler(session, storage, settings, blob_sha256, now)``."""
    _handlers[kind] = handler


def enqueue(session: Session, kind: str, blob_sha256: str, *, now: datetime) -> None:
    """Queue a task in the caller's transaction (no-op if one is already pending)."""
    pending = session.scalar(select(MediaTask.id).where(MediaTask.kind == kind, MediaTask.blob_sha256 == blob_sha256,
                                                        MediaTask.done_at.is_(None)))
    if pending is None:
        session.add(MediaTask(kind=kind, blob_sha256=blob_sha256, created_at=now, run_after=now))


def _claim(session: Session, now: datetime) -> MediaTask | None:
    stmt = (select(MediaTask).where(MediaTask.done_at.is_(None), MediaTask.run_after <= now)
            .order_by(MediaTask.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def run_pending(session: Session, storage, settings, *, limit: int = 100, now: Callable[[], datetime] = utcnow) -> int:
    """Run up to ``limit`` due tasks, one transaction each; returns how many ran."""
    ran = 0
    while ran < limit:
        task = _claim(session, now())
        if task is None:
            session.rollback()
            break
        task_id, kind, sha = task.id, task.kind, task.blob_sha256
        try:
            _handlers[kind](session, storage, settings, sha, now())
            task.done_at = now()
            session.commit()
        except Exception as exc:  # a task failure must never stop the worker
            session.rollback()
            logger.warning("media task failed", extra={"fields": {"task": task_id, "kind": kind, "error": str(exc)}})
            task = session.get(MediaTask, task_id)
            task.attempts += 1
            task.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if task.attempts >= MAX_ATTEMPTS:
                task.done_at = now()  # given up; last_error says why
            else:
                task.run_after = now() + timedelta(seconds=2 ** task.attempts)
            session.commit()
        ran += 1
    return ran
