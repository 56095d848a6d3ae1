"""Pull: time and peak memory, on the server, for a technician's first sync of
a 5,000-record scope and for an incremental pull of 100 changes, on SQLite
and PostgreSQL. Server side = the engine's pull plus encoding the JSON body
(what a request spends past authentication); over HTTP is shown beside it.
Baseline from the same run: a plain ``SELECT`` of the same rows, no scope,
no change log.

    .venv/bin/python bench/bench_sync_pull.py     # + PostgreSQL when TEST_DATABASE_URL/BENCH_DATABASE_URL is set

Bounded: BENCH_RUNS runs per figure (default 7; the median is printed).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc

from _sync_common import migrated_app, scratch_urls

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
JOBS = 400  # each brings its ticket, customer, site and asset: 2,000 records
PARTS = 2000
LEVELS = 1000  # van stock levels (parts on the van)


def seed(app):
    from server.accounts.models import Role, User
    from server.customers.models import Asset, Customer, Site
    from server.db import utcnow
    from server.extensions import db
    from server.jobs.models import Job
    from server.stock.models import LocationKind, Part, StockLevel, StockLocation
    from server.technicians.models import Technician
    from server.tickets.models import Ticket

    with app.app_context():
        office = User(username="office", display_name="Office", password_hash="!", role=Role.dispatcher)  # noqa: S106
        user = User(username="tech", display_name="Tech", password_hash="!", role=Role.technician)  # noqa: S106
        van = StockLocation(code="VAN", name="Van", kind=LocationKind.van, latitude=31.2, longitude=121.4)
        db.session.add_all([office, user, van])
        db.session.flush()
        tech = Technician(user_id=user.id, name="Tech", home_latitude=31.2, home_longitude=121.4,
                          van_location_id=van.id)
        db.session.add(tech)
        db.session.flush()
        now = utcnow()
        for n in range(JOBS):
            customer = Customer(name=f"Customer {n}", address="1 Road", phone="123")
            db.session.add(customer)
            db.session.flush()
            site = Site(customer_id=customer.id, name="Plant", address="2 Road", city="Shanghai",
                        latitude=31.2, longitude=121.4)
            db.session.add(site)
            db.session.flush()
            asset = Asset(site_id=site.id, product_line="chiller", model="CH-200", serial_number=f"SN-{n}")
            db.session.add(asset)
            db.session.flush()
            ticket = Ticket(reference=f"T-{n}", customer_id=customer.id, site_id=site.id, asset_id=asset.id,
                            channel="phone", category="repair", summary="Unit not cooling", owner_id=office.id,
                            received_at=now, response_due_at=now, on_site_due_at=now, resolve_due_at=now)
            db.session.add(ticket)
            db.session.flush()
            db.session.add(Job(ticket_id=ticket.id, technician_id=tech.id, instructions="Call before arriving"))
        parts = [Part(part_number=f"P-{n:05d}", name=f"Part {n}", unit_cost=9.5) for n in range(PARTS)]
        db.session.add_all(parts)
        db.session.flush()
        db.session.add_all(StockLevel(location_id=van.id, part_id=p.id, on_hand=3, reserved=0)
                           for p in parts[:LEVELS])
        db.session.commit()
        return tech.id


def _measure(fn) -> tuple[float, int]:
    """Median time (tracing off: it slows Python down) and peak memory (a separate traced run)."""
    milliseconds = _timed(fn)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return milliseconds, peak


def _timed(fn) -> float:
    times = []
    for n in range(RUNS + 1):
        started = time.perf_counter()
        fn()
        if n:
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    print(f"pull benchmark: scope of {JOBS * 5 + PARTS + LEVELS:,} records; median of {RUNS} runs")
    for name, url in scratch_urls():
        run_one(name, url)


def run_one(name: str, url: str) -> None:
    app = migrated_app(url)
    technician_id = seed(app)
    from sqlalchemy import select

    from server.extensions import db
    from server.jobs.models import Job
    from server.stock.models import Part
    from sync.pull import pull

    with app.app_context():
        session = db.session

        def first_sync():
            page = pull(session, technician_id=technician_id, device_id=None, cursor=None, limit=10_000)
            body = page.encode()  # as the handler does
            session.rollback()
            assert not page.has_more and len(page.changes) == JOBS * 5 + PARTS + LEVELS, len(page.changes)
            return page, body

        page, _ = first_sync()
        cursor = page.next_cursor
        first_ms, first_peak = _measure(first_sync)
        # A long-running worker's heap is mostly long-lived objects that the
        # cyclic GC rescans on every full collection; gc.freeze() after
        # start-up (gunicorn: in post_fork) takes them out of its way.
        gc.collect()
        gc.freeze()
        frozen_ms = _timed(first_sync)
        gc.unfreeze()

        def plain_select():
            rows = session.execute(select(Part)).all() + session.execute(select(Job)).all()
            session.rollback()
            return rows

        plain_ms = _timed(plain_select)

        jobs = session.scalars(select(Job).limit(100)).all()
        for job in jobs:
            job.priority = "high"
        session.commit()

        def incremental():
            got = pull(session, technician_id=technician_id, device_id=None, cursor=cursor, limit=1000)
            got.encode()
            session.rollback()
            assert len(got.changes) == 100, len(got.changes)

        incremental_ms, incremental_peak = _measure(incremental)

        # Over HTTP (in-process WSGI, real auth and JSON): what a device sees minus the network.
        from server.accounts.models import AuthToken, Device, User
        from server.accounts.service import token_digest
        from server.db import utcnow

        user = session.scalar(select(User).where(User.username == "tech"))
        device = Device(user_id=user.id, device_key="bench")
        session.add(device)
        session.flush()
        session.add(AuthToken(token_hash=token_digest("bench-token"), user_id=user.id, device_id=device.id,
                              expires_at=utcnow().replace(year=utcnow().year + 1)))
        session.commit()
        client = app.test_client()
        headers = {"Authorization": "Bearer bench-token"}

        def over_http():
            response = client.get("/api/v1/sync/pull", query_string={"protocol": 1, "limit": 10_000},
                                  headers=headers)
            assert response.status_code == 200
            return response

        http_ms = _timed(over_http)
        db.engine.dispose()

    print(f"\n[{name}]")
    print(f"  first sync, {JOBS * 5 + PARTS + LEVELS:,} records (server side)   {first_ms:8.1f} ms   "
          f"peak {first_peak / 1e6:6.1f} MB   (target: <= 150 ms)")
    print(f"  first sync, same, after gc.freeze()              {frozen_ms:8.1f} ms")
    print(f"  first sync over HTTP (in-process WSGI)           {http_ms:8.1f} ms")
    print(f"  incremental pull, 100 changes                    {incremental_ms:8.1f} ms   "
          f"peak {incremental_peak / 1e6:6.1f} MB")
    print(f"  baseline: plain SELECT of parts and jobs rows    {plain_ms:8.1f} ms")


if __name__ == "__main__":
    main()
