"""Reconciliation over a large ledger: time, peak memory and query plans.

Loads BENCH_MOVEMENTS (default 1,000,000) stock movements set-wise (one
INSERT ... SELECT, no Python loop) into scratch databases of its own — a
temporary SQLite file, and a PostgreSQL database ``<name>_bench_stock`` next
to BENCH_DATABASE_URL or TEST_DATABASE_URL when one is set — then times:

* the reconciliation of one van for a week and for a quarter,
* the summary across all locations for a week and for a quarter,

each with its peak Python memory (tracemalloc), and prints the query plans of
the ledger queries to show they use the indexes. The baseline, measured in
the same run, is the naive opening balance: summing the location's whole
history before the period, which our report avoids (it reads the current
figure minus the movements since the period's start).

    .venv/bin/python bench/bench_reconciliation.py
    BENCH_MOVEMENTS=200000 BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python bench/...
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from _sync_common import scratch_postgres_url  # noqa: E402

MOVEMENTS = int(os.environ.get("BENCH_MOVEMENTS", "1000000"))
WAREHOUSES, VANS, PARTS = 10, 90, 300
START = datetime(2025, 11, 1, tzinfo=UTC)
SECONDS_APART = 365 * 86400 // max(MOVEMENTS, 1)  # one year of ledger
PERIOD_WEEK = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))
PERIOD_QUARTER = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))

# kind, sign, condition by g % 20: vans mostly consume; warehouses receive and issue.
KIND_CASE = """CASE g % 20
    WHEN 0 THEN 'received' WHEN 1 THEN 'received'
    WHEN 2 THEN 'issued_out' WHEN 3 THEN 'issued_out'
    WHEN 4 THEN 'issued_in' WHEN 5 THEN 'issued_in' WHEN 6 THEN 'issued_in'
    WHEN 7 THEN 'transfer_out' WHEN 8 THEN 'transfer_in'
    WHEN 9 THEN 'returned' WHEN 10 THEN 'returned'
    WHEN 19 THEN 'adjusted'
    ELSE 'consumed' END"""
SIGN_CASE = "CASE WHEN g % 20 IN (0, 1, 4, 5, 6, 8, 9) THEN 1 WHEN g % 20 = 19 AND g % 3 = 0 THEN 1 ELSE -1 END"


def build(app) -> dict:
    """Schema by the real migrations, then the ledger set-wise."""
    from flask_migrate import upgrade

    from server.extensions import db
    from server.stock.models import LocationKind, Part, StockLocation

    upgrade()
    dialect = db.engine.dialect.name
    for i in range(WAREHOUSES + VANS):
        kind = LocationKind.regional_warehouse if i < WAREHOUSES else LocationKind.van
        db.session.add(StockLocation(code=f"L{i:04d}", name=f"Location {i}", kind=kind,
                                     latitude=30 + i * 0.01, longitude=120 + i * 0.01))
    for i in range(PARTS):
        db.session.add(Part(part_number=f"P{i:05d}", name=f"Part {i}", unit_cost=float(5 + i % 50)))
    db.session.commit()

    t0 = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(sa.text("CREATE TEMP TABLE bench_locs AS SELECT id, "
                                   "row_number() OVER (ORDER BY code) - 1 AS idx FROM stock_locations"))
        connection.execute(sa.text("CREATE TEMP TABLE bench_parts AS SELECT id, "
                                   "row_number() OVER (ORDER BY part_number) - 1 AS idx FROM parts"))
        if dialect == "postgresql":
            series = "SELECT generate_series(1, CAST(:n AS bigint)) AS g"
            at = f"CAST(:start AS timestamptz) + g * interval '{SECONDS_APART} seconds'"
        else:
            series = ("WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n) "
                      "SELECT g FROM seq")
            at = (f"strftime('%Y-%m-%d %H:%M:%S', :start, '+' || (g * {SECONDS_APART}) || ' seconds')"
                  " || '.000000'")
        # Warehouse-ish kinds land on warehouses, the rest on vans.
        location_index = (f"CASE WHEN g % 20 IN (0, 1, 2, 3) THEN g % {WAREHOUSES} "
                          f"ELSE {WAREHOUSES} + (g / 7) % {VANS} END")
        # The f-strings below splice in this module's constants only, never input.
        load = f"""
            INSERT INTO stock_movements (kind, location_id, part_id, quantity, at, condition)
            SELECT {KIND_CASE}, l.id, p.id, ({SIGN_CASE}) * (1 + g % 3), {at}, 'good'
            FROM ({series}) s
            JOIN bench_locs l ON l.idx = {location_index}
            JOIN bench_parts p ON p.idx = (g * 7919) % {PARTS}
        """  # noqa: S608
        start = START.strftime("%Y-%m-%d %H:%M:%S") if dialect == "sqlite" else START
        connection.execute(sa.text(load), {"n": MOVEMENTS, "start": start})
        loaded = time.perf_counter() - t0
        connection.execute(sa.text("""
            INSERT INTO stock_levels (location_id, part_id, on_hand, reserved, in_transit, defective)
            SELECT location_id, part_id, SUM(quantity), 0, 0, 0 FROM stock_movements GROUP BY location_id, part_id
        """))
        new_id = "gen_random_uuid()" if dialect == "postgresql" else "lower(hex(randomblob(16)))"
        discrepancies = f"""
            INSERT INTO stock_discrepancies (id, kind, status, location_id, part_id, quantity, movement_id,
                                             detected_at)
            SELECT {new_id}, 'count_difference', 'open', location_id, part_id, quantity, id, at
            FROM stock_movements WHERE kind = 'adjusted'
        """  # noqa: S608
        connection.execute(sa.text(discrepancies))
        connection.execute(sa.text("ANALYZE"))
    return {"dialect": dialect, "load_seconds": loaded, "total_seconds": time.perf_counter() - t0}


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed, peak


def plans(app, fn) -> list[tuple[str, str]]:
    """Run ``fn`` capturing its SQL on stock_movements, then EXPLAIN each statement."""
    from server.extensions import db

    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "stock_movements" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    dialect = db.engine.dialect.name
    out = []
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in captured:
            prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
            cursor.execute(prefix + statement, parameters)
            rows = cursor.fetchall()
            text = "\n".join(" | ".join(str(c) for c in row[-1:]) if dialect == "sqlite" else str(row[0])
                             for row in rows)
            out.append((" ".join(statement.split())[:110], text))
        cursor.close()
    finally:
        raw.close()
    return out


def run(database_url: str) -> None:
    from server import create_app
    from server.extensions import db
    from server.stock import reconciliation
    from server.stock.models import StockLocation, StockMovement

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        info = build(app)
        count = db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement))
        print(f"\n== {info['dialect']}: {count:,} movements loaded set-wise in {info['load_seconds']:.1f} s "
              f"(with levels, discrepancies and ANALYZE: {info['total_seconds']:.1f} s)")
        van = db.session.scalar(sa.select(StockLocation).where(StockLocation.code == f"L{WAREHOUSES + 1:04d}"))

        def baseline(period):
            start, _ = period
            return db.session.execute(
                sa.select(StockMovement.part_id, sa.func.sum(StockMovement.quantity))
                .where(StockMovement.location_id == van.id, StockMovement.at < start)
                .group_by(StockMovement.part_id)).all()

        for label, period in (("week", PERIOD_WEEK), ("quarter", PERIOD_QUARTER)):
            report, seconds, peak = measure(lambda p=period: reconciliation.reconcile_location(
                db.session, location_id=van.id, start=p[0], end=p[1]))
            db.session.rollback()
            _, base_seconds, _ = measure(lambda p=period: baseline(p))
            db.session.rollback()
            n = db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement).where(
                StockMovement.location_id == van.id, StockMovement.at >= period[0], StockMovement.at < period[1]))
            print(f"one van, {label:7s}: {seconds * 1000:8.1f} ms, peak {peak / 1e6:6.2f} MB, "
                  f"{n:,} movements in period, {len(report['lines'])} part lines, "
                  f"{len(report['discrepancies'])} discrepancies | baseline (opening from whole history) "
                  f"{base_seconds * 1000:.1f} ms, ratio report/baseline {seconds / base_seconds:.2f}")
        for label, period in (("week", PERIOD_WEEK), ("quarter", PERIOD_QUARTER)):
            summary, seconds, peak = measure(lambda p=period: reconciliation.reconciliation_summary(
                db.session, start=p[0], end=p[1], limit=20))
            db.session.rollback()
            top = summary["locations"][0]
            print(f"all locations, {label:7s}: {seconds * 1000:8.1f} ms, peak {peak / 1e6:6.2f} MB, "
                  f"{len(summary['locations'])} locations ranked; largest {top['code']} "
                  f"({top['discrepancy_value']:.2f})")

        print("query plans (reconciliation of one van, then the summary):")
        for fn in (lambda: reconciliation.reconcile_location(db.session, location_id=van.id, start=PERIOD_WEEK[0],
                                                             end=PERIOD_WEEK[1]),
                   lambda: reconciliation.reconciliation_summary(db.session, start=PERIOD_WEEK[0],
                                                                 end=PERIOD_WEEK[1])):
            for statement, plan in plans(app, fn):
                uses_index = "ix_stock_movements" in plan or "pk_stock_movements" in plan
                print(f"  -- {statement}...\n     index used: {uses_index}")
                for line in plan.splitlines():
                    print(f"     {line}")
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    print(f"bench_reconciliation: {MOVEMENTS:,} movements, {WAREHOUSES} warehouses, {VANS} vans, {PARTS} parts")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}")
    url = scratch_postgres_url("bench_stock")
    if url:
        run(url)
    else:
        print("PostgreSQL: set BENCH_DATABASE_URL or TEST_DATABASE_URL to include it")


if __name__ == "__main__":
    main()
