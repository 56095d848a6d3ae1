"""A FieldSync server for the WatermelonDB client tests (tests/wmdb/*.test.mjs).

Started by the Node tests as a child process: builds a database by the real
migrations (SQLite in a temporary directory, or the PostgreSQL database named
by ``--database``), serves the real app over HTTP on 127.0.0.1 at a free port
(werkzeug, threaded, in this process), and then takes commands as JSON lines
on stdin, answering each with one JSON line on stdout:

- ``{"cmd": "seed"}`` (``"reset"``: every table emptied first): a technician's scope (jobs with tickets, customers,
  sites and assets; parts; van stock; an adjustment), another technician, a
  dispatcher; answers their logins and ids;
- ``{"cmd": "seed_bench"}``: bench/bench_sync_pull.py's 5,000-record scope;
  ``{"cmd": "change_jobs", "count": n}``: n of its jobs changed (an incremental sync's worth);
- ``{"cmd": "delete" | "update", "table", "id", "fields"}``: a change made on
  the server behind the API (an ORM edit, caught by the change log like any);
- ``{"cmd": "count", "table", "where"}``, ``{"cmd": "get", "table", "id"}``,
  ``{"cmd": "conflicts"}``: what the server holds;
- ``{"cmd": "stop"}`` (or stdin closing): shut down, remove the database.

The first line written is ``{"ready": true, "url": ...}``. Nothing here is
reached from outside 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _app(database_url: str | None, tmp: Path, log_requests: bool = False):
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from server import create_app
    from tests.conftest import make_test_config, reset_postgres_schema

    if database_url:
        from server.config import normalise_database_url

        database_url = normalise_database_url(database_url)
        reset_postgres_schema(database_url)
    else:
        database_url = f"sqlite:///{tmp / 'wmdb.db'}"
    # Request logs (JSON on stderr) only when asked: the benchmark reads the server's own times from them.
    app = create_app({**make_test_config(database_url, tmp), **({"LOG_LEVEL": "INFO"} if log_requests else {})})
    with app.app_context():
        upgrade()
    if log_requests:  # alembic's logging set-up disabled the loggers that existed: on again
        import logging

        for name in ("fieldsync", "fieldsync.request"):
            logging.getLogger(name).disabled = False
    with app.app_context():
        from server.extensions import db

        db.session.execute(sa.text("SELECT 1"))
    return app


def _wire(value):
    from sync.registry import to_wire

    return to_wire(value)


def seed() -> dict:
    from media.models import Signature
    from server.accounts.models import Role, User
    from server.customers.models import Asset, Site
    from server.extensions import db
    from server.jobs.models import Adjustment, CustomerRating
    from server.stock.models import StockLevel
    from tests import factories as f

    tech = f.technician("wmdb-tech")
    other = f.technician("wmdb-other")
    office = f.user(Role.dispatcher, username="wmdb-office")
    jobs, tickets = [], []
    for n in range(4):
        ticket = f.ticket(owner=office, summary=f"Chiller {n} not cooling")
        # A second machine at the same site, not named on the ticket.
        f.asset(db.session.get(Site, db.session.get(Asset, ticket.asset_id).site_id), serial_number=f"SIDE-{n}")
        tickets.append(ticket)
        jobs.append(f.job(ticket, tech, instructions=f"Call the site first ({n})"))
    other_job = f.job(tech=other)
    parts = [f.part(name=f"Valve {n}") for n in range(3)]
    for part in parts:
        db.session.add(StockLevel(location_id=tech.van_location_id, part_id=part.id, on_hand=10))
    db.session.add(Adjustment(job_id=jobs[0].id, parameter="pressure", value_before="1.0", value_after="1.1",
                              unit="bar"))
    # What the app's schema version 2 added (sync.watermelon.SCHEMA_ADDED): a signature, a rating.
    db.session.add(Signature(job_id=jobs[0].id, signer_name="Li Wei", strokes=[[[0, 0], [10, 10]]],
                             report_sha256="0" * 64))
    jobs[0].customer_rating = CustomerRating.satisfied
    db.session.commit()
    return {
        "password": f.PASSWORD,
        "technician": {"username": db.session.get(User, tech.user_id).username, "id": str(tech.id),
                       "van": str(tech.van_location_id)},
        "other": {"username": db.session.get(User, other.user_id).username, "id": str(other.id)},
        "office": {"username": office.username},
        "jobs": [str(j.id) for j in jobs], "other_job": str(other_job.id),
        "parts": [str(p.id) for p in parts],
    }


def seed_bench(app) -> dict:
    from bench_sync_pull import LEVELS, PARTS
    from bench_sync_pull import seed as bench_seed
    from sqlalchemy import update

    from server.accounts.models import User
    from server.extensions import db
    from server.technicians.models import Technician
    from tests import factories as f

    technician_id = bench_seed(app)
    user = db.session.get(User, db.session.get(Technician, technician_id).user_id)
    db.session.execute(update(User).where(User.username.in_(["tech", "office"])).values(
        password_hash=f._FAST_HASH))
    db.session.commit()
    return {"password": f.PASSWORD, "technician": {"username": user.username, "id": str(technician_id)},
            "office": {"username": "office"}, "parts": PARTS, "levels": LEVELS}


def _model(table: str):
    from sync import registry

    return registry.TABLES[table].model


def run(command: dict, app) -> object:
    from sqlalchemy import func, select

    from server.extensions import db
    from sync.models import SyncConflict

    name = command["cmd"]
    if name == "seed":
        return seed()
    if name == "reset":  # every table emptied, then seeded again: each scenario starts alike
        from tests.conftest import empty_all_tables

        db.session.remove()
        empty_all_tables(app)
        return seed()
    if name == "seed_bench":
        return seed_bench(app)
    if name == "change_jobs":  # the benchmark's incremental sync: this many of the technician's jobs re-prioritised
        from server.jobs.models import Job

        jobs = db.session.scalars(select(Job).order_by(Job.id).limit(command["count"])).all()
        for job in jobs:
            job.priority = "urgent" if job.priority != "urgent" else "high"
            job.version += 1
        db.session.commit()
        return len(jobs)
    if name in ("delete", "update", "get"):
        model = _model(command["table"])
        row = db.session.get(model, uuid.UUID(command["id"]))
        if row is None:
            return None
        if name == "get":
            return {c.name: _wire(getattr(row, c.name)) for c in model.__table__.columns}
        if name == "delete":
            db.session.delete(row)
        else:
            for key, value in command["fields"].items():
                setattr(row, key, value)
            if hasattr(row, "version"):
                row.version += 1
        db.session.commit()
        return True
    if name == "count":
        model = _model(command["table"])
        stmt = select(func.count()).select_from(model)
        for key, value in (command.get("where") or {}).items():
            column = model.__table__.c[key]
            stmt = stmt.where(column == (uuid.UUID(value) if isinstance(value, str) and key.endswith("_id")
                                         else value))
        return db.session.scalar(stmt)
    if name == "conflicts":
        rows = db.session.scalars(select(SyncConflict).order_by(SyncConflict.created_at)).all()
        return [{"table": c.table_name, "id": c.record_id, "kind": c.kind, "fields": c.fields} for c in rows]
    raise ValueError(f"unknown command {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=None, help="PostgreSQL URL (wiped); default: SQLite in a temp dir")
    parser.add_argument("--log-requests", action="store_true", help="request logs on stderr (the benchmark)")
    args = parser.parse_args()
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory(prefix="fieldsync-wmdb-") as tmp:
        app = _app(args.database, Path(tmp), args.log_requests)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        out = sys.stdout
        out.write(json.dumps({"ready": True, "url": f"http://127.0.0.1:{server.server_port}",
                              "database": "postgresql" if args.database else "sqlite"}) + "\n")
        out.flush()
        try:
            for line in sys.stdin:
                if not line.strip():
                    continue
                command = json.loads(line)
                if command.get("cmd") == "stop":
                    break
                with app.app_context():
                    try:
                        answer = {"ok": True, "result": run(command, app)}
                    except Exception as exc:  # the test sees the failure and stops
                        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                    finally:
                        from server.extensions import db

                        db.session.remove()
                out.write(json.dumps(answer, default=str) + "\n")
                out.flush()
        finally:
            server.shutdown()
            with app.app_context():
                from server.extensions import db

                db.engine.dispose()


if __name__ == "__main__":
    main()
