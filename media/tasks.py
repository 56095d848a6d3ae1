"""A small database-backed task queue for slow media work (thumbnails).

Tasks are rows in ``media_tasks`` added in the same transaction as the change
that needs them (an outbox): if that transaction rolls back, the task never
existed; once it commits, the worker sees it. The worker reloads its data by
the blob's hash.

The slow part of a task runs with no transaction open, so it holds no lock
(SQLite's single write lock above all): the worker claims a task with a
lease (``run_after`` pushed ahead, in a short transaction), works, then
records the result in another short transaction. A worker that dies
mid-task leaves a lease that simply runs out, and the task is tried again.
Failures are retried with backoff, up to ``MAX_ATTEMPTS`` (the error stays on
the row). On PostgreSQL several workers share the queue (``FOR UPDATE SKIP
LOCKED`` while claiming); SQLite serialises the claims.

Run it with ``flask media-worker``; tests call :func:`run_pending` directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from media.models import MediaTask
from server.db import utcnow

logger = logging.getLogger("fieldsync.media.tasks")
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class TaskHandler:
    """``prepare(session, sha256)`` reads what the work needs (None: nothing to
    do); ``work(storage, settings, sha256, prepared)`` runs outside any
    transaction; ``done(session, sha256, prepared, now)`` records the result."""

    prepare: Callable[[Session, str], Any]
    work: Callable[..., Any]
    done: Callable[[Session, str, Any, datetime], None]


_handlers: dict[str, TaskHandler] = {}


def register(kind: str, handler: TaskHandler) -> None:
    _handlers[kind] = handler


def enqueue(session: Session, kind: str, blob_sha256: str, *, now: datetime) -> None:
    """Queue a task in the caller's transaction (no-op if one is already pending)."""
    pending = session.scalar(select(MediaTask.id).where(MediaTask.kind == kind, MediaTask.blob_sha256 == blob_sha256,
                                                        MediaTask.done_at.is_(None)))
    if pending is None:
        session.add(MediaTask(kind=kind, blob_sha256=blob_sha256, created_at=now, run_after=now))


def queue_state(session: Session, now: datetime) -> tuple[int, float | None]:
    """Tasks not done yet, and how long the oldest has waited (seconds; None when none wait)."""
    from sqlalchemy import func

    pending, oldest = session.execute(select(func.count(), func.min(MediaTask.created_at))
                                      .where(MediaTask.done_at.is_(None))).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return pending, (None if oldest is None else max(0.0, (now - oldest).total_seconds()))


def _claim(session: Session, now: datetime) -> MediaTask | None:
    stmt = (select(MediaTask).where(MediaTask.done_at.is_(None), MediaTask.run_after <= now)
            .order_by(MediaTask.run_after, MediaTask.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    task = session.scalar(stmt)
    if task is not None:
        task.attempts += 1
        task.run_after = now + LEASE
    return task


def run_pending(session: Session, storage, settings, *, limit: int = 100, now: Callable[[], datetime] = utcnow) -> int:
    """Run up to ``limit`` due tasks; returns how many were tried."""
    ran = 0
    while ran < limit:
        task = _claim(session, now())
        if task is None:
            session.rollback()
            break
        task_id, kind, sha = task.id, task.kind, task.blob_sha256
        try:
            handler = _handlers[kind]
            prepared = handler.prepare(session, sha)
            session.commit()  # the claim is saved and no lock is held while working
            if prepared is not None:
                handler.work(storage, settings, sha, prepared)
                handler.done(session, sha, prepared, now())
            session.get(MediaTask, task_id).done_at = now()
            session.commit()
        except Exception as exc:  # a task failure must never stop the worker
            session.rollback()
            logger.warning("media task failed", extra={"fields": {"task": task_id, "kind": kind, "error": str(exc)}})
            task = session.get(MediaTask, task_id)
            task.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if task.attempts >= MAX_ATTEMPTS:
                task.done_at = now()  # given up; last_error says why
            else:
                task.run_after = now() + timedelta(seconds=2 ** task.attempts)
            session.commit()
        ran += 1
    return ran
