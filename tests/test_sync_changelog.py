"""Every change to a syncable record reaches the change log, whoever makes it
and however: ORM, Core statements through a session, the ledger; versions
bump on every change."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, insert, select, update

from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job
from server.stock.ledger import record_movement
from server.stock.models import MovementKind, Part
from sync.models import SyncChange
from sync.pull import snapshot
from tests import factories as f


def _change(table: str, record_id) -> SyncChange | None:
    db.session.expire_all()
    return db.session.get(SyncChange, (table, str(record_id)))


def test_orm_edits_bump_the_version_and_log(app):
    job = f.job()
    before = _change("jobs", job.id).position
    job.instructions = "ring twice"
    db.session.commit()
    after = _change("jobs", job.id)
    assert db.session.get(Job, job.id).version == 2
    assert after.position > before and after.version == 2
    assert after.field_versions["instructions"][0] == 2


def test_core_statements_through_a_session_are_logged(app):
    tech, other = f.technician(), f.technician()
    ticket = f.ticket()
    job_id = uuid.uuid4()
    db.session.execute(insert(Job).values(id=job_id, ticket_id=ticket.id, technician_id=tech.id, status="assigned",
                                          priority="normal", version=1, created_at=utcnow(), updated_at=utcnow()))
    db.session.commit()
    assert _change("jobs", job_id) is not None
    assert ("customers", str(ticket.customer_id)) in snapshot(db.session, tech.id)  # the job brought its records
    db.session.execute(update(Job).where(Job.id == job_id).values(technician_id=other.id, version=Job.version + 1))
    db.session.commit()
    assert ("jobs", str(job_id)) not in snapshot(db.session, tech.id)
    assert ("jobs", str(job_id)) in snapshot(db.session, other.id)
    part = f.part()
    db.session.execute(delete(Part).where(Part.id == part.id))
    db.session.commit()
    assert _change("parts", part.id).deleted is True


def test_ledger_updates_of_van_stock_are_logged(app):
    tech = f.technician()
    part = f.part()
    record_movement(db.session, kind=MovementKind.issued_in, location_id=tech.van_location_id, part_id=part.id,
                    quantity=4, at=utcnow())
    db.session.commit()
    change = _change("stock_levels", f"{tech.van_location_id}:{part.id}")
    assert change is not None and change.scope_location == tech.van_location_id


def test_rolled_back_changes_are_not_logged(app):
    job = f.job()
    position = _change("jobs", job.id).position
    job.priority = "urgent"
    db.session.flush()
    db.session.rollback()
    assert _change("jobs", job.id).position == position
    assert db.session.scalar(select(SyncChange.version).where(SyncChange.record_id == str(job.id))) == 1


def test_backfill_logs_records_written_behind_the_sessions_back(app, runner):
    tech = f.technician()
    job = f.job(tech=tech)
    with db.engine.begin() as connection:  # not through a session: invisible to the hooks
        connection.execute(delete(SyncChange))
    assert snapshot(db.session, tech.id) == {}
    db.session.rollback()
    result = runner.invoke(args=["sync", "backfill"])
    assert result.exit_code == 0, result.output
    assert ("jobs", str(job.id)) in snapshot(db.session, tech.id)
    assert "logged" in runner.invoke(args=["sync", "backfill"]).output
