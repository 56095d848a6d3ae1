"""客户360's service history: one call for the whole customer against the
per-asset way (each asset's visits, then each visit's signature), through the
real HTTP stack (Flask test client) on a scratch database.

Builds a customer with BENCH_ASSETS assets (default 25), 4 tickets each, every
ticket with 2 completed visits (a part used each, one signed). Prints
milliseconds and SQL statements per way, and the ratio per-asset / one call.

    .venv/bin/python bench/bench_customer_history.py   # BENCH_DATABASE_URL=postgresql://... to use PostgreSQL
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from server import create_app  # noqa: E402
from server.extensions import db  # noqa: E402

ASSETS = int(os.environ.get("BENCH_ASSETS", "25"))
TICKETS_PER_ASSET = 4
REPEATS = 5
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def build():
    from media.models import Signature
    from server.accounts.models import Role
    from server.jobs.models import JobStatus, PartUsage
    from tests import factories as f

    customer = f.customer("基准客户")
    site = f.site(customer)
    tech = f.technician(name="李师傅")
    part = f.part("P-BENCH", name="膨胀阀")
    for a in range(ASSETS):
        asset = f.asset(site, serial_number=f"SN-B-{a:04d}")
        for k in range(TICKETS_PER_ASSET):
            at = T0 + timedelta(days=a * TICKETS_PER_ASSET + k)
            ticket = f.ticket(st=site, ast=asset, received_at=at)
            for v in range(2):
                job = f.job(ticket, tech, status=JobStatus.completed, arrived_at=at + timedelta(hours=v + 1),
                            completed_at=at + timedelta(hours=v + 2), work_done="试机正常")
                db.session.add(PartUsage(job_id=job.id, part_id=part.id, quantity=1, under_warranty=True))
                if v:
                    db.session.add(Signature(job_id=job.id, signer_name="王经理", report_sha256="0" * 64,
                                             strokes=[[{"x": 0, "y": 0, "t": 0}]], received_at=at + timedelta(hours=3)))
    db.session.commit()
    return customer.id, f.user(Role.dispatcher)


def main() -> None:
    from flask_migrate import upgrade

    from tests import factories as f

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "MEDIA_ROOT": tmp})
        with app.app_context():
            upgrade()
            customer_id, user = build()
            client = app.test_client()
            auth = f.login_as(client, user)
            statements = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))

            def one_call():
                body = client.get(f"/api/v1/customers/{customer_id}/service-history?limit=200", headers=auth).get_json()
                return sum(len(e["visits"]) for e in body["items"])

            def per_asset():
                assets = client.get(f"/api/v1/assets?customer_id={customer_id}&limit=200", headers=auth).get_json()
                n = 0
                for a in assets["items"]:
                    visits = client.get(f"/api/v1/assets/{a['id']}/visits?limit=200", headers=auth).get_json()
                    for v in visits["items"]:
                        client.get(f"/api/v1/jobs/{v['job_id']}/signature", headers=auth)
                        n += 1
                return n

            results = {}
            for name, fn in (("one call", one_call), ("per asset", per_asset)):
                samples, counts = [], []
                for _ in range(REPEATS):
                    statements.clear()
                    started = time.perf_counter()
                    visits = fn()
                    samples.append((time.perf_counter() - started) * 1000)
                    counts.append(len(statements))
                results[name] = (statistics.median(samples), statistics.median(counts), visits)
            tickets = ASSETS * TICKETS_PER_ASSET
            print(f"{ASSETS} assets, {tickets} tickets, {tickets * 2} completed visits on {db.engine.dialect.name};"
                  f" median of {REPEATS} runs")
            print(f"{'way':>10} {'ms':>9} {'SQL':>6} {'visits':>7}")
            for name, (ms, sql, visits) in results.items():
                print(f"{name:>10} {ms:>9.1f} {sql:>6.0f} {visits:>7}")
            print(f"per asset / one call: {results['per asset'][0] / results['one call'][0]:.1f}x time, "
                  f"{results['per asset'][1] / results['one call'][1]:.1f}x statements")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
