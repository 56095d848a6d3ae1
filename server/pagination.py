"""Keyset pagination over any SQLAlchemy select: stable under inserts, and
as fast on page 1,000 as on page 1 (no OFFSET)."""

from __future__ import annotations

import base64
import enum
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from server.exceptions import InvalidInput


@dataclass
class Page:
    items: list
    next_cursor: str | None
    has_more: bool


def _encode_value(value: Any):
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if hasattr(value, "value"):  # enums
        return ["s", value.value]
    return ["v", value]


def _decode_value(tagged):
    tag, raw = tagged
    if tag == "dt":
        return datetime.fromisoformat(raw)
    if tag == "d":
        return date.fromisoformat(raw)
    if tag == "u":
        return uuid.UUID(raw)
    if tag not in ("s", "v"):
        raise ValueError(tag)
    return raw


def encode_cursor(values: list) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = [_decode_value(v) for v in json.loads(base64.urlsafe_b64decode(padded))]
    except (ValueError, TypeError, KeyError):
        values = None
    if not values or len(values) != expected:
        raise InvalidInput("the cursor is not one this API gave out", code="invalid_cursor",
                           details={"fields": {"query": {"cursor": ["Invalid cursor."]}}})
    return values


def _typed(columns: list, values: list) -> list:
    """Check a decoded cursor's values against the columns' types: a forged
    cursor is the client's mistake (422), never a database error (500)."""
    typed = []
    for column, value in zip(columns, values, strict=True):
        try:
            expected = column.type.python_type
        except NotImplementedError:
            try:  # a TypeDecorator (UTCDateTime): the type it stores
                expected = column.type.impl.python_type
            except (AttributeError, NotImplementedError):
                expected = None
        try:
            if expected is None:
                _check_bindable(value)
                typed.append(value)
                continue
            if value is None or isinstance(value, bool) != (expected is bool):
                raise TypeError
            if isinstance(expected, type) and issubclass(expected, enum.Enum):
                value = expected(value)
            elif expected is float and isinstance(value, int):
                value = float(value)
            elif not isinstance(value, expected):
                raise TypeError
            if isinstance(value, datetime) and value.tzinfo is None:
                raise TypeError
            _check_bindable(value)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput("the cursor is not one this API gave out", code="invalid_cursor",
                               details={"fields": {"query": {"cursor": ["Invalid cursor."]}}}) from None
        typed.append(value)
    return typed


def _check_bindable(value) -> None:
    """Refuse values no database column can hold, which the driver would
    otherwise turn into a 500: integers past 64 bits, NaN, NUL characters,
    times that overflow when moved to UTC."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2 ** 63) <= value < 2 ** 63:
        raise ValueError
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError
    if isinstance(value, str) and "\x00" in value:
        raise ValueError
    if isinstance(value, datetime) and not 1970 <= value.astimezone(UTC).year <= 2200:
        raise ValueError


def paginate(session: Session, stmt: Select, *, order_by: list, limit: int, cursor: str | None,
             descending: bool = False) -> Page:
    """Page through ``stmt`` ordered by ``order_by`` (columns; the last must be
    unique, e.g. the primary key). Rows must be single entities."""
    if cursor:
        after = _typed(order_by, decode_cursor(cursor, len(order_by)))
        stmt = stmt.where(_after(order_by, after, descending))
    ordering = [c.desc() if descending else c.asc() for c in order_by]
    rows = session.scalars(stmt.order_by(*ordering).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, c.key) for c in order_by])
    return Page(items=rows, next_cursor=next_cursor, has_more=has_more)


def _after(columns: list, values: list, descending: bool):
    """(a, b, c) > (x, y, z) spelt out, since not every engine has row values."""
    clauses = []
    for i, column in enumerate(columns):
        equal_before = [columns[j] == values[j] for j in range(i)]
        step = column < values[i] if descending else column > values[i]
        clauses.append(and_(*equal_before, step))
    return or_(*clauses)
