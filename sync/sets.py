"""``column IN (many values)`` with ONE bound parameter.

A batch's or a scope's ids run to thousands. Rendered as one placeholder each,
SQLAlchemy re-expands the statement on every execution and psycopg re-parses
a text of thousands of placeholders; with one array (PostgreSQL) or one JSON
text (SQLite) the statement text stays the same, so it is compiled, parsed
and prepared once."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

_JSON_SCALARS = (str, int)


def in_set(session: Session, column, values):
    """``column IN (values)``: on PostgreSQL ``column = ANY(:array)``, on SQLite
    ``column IN (SELECT value FROM json_each(:json))`` over the values in their
    stored form. Same rows as a plain ``IN``."""
    values = list(values)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    if dialect.name == "sqlite":
        process = column.type._cached_bind_processor(dialect)
        stored = [process(v) for v in values] if process is not None else values
        if all(type(v) in _JSON_SCALARS for v in stored):
            each = func.json_each(bindparam(None, orjson.dumps(stored).decode(), type_=String()))
            return column.in_(select(literal_column("value")).select_from(each))
    return column.in_(values)


def valid_uuids(texts) -> list[uuid.UUID]:
    """The valid UUIDs among these texts (others cannot name a record)."""
    out = []
    for text in texts:
        if text is None:
            continue
        try:
            out.append(text if isinstance(text, uuid.UUID) else uuid.UUID(str(text)))
        except (TypeError, ValueError):
            continue
    return out
