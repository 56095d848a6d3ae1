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


def test_read_only_transactions_take_no_write_lock_on_sqlite(app, backend):
    """``reads_only``: the transaction begins DEFERRED, so another connection may write meanwhile;
    any other transaction begins IMMEDIATE and holds the write lock to its end."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    import sqlite3

    from server.database import reads_only

    db.session.commit()

    def other_can_write() -> bool:
        other = sqlite3.connect(db.engine.url.database, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return False
        finally:
            other.close()

    with reads_only():
        assert db.session.scalar(text("SELECT count(*) FROM sync_counter")) is not None
        assert other_can_write()
        db.session.rollback()
    assert db.session.scalar(text("SELECT count(*) FROM sync_counter")) is not None
    assert not other_can_write()
    db.session.rollback()
