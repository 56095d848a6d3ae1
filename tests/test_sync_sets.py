"""``sync.sets.in_set``: the one-parameter ``IN`` finds exactly the rows a
plain ``IN`` finds, on both databases, whatever the values hold."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.extensions import db
from server.stock.models import Part
from sync.sets import in_set
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
    asked = [parts[0].id, parts[2].id, uuid.uuid4()]
    got = set(db.session.scalars(select(table.c.id).where(in_set(db.session, table.c.id, asked))))
    assert got == {parts[0].id, parts[2].id}
    assert list(db.session.scalars(select(table.c.id).where(in_set(db.session, table.c.id, [])))) == []
