"""``server.bulk``: the one-parameter ``IN`` finds exactly the rows a plain
``IN`` finds, and a compiled :class:`~server.bulk.CompiledQuery` returns exactly what
``Connection.execute`` returns, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import bindparam, select

from server.bulk import CompiledQuery, bulk_insert, bulk_update, in_param, in_set
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job, JobStatus, PartUsage
from server.stock.models import Part
from server.technicians.models import Technician
from sync.models import SyncChange
from tests import factories

AWKWARD = ["plain", "with,comma", 'with"quote', "with\\backslash", "{braces}", "with space", " lead", "NULL",
           "零部件", "a'b"]


def test_strings_that_need_quoting_match_as_with_a_plain_in(app):
    for number in AWKWARD:
        factories.part(part_number=number)
    factories.part(part_number="not-asked-for")
    table = Part.__table__
    asked = [*AWKWARD, "absent"]
    got = set(db.session.scalars(select(table.c.part_number).where(in_set(db.session, table.c.part_number, asked))))
    plain = set(db.session.scalars(select(table.c.part_number).where(table.c.part_number.in_(asked))))
    assert got == plain == set(AWKWARD)


def test_uuids_and_the_empty_set(app):
    parts = [factories.part() for _ in range(3)]
    table = Part.__table__
    asked = [parts[0].id, str(parts[2].id), uuid.uuid4()]  # UUIDs or their text
    got = set(db.session.scalars(select(table.c.id).where(in_set(db.session, table.c.id, asked))))
    assert got == {parts[0].id, parts[2].id}
    assert list(db.session.scalars(select(table.c.id).where(in_set(db.session, table.c.id, [])))) == []


# ---- CompiledQuery: a statement compiled once, run as plain SQL -----------------------------

def _jobs_by_id(dialect):
    table = Job.__table__
    return (select(table).where(in_param(table.c.id, "ids", dialect), table.c.priority != "never")
            .order_by(table.c.id).with_for_update())


JOBS_BY_ID = CompiledQuery(_jobs_by_id)


def test_a_query_returns_what_connection_execute_returns(app):
    jobs = [factories.job(arrived_at=utcnow(), work_done="修好了") for _ in range(3)]
    jobs[0].status = JobStatus.on_site
    db.session.commit()
    connection = db.session.connection()
    asked = [jobs[0].id, jobs[2].id, uuid.uuid4()]
    table = Job.__table__
    plain = [tuple(row) for row in connection.execute(
        select(table).where(table.c.id.in_(asked)).order_by(table.c.id))]
    for _ in range(2):  # compiled once, run again
        got = JOBS_BY_ID.rows(connection, ids=asked)
        assert got == plain
    assert {row[0] for row in got} == {jobs[0].id, jobs[2].id}
    assert any(isinstance(value, JobStatus) for value in got[0])
    assert JOBS_BY_ID.rows(connection, ids=[]) == []


CHANGES = CompiledQuery(lambda dialect: select(SyncChange.__table__.c.record_id, SyncChange.__table__.c.field_versions,
                                       SyncChange.__table__.c.changed_at)
                .where(SyncChange.__table__.c.table_name == bindparam("table"),
                       in_param(SyncChange.__table__.c.record_id, "ids", dialect)))


def test_json_and_datetimes_come_back_as_from_the_orm(app):
    job = factories.job()
    db.session.commit()
    connection = db.session.connection()
    got = CHANGES.rows(connection, table="jobs", ids=[str(job.id), "not-there"])
    table = SyncChange.__table__
    plain = [tuple(row) for row in connection.execute(
        select(table.c.record_id, table.c.field_versions, table.c.changed_at)
        .where(table.c.table_name == "jobs", table.c.record_id == str(job.id)))]
    assert got == plain and len(got) == 1
    assert isinstance(got[0][1], dict) and got[0][2].tzinfo is not None


def test_a_compiled_update_applies_the_columns_python_side_defaults(app):
    tech = factories.technician()
    db.session.commit()
    before = tech.updated_at
    table = Technician.__table__
    move = CompiledQuery(lambda dialect: table.update().where(table.c.id == bindparam("id")).values(
        last_latitude=bindparam("latitude"), version=table.c.version + 1))
    move.run(db.session.connection(), id=tech.id, latitude=22.5)
    db.session.commit()
    db.session.refresh(tech)
    assert tech.last_latitude == 22.5 and tech.version == 2
    assert tech.updated_at > before  # onupdate=utcnow, made at the run as an execution would


def test_floats_and_booleans_come_back_as_from_the_orm(app):
    factories.part(unit_cost=12.5, serialised=True)
    factories.part(unit_cost=None)
    db.session.commit()
    table = Part.__table__
    columns = (table.c.part_number, table.c.unit_cost, table.c.serialised)
    got = CompiledQuery(lambda dialect: select(*columns).order_by(table.c.part_number)).rows(db.session.connection())
    assert got == [tuple(row) for row in db.session.connection().execute(select(*columns).order_by(
        table.c.part_number))]
    assert {type(row[2]) for row in got} == {bool}


@pytest.mark.parametrize("size", [2, 12])  # one UPDATE per row; on PostgreSQL from 8 rows, one statement
def test_bulk_update_sets_each_rows_values(app, size):
    parts = [factories.part(unit_cost=1.0) for _ in range(size + 1)]
    db.session.commit()
    before = {p.id: p.updated_at for p in parts}
    changed = parts[:size]
    rows = [{"id": p.id if n % 2 else str(p.id), "unit_cost": None if n == 0 else float(n)}  # a UUID or its text
            for n, p in enumerate(changed)]
    bulk_update(db.session.connection(), Part.__table__, rows)
    db.session.commit()
    db.session.expire_all()
    now = {p.id: (p.unit_cost, p.updated_at) for p in db.session.scalars(select(Part))}
    assert [now[p.id][0] for p in changed] == [None, *[float(n) for n in range(1, size)]]
    assert now[parts[-1].id][0] == 1.0 and now[parts[-1].id][1] == before[parts[-1].id]  # untouched
    assert all(now[p.id][1] > before[p.id] for p in changed)  # onupdate=utcnow applied


@pytest.mark.parametrize("size", [3, 12])  # PostgreSQL: from 8 rows through COPY's text format
def test_bulk_insert_writes_values_as_given(app, size):
    names = ["tab\there", "new\nline", "back\\slash", "cr\rreturn", '"quoted"', "零部件 上海", "\\N", "", " "]
    now = utcnow()
    rows = [{"id": uuid.uuid4() if n % 2 else str(uuid.uuid4()), "part_number": f"BULK-{n}",
             "name": names[n % len(names)], "unit": "pcs", "serialised": n % 3 == 0,
             "unit_cost": None if n % 4 == 0 else n + 0.25, "version": n + 1, "created_at": now, "updated_at": now}
            for n in range(size)]
    bulk_insert(db.session.connection(), Part.__table__, rows)
    db.session.commit()
    got = {p.part_number: p for p in db.session.scalars(select(Part))}
    for row in rows:
        part = got[row["part_number"]]
        assert (str(part.id), part.name, part.serialised, part.unit_cost, part.version, part.created_at) == (
            str(row["id"]), row["name"], row["serialised"], row["unit_cost"], row["version"], now)


@pytest.mark.parametrize("size", [3, 12])
def test_bulk_insert_writes_json_as_given(app, size):
    job = factories.job()
    db.session.commit()
    part = factories.part()
    db.session.commit()
    serials = [[], ["SN-1", 'quo"te', "tab\tnew\nline", "零"], ["back\\slash"]]
    rows = [{"id": uuid.uuid4(), "job_id": job.id, "part_id": part.id, "quantity": 1,
             "serial_numbers": serials[n % len(serials)], "location_id": None, "under_warranty": False,
             "recorded_at": None, "created_at": utcnow()} for n in range(size)]
    bulk_insert(db.session.connection(), PartUsage.__table__, rows)
    db.session.commit()
    got = {u.id: u.serial_numbers for u in db.session.scalars(select(PartUsage))}
    assert got == {row["id"]: row["serial_numbers"] for row in rows}
