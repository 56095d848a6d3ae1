"""Per-connection engine settings on SQLite: the pragmas durability and integrity rest on."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.database import SQLITE_MMAP_BYTES
from server.extensions import db


def test_every_sqlite_connection_gets_its_pragmas(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    assert db.session.scalar(text("PRAGMA journal_mode")) == "wal"
    assert db.session.scalar(text("PRAGMA synchronous")) == 2  # FULL: a commit survives power loss
    assert db.session.scalar(text("PRAGMA foreign_keys")) == 1
    assert db.session.scalar(text("PRAGMA busy_timeout")) == 10000
    assert db.session.scalar(text("PRAGMA cache_size")) == -64 * 1024  # SQLITE_CACHE_MIB, in KiB
    assert db.session.scalar(text("PRAGMA mmap_size")) == SQLITE_MMAP_BYTES  # reads in place from the page cache
