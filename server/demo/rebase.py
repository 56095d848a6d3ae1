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
    return shift
