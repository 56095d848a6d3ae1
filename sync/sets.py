"""``column IN (many values)`` with ONE bound parameter.

A batch's or a scope's ids run to thousands. Rendered as one placeholder each,
SQLAlchemy re-expands the statement on every execution and psycopg re-parses
a text of thousands of placeholders; with one array (PostgreSQL) or one JSON
text (SQLite) the statement text stays the same, so it is compiled, parsed
and prepared once."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import String, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

_JSON_SCALARS = (str, int)


def in_set(session: Session, column, values):
    """``column IN (values)``: on PostgreSQL ``column IN (SELECT unnest(:array))``, on SQLite
    ``column IN (SELECT value FROM json_each(:json))`` over the values in their
    stored form. Same rows as a plain ``IN``."""
    values = list(values)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        # ``IN (SELECT unnest(:array))``, a semi-join, rather than ``= ANY(:array)``:
        # once psycopg prepares the statement, PostgreSQL may keep a generic
        # plan made while the table was small, a sequential scan comparing
        # every row with every element in turn (no hashing for a parameter);
        # a semi-join is hashed or probes the index, whatever the plan.
        literal = _array_literal(values)
        if literal is not None:
            # The array as ONE text parameter of the column's array type: psycopg
            # would otherwise adapt the list element by element, in Python, with
            # a regular expression per string. Typed as the array itself, not as
            # text cast to it: a cast could be re-run for every row scanned.
            array = bindparam(None, literal, type_=_ArrayText(column.type))
        else:
            array = bindparam(None, values, type_=postgresql.ARRAY(column.type))
        return column.in_(select(func.unnest(array)).scalar_subquery())
    if dialect.name == "sqlite":
        process = column.type._cached_bind_processor(dialect)
        stored = [process(v) for v in values] if process is not None else values
        if all(type(v) in _JSON_SCALARS for v in stored):
            each = func.json_each(bindparam(None, orjson.dumps(stored).decode(), type_=String()))
            return column.in_(select(literal_column("value")).select_from(each))
    return column.in_(values)


class _ArrayText(UserDefinedType):
    """A parameter holding an array's text form, bound as ``%(p)s::<type>[]``
    (psycopg sends a ``str`` untyped, so the server reads it as the array)."""

    cache_ok = True
    render_bind_cast = True

    def __init__(self, item_type):
        self.item_type = item_type

    def get_col_spec(self, **kw):
        return f"{self.item_type.compile(dialect=postgresql.dialect())}[]"

    def bind_processor(self, dialect):
        return None


def _array_literal(values: list) -> str | None:
    """PostgreSQL's text form of a one-dimensional array of UUIDs or strings
    (``{"a","b"}``, each string quoted and escaped); None for other values."""
    if all(type(v) is uuid.UUID for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    if all(type(v) is str for v in values):
        return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
    return None


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
