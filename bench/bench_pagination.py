"""Keyset pagination against OFFSET, deep into a long list.

Builds a scratch SQLite database (or uses BENCH_DATABASE_URL) through the real
migrations, fills it with customers, then fetches a page at several depths
both ways. Prints milliseconds per page and the ratio OFFSET / keyset.

    .venv/bin/python bench/bench_pagination.py        # BENCH_ROWS=50000 by default
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from server import create_app  # noqa: E402
from server.customers.models import Customer  # noqa: E402
from server.db import utcnow  # noqa: E402
from server.extensions import db  # noqa: E402
from server.pagination import encode_cursor, paginate  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "50000"))
PAGE = 50
REPEATS = 5


def timed(fn) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    from flask_migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "MEDIA_ROOT": tmp})
        with app.app_context():
            upgrade()
            now = utcnow()
            rows = [{"id": uuid.uuid4(), "name": f"客户{i:07d}", "version": 1, "created_at": now, "updated_at": now}
                    for i in range(ROWS)]
            for start in range(0, ROWS, 5000):
                db.session.execute(insert(Customer), rows[start:start + 5000])
            db.session.commit()
            order = [Customer.name, Customer.id]
            ordered = db.session.execute(select(Customer.name, Customer.id).order_by(*order)).all()

            print(f"{ROWS} customers on {db.engine.dialect.name}; page of {PAGE}; median of {REPEATS} runs")
            print(f"{'depth':>8} {'keyset ms':>10} {'OFFSET ms':>10} {'ratio':>7}")
            for depth in (0, ROWS // 10, ROWS // 2, ROWS - PAGE - 1):
                cursor = encode_cursor(list(ordered[depth - 1])) if depth else None
                keyset = timed(lambda cursor=cursor: paginate(db.session, select(Customer), order_by=order,
                                                              limit=PAGE, cursor=cursor))
                offset = timed(lambda depth=depth: db.session.scalars(
                    select(Customer).order_by(*order).offset(depth).limit(PAGE + 1)).all())
                print(f"{depth:>8} {keyset:>10.2f} {offset:>10.2f} {offset / keyset:>6.1f}x")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
