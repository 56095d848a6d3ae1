"""Keep the demo's clocks believable on any day it is started: move every
stored time forward by the time that passed since the data's "now" (its
``as_of``), so open tickets are as fresh, and as late, as when they were
seeded. Dates (warranties, certifications, contracts, leave) move by the same
number of whole days.

Only a database holding :class:`DemoState` (written by ``seed-demo``) is ever
touched. Devices that synced before a rebase should sync from scratch: the
change log is not rewritten.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.db import UTCDateTime
from server.demo.models import DemoState
from server.extensions import db
from server.jobs.models import Job


def _time_columns(table: sa.Table) -> tuple[list[sa.Column], list[sa.Column]]:
    times = [c for c in table.columns if isinstance(c.type, UTCDateTime)]
    dates = [c for c in table.columns if isinstance(c.type, sa.Date) and not isinstance(c.type, sa.DateTime)]
    return times, dates


def rebase(session: Session, *, now: datetime) -> timedelta | None:
    """Shift the demo to ``now``; the shift made, or None when this is not a demo
    database. Rows are rewritten through their primary keys, so it works the same
    on SQLite and PostgreSQL."""
    state = session.get(DemoState, 1)
    if state is None:
        return None
    shift = now - state.as_of
    if shift <= timedelta(0):
        return timedelta(0)
    days = timedelta(days=shift.days + (1 if shift.seconds >= 12 * 3600 else 0))  # dates: nearest whole day
    session.flush()
    signed = _signatures_still_matching(session)
    for table in db.metadata.sorted_tables:
        if table.name == DemoState.__tablename__:
            continue
        times, dates = _time_columns(table)
        if not (times or dates):
            continue
        keys = list(table.primary_key.columns)
        rows = session.execute(sa.select(*keys, *times, *dates)).all()
        for row in rows:
            values = {}
            for column in times:
                value = row._mapping[column]
                if value is not None:
                    values[column.name] = value + shift
            for column in dates:
                value = row._mapping[column]
                if value is not None:
                    values[column.name] = value + days
            if values:
                session.execute(sa.update(table).where(*(k == row._mapping[k] for k in keys)).values(**values))
    state.as_of = now
    session.flush()
    session.expire_all()  # the rows were rewritten underneath the loaded objects
    _sign_again(session, signed)
    return shift


def _signatures_still_matching(session: Session) -> list:
    """The customers' signatures whose report is unchanged since signing. A signed report holds its
    arrival time, which the rebase moves: these are signed again over the moved report (and only these:
    a report edited after signing still shows what changed)."""
    from media.models import Signature
    from media.report import attested, canonical_report

    signed = []
    for signature in session.scalars(sa.select(Signature).where(Signature.report_snapshot.is_not(None))
                                     .order_by(Signature.id)):
        job = session.get(Job, signature.job_id)
        snapshot = signature.report_snapshot
        if attested(snapshot) == attested(canonical_report(session, job, snapshot.get("version", 2))):
            signed.append(signature.id)
    return signed


def _sign_again(session: Session, signature_ids: list) -> None:
    from media.models import Signature
    from media.report import canonical_report, report_sha256

    for signature_id in signature_ids:
        signature = session.get(Signature, signature_id)
        report = canonical_report(session, session.get(Job, signature.job_id),
                                  signature.report_snapshot.get("version", 2))
        signature.report_snapshot, signature.report_sha256 = report, report_sha256(report)
    session.flush()
