"""The monthly report over a year of a 500-technician company (generated data).

Builds, in a temporary SQLite database migrated to head, a year of work:
500 technicians, 2,000 customers with sites in 30 cities, ~120,000 tickets
(20 per technician per month), a visit or two per ticket, parts on a third of the
jobs, expenses on half. Then, for one month, measures

* ``statistics.monthly`` per total, per region and per technician (every figure
  and its drill-down sets), and
* a plain SQL baseline over the same rows: GROUP BY queries for the figures
  plain SQL can make directly (counts by channel and category, the three clocks'
  attainment, mean time to repair, first-time fix, trips, person-days, parts and
  expense sums), per region,

with wall time (median of --repeat runs) and peak Python memory (tracemalloc),
checks that both agree on the figures they share, and prints the ratio.

    .venv/bin/python bench/bench_monthly_report.py                    # full size
    .venv/bin/python bench/bench_monthly_report.py --technicians 100  # quicker
    .venv/bin/python bench/bench_monthly_report.py --database-url postgresql://postgres@127.0.0.1:5432/bench_x

With ``--database-url`` (PostgreSQL) the run uses that database instead of a
temporary SQLite file: its ``public`` schema is DROPPED and rebuilt by the
migrations, so give it a scratch database. The baseline's SQL is written for
each engine (julianday/date on SQLite, extract(epoch)/AT TIME ZONE on PostgreSQL).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics as stats
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import create_app  # noqa: E402
from server.extensions import db  # noqa: E402
from server.reports import statistics  # noqa: E402

CITIES = ["上海", "北京", "广州", "深圳", "成都", "重庆", "武汉", "西安", "南京", "杭州", "天津", "苏州", "郑州",
          "长沙", "沈阳", "青岛", "宁波", "东莞", "无锡", "佛山", "合肥", "大连", "福州", "厦门", "哈尔滨", "济南",
          "温州", "南宁", "长春", "昆明"]
CHANNELS = ["phone", "phone", "phone", "letter", "visit", "email", "app"]
CATEGORIES = ["repair", "repair", "repair", "maintenance", "installation", "complaint"]
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC) - timedelta(hours=8)  # 1 Dec 2025 00:00 in Shanghai
MONTH = "2026-06"
TZ = "Asia/Shanghai"
RATE = 80.0


def build(app, technicians: int, per_month: int, seed: int = 15) -> dict:
    from flask_migrate import upgrade

    rng = random.Random(seed)
    counts: dict[str, int] = {}
    with app.app_context():
        upgrade()
        t = db.metadata.tables
        conn = db.session.connection()

        def put(name, rows):
            if rows:
                conn.execute(t[name].insert(), rows)
                counts[name] = counts.get(name, 0) + len(rows)

        owner = uuid.uuid4()
        put("users", [{"id": owner, "username": "boss", "display_name": "经理", "password_hash": "x",
                       "role": "dispatcher"}])
        users = [{"id": uuid.uuid4(), "username": f"tech{i:04d}", "display_name": f"技术员{i}", "password_hash": "x",
                  "role": "technician"} for i in range(technicians)]
        put("users", users)
        techs = [{"id": uuid.uuid4(), "user_id": u["id"], "name": f"技术员{i:04d}", "home_latitude": 31.2,
                  "home_longitude": 121.4} for i, u in enumerate(users)]
        put("technicians", techs)
        customers = [{"id": uuid.uuid4(), "name": f"客户{i:05d}"} for i in range(technicians * 4)]
        put("customers", customers)
        sites = [{"id": uuid.uuid4(), "customer_id": c["id"], "name": "主楼", "address": "地址",
                  "city": rng.choice(CITIES)} for c in customers]
        put("sites", sites)
        assets = [{"id": uuid.uuid4(), "site_id": s["id"], "product_line": "chiller", "model": "CH-200",
                   "serial_number": f"SN{i:07d}"} for i, s in enumerate(sites * 2)]
        put("assets", assets)
        parts = [{"id": uuid.uuid4(), "part_number": f"P-{i:04d}", "name": f"零件{i}",
                  "unit_cost": rng.choice([20.0, 55.5, 120.0, 800.0])} for i in range(200)]
        put("parts", parts)
        site_of_asset = {a["id"]: a["site_id"] for a in assets}
        customer_of_site = {s["id"]: s["customer_id"] for s in sites}
        n = 0
        for month in range(12):
            tickets, jobs, usages, expenses = [], [], [], []
            base = YEAR_START + timedelta(days=30.4 * month)
            for _ in range(technicians * per_month):
                n += 1
                asset = rng.choice(assets)["id"]
                site = site_of_asset[asset]
                received = base + timedelta(minutes=rng.randrange(30 * 24 * 60))
                responded = received + timedelta(minutes=rng.randint(5, 200))
                on_site = received + timedelta(hours=rng.uniform(2, 36))
                resolved = on_site + timedelta(hours=rng.uniform(1, 60)) if rng.random() < 0.95 else None
                tid = uuid.uuid4()
                tickets.append({"id": tid, "reference": f"T{n:08d}", "customer_id": customer_of_site[site],
                                "site_id": site, "asset_id": asset, "channel": rng.choice(CHANNELS),
                                "category": (cat := rng.choice(CATEGORIES)),
                                "complaint_class": rng.choice(["quality", "non_quality", "other"])
                                if cat == "complaint" else None,
                                "priority": "normal", "summary": "故障", "owner_id": owner,
                                "status": "resolved" if resolved else "dispatched", "received_at": received,
                                "response_due_at": received + timedelta(hours=2), "responded_at": responded,
                                "on_site_due_at": received + timedelta(hours=24), "on_site_at": on_site,
                                "resolve_due_at": received + timedelta(hours=72), "resolved_at": resolved})
                tech = rng.choice(techs)["id"]
                for visit in range(1 if rng.random() < 0.8 else 2):
                    arrived = on_site + timedelta(hours=30 * visit)
                    jid = uuid.uuid4()
                    last = resolved is not None and visit == 0
                    jobs.append({"id": jid, "ticket_id": tid, "technician_id": tech,
                                 "status": "completed" if resolved else "incomplete", "arrived_at": arrived,
                                 "departed_at": arrived + timedelta(hours=rng.uniform(0.5, 6)),
                                 "completed_at": resolved if last else None,
                                 "customer_rating": rng.choice(["satisfied", "satisfied", "acceptable",
                                                                "dissatisfied", "very_poor"]) if last else None})
                    if rng.random() < 0.33:
                        usages.append({"id": uuid.uuid4(), "job_id": jid, "part_id": rng.choice(parts)["id"],
                                       "quantity": rng.randint(1, 3), "under_warranty": rng.random() < 0.6})
                    if rng.random() < 0.5:
                        expenses.append({"id": uuid.uuid4(), "job_id": jid,
                                         "kind": rng.choice(["travel", "travel", "transport", "meals"]),
                                         "amount": round(rng.uniform(10, 400), 2),
                                         "travel_minutes": rng.randint(10, 120), "incurred_at": arrived,
                                         "recorded_at": arrived})
            put("tickets", tickets)
            put("jobs", jobs)
            put("part_usages", usages)
            put("job_expenses", expenses)
        db.session.commit()
    return counts


# Engine-specific pieces of the baseline's SQL: hours between two times, and a time's local (Shanghai) day.
DIALECT_SQL = {
    "sqlite": {"hours": "((julianday({b}) - julianday({a})) * 24)", "day": "date({a}, '+8 hours')",
               "key": "{a} || {b}"},
    "postgresql": {"hours": "(extract(epoch FROM ({b} - {a})) / 3600.0)",
                   "day": "CAST(({a} AT TIME ZONE 'Asia/Shanghai') AS date)",
                   "key": "CAST({a} AS text) || CAST({b} AS text)"},
}


def baseline_sql(dialect: str) -> dict[str, str]:
    d = DIALECT_SQL[dialect]

    def hours(a, b):
        return d["hours"].format(a=a, b=b)

    return {name: sql.replace("{HOURS_RECEIVED_RESOLVED}", hours("t.received_at", "t.resolved_at"))
            .replace("{HOURS_ON_SITE}", hours("j.arrived_at", "j.departed_at"))
            .replace("{TECH_DAY}", d["key"].format(a="j.technician_id", b=d["day"].format(a="j.arrived_at")))
            .replace("{MAX}", "max" if dialect == "sqlite" else "greatest")
            for name, sql in BASELINE_SQL.items()}


BASELINE_SQL = {
    # the month's bounds are bound as :start/:end (UTC); local day = UTC + 8 h (Shanghai has no DST)
    "received": """
        SELECT s.city, t.channel, t.category, count(*) AS n,
               sum(CASE WHEN t.responded_at IS NOT NULL AND t.responded_at <= t.response_due_at THEN 1 ELSE 0 END),
               sum(CASE WHEN t.responded_at IS NOT NULL OR t.response_due_at <= :now THEN 1 ELSE 0 END),
               sum(CASE WHEN t.on_site_at IS NOT NULL AND t.on_site_at <= t.on_site_due_at THEN 1 ELSE 0 END),
               sum(CASE WHEN t.on_site_at IS NOT NULL OR t.on_site_due_at <= :now THEN 1 ELSE 0 END),
               sum(CASE WHEN t.resolved_at IS NOT NULL AND t.resolved_at <= t.resolve_due_at THEN 1 ELSE 0 END),
               sum(CASE WHEN t.resolved_at IS NOT NULL OR t.resolve_due_at <= :now THEN 1 ELSE 0 END)
        FROM tickets t JOIN sites s ON s.id = t.site_id
        WHERE t.received_at >= :start AND t.received_at < :end GROUP BY s.city, t.channel, t.category""",
    "resolved": """
        SELECT s.city, count(*), avg({HOURS_RECEIVED_RESOLVED}),
               sum(CASE WHEN v.n = 1 THEN 1 ELSE 0 END), sum(CASE WHEN v.n >= 1 THEN 1 ELSE 0 END)
        FROM tickets t JOIN sites s ON s.id = t.site_id
        LEFT JOIN (SELECT ticket_id, count(*) AS n FROM jobs WHERE arrived_at IS NOT NULL AND status != 'cancelled'
                   GROUP BY ticket_id) v ON v.ticket_id = t.id
        WHERE t.resolved_at >= :start AND t.resolved_at < :end GROUP BY s.city""",
    "trips": """
        SELECT s.city, CASE WHEN t.category = 'installation' THEN 'installation' ELSE 'service' END AS kind,
               count(*), count(DISTINCT {TECH_DAY}),
               sum({MAX}({HOURS_ON_SITE}, 0))
        FROM jobs j JOIN tickets t ON t.id = j.ticket_id JOIN sites s ON s.id = t.site_id
        WHERE j.arrived_at >= :start AND j.arrived_at < :end AND j.status != 'cancelled' GROUP BY s.city, kind""",
    "parts": """
        SELECT s.city, u.under_warranty, sum(u.quantity * coalesce(p.unit_cost, 0))
        FROM part_usages u JOIN jobs j ON j.id = u.job_id JOIN parts p ON p.id = u.part_id
        JOIN tickets t ON t.id = j.ticket_id JOIN sites s ON s.id = t.site_id
        WHERE j.completed_at >= :start AND j.completed_at < :end GROUP BY s.city, u.under_warranty""",
    "expenses": """
        SELECT s.city, e.kind, sum(e.amount), sum(coalesce(e.travel_minutes, 0))
        FROM job_expenses e JOIN jobs j ON j.id = e.job_id JOIN tickets t ON t.id = j.ticket_id
        JOIN sites s ON s.id = t.site_id
        WHERE e.incurred_at >= :start AND e.incurred_at < :end GROUP BY s.city, e.kind""",
}


def baseline(conn, start, end, now) -> dict:
    dialect = conn.dialect.name
    if dialect == "sqlite":  # stored naive in UTC there
        params = {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None),
                  "now": now.replace(tzinfo=None)}
    else:  # timestamptz
        params = {"start": start, "end": end, "now": now}
    out = {name: conn.execute(sa.text(sql), params).all() for name, sql in baseline_sql(dialect).items()}
    received: dict[str, int] = {}
    for row in out["received"]:
        received[row[0]] = received.get(row[0], 0) + row[3]
    parts: dict[str, float] = {}
    for city, _warranty, cost in out["parts"]:
        parts[city] = parts.get(city, 0) + (cost or 0)
    return {"received": received, "parts": parts}


def measure(fn, repeat: int):
    """Median wall time of ``repeat`` runs, then one more run under tracemalloc for the peak
    (tracing slows Python several times over, so it is kept out of the timed runs)."""
    times, value = [], None
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - began)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return stats.median(times), peak, value


def fresh_postgres(url: str) -> None:
    """An empty public schema (with PostGIS when the server has it), as the tests make one."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
        if connection.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")):
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--technicians", type=int, default=500)
    parser.add_argument("--per-month", type=int, default=20, help="tickets per technician per month")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (its public schema is dropped)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if url.startswith("postgresql"):
            fresh_postgres(url)
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "LOG_LEVEL": "WARNING", "MEDIA_ROOT": f"{tmp}/media"})
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0].split('+')[0]}, "
              f"{args.technicians} technicians, {args.per_month} tickets each a month, repeat {args.repeat}")
        began = time.perf_counter()
        counts = build(app, args.technicians, args.per_month)
        print(f"built in {time.perf_counter() - began:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        now = datetime(2026, 12, 6, tzinfo=UTC)
        start, end = statistics.month_bounds(MONTH, TZ)
        with app.app_context():
            session = db.session
            for by in statistics.GROUPINGS:
                ours_t, ours_mem, result = measure(lambda by=by: statistics.monthly(
                    session, MONTH, tz=TZ, by=by, now=now, labour_cost_per_hour=RATE), args.repeat)
                print(f"monthly by {by:<10} {ours_t * 1000:8.1f} ms  peak {ours_mem / 2**20:6.1f} MiB  "
                      f"({len(result['groups'])} groups)")
                if by == "region":
                    region_result, region_t, region_mem = result, ours_t, ours_mem
                session.rollback()
            base_t, base_mem, base = measure(lambda: baseline(session.connection(), start.astimezone(UTC),
                                                              end.astimezone(UTC), now), args.repeat)
            session.rollback()
            print(f"plain SQL baseline   {base_t * 1000:8.1f} ms  peak {base_mem / 2**20:6.1f} MiB  (per region)")
            print(f"ratio (monthly by region / plain SQL): time x{region_t / base_t:.2f}, "
                  f"memory x{region_mem / max(base_mem, 1):.2f}")
            ours = {g["label"]: g["figures"] for g in region_result["groups"]}
            mismatched = [city for city, n in base["received"].items() if ours[city]["tickets_received"] != n]
            parts = {city: f["parts_cost_warranty"] + f["parts_cost_chargeable"] for city, f in ours.items()}
            mismatched += [city for city, cost in base["parts"].items() if abs(parts[city] - cost) > 0.05]
            print("figures shared with the baseline agree" if not mismatched else f"MISMATCH in {mismatched}")
            sys.exit(1 if mismatched else 0)


if __name__ == "__main__":
    main()
