"""Push throughput: 500-operation batches over HTTP (gunicorn, one worker), on
SQLite and PostgreSQL, with the exactly-once bookkeeping; against, from the
same run, a plain SQLAlchemy Core insert of the same rows, and the engine with
and without its bookkeeping (``sync_ops`` lookup and insert).

    .venv/bin/python bench/bench_sync_push.py            # SQLite (+ PostgreSQL if TEST_DATABASE_URL is set)
    BENCH_BATCHES=20 BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_sync_push.py

Bounded: BENCH_BATCHES batches (default 20) per measurement.
"""

from __future__ import annotations

import gc
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime

from _sync_common import Server, migrated_app, reset_database, scratch_urls

BATCH = 500
BATCHES = int(os.environ.get("BENCH_BATCHES", "20"))
PASSWORD = "bench-password-123"  # noqa: S105  (a scratch database's bench account)
# The mix of one batch: a day's worth of a technician's sync, mostly facts.
MIX = {"job_update": 10, "check_in": 240, "adjustment_create": 150, "adjustment_update": 50, "photo": 30,
       "part_usage": 20}
assert sum(MIX.values()) == BATCH


def seed(app) -> dict:
    from server.accounts.models import Role, User
    from server.accounts.passwords import hash_password
    from server.customers.models import Asset, Customer, Site
    from server.db import utcnow
    from server.extensions import db
    from server.jobs.models import Job
    from server.stock.models import LocationKind, Part, StockLocation
    from server.technicians.models import Technician
    from server.tickets.models import Ticket

    with app.app_context():
        user = User(username="bench-tech", display_name="Bench", password_hash=hash_password(PASSWORD, "fast"),
                    role=Role.technician)
        van = StockLocation(code="VAN-B", name="Van", kind=LocationKind.van, latitude=31.2, longitude=121.4)
        dispatcher = User(username="bench-office", display_name="Office",
                          password_hash=hash_password(PASSWORD, "fast"), role=Role.dispatcher)
        db.session.add_all([user, van, dispatcher])
        db.session.flush()
        tech = Technician(user_id=user.id, name="Bench", home_latitude=31.2, home_longitude=121.4,
                          van_location_id=van.id)
        customer = Customer(name="Bench customer")
        db.session.add_all([tech, customer])
        db.session.flush()
        site = Site(customer_id=customer.id, name="Site", address="1 Road", latitude=31.2, longitude=121.4)
        db.session.add(site)
        db.session.flush()
        jobs = []
        now = utcnow()
        for n in range(40):
            asset = Asset(site_id=site.id, product_line="chiller", model="CH", serial_number=f"B-{n}")
            db.session.add(asset)
            db.session.flush()
            ticket = Ticket(reference=f"B-{n}", customer_id=customer.id, site_id=site.id, asset_id=asset.id,
                            channel="phone", category="repair", summary="bench", owner_id=dispatcher.id,
                            received_at=now, response_due_at=now, on_site_due_at=now, resolve_due_at=now)
            db.session.add(ticket)
            db.session.flush()
            job = Job(ticket_id=ticket.id, technician_id=tech.id)
            db.session.add(job)
            jobs.append(job)
        parts = [Part(part_number=f"BP-{n}", name="part") for n in range(10)]
        db.session.add_all(parts)
        db.session.commit()
        return {"jobs": {str(j.id): 1 for j in jobs}, "parts": [str(p.id) for p in parts],
                "technician_id": tech.id, "van": van.id}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Batches:
    """Makes realistic batches; remembers versions so updates name the right base."""

    def __init__(self, world: dict, seed_: int = 1):
        self.world = world
        self.rng = random.Random(seed_)
        self.previous_adjustments: list[str] = []

    def next(self) -> tuple[list[dict], dict]:
        rng, jobs = self.rng, list(self.world["jobs"])
        ops, rows = [], {"check_ins": [], "adjustments": [], "photos": [], "part_usages": [], "jobs": [],
                         "adjustments_update": []}
        now = datetime.now(UTC)
        created = []

        def add(table, action, fields, base=None, record_id=None):
            record_id = record_id or str(uuid.uuid4())
            operation = {"op_id": str(uuid.uuid4()), "table": table, "id": record_id, "action": action,
                         "fields": fields, "device_time": _iso(now)}
            if base is not None:
                operation["base_version"] = base
            ops.append(operation)
            return record_id

        for job_id in rng.sample(jobs, MIX["job_update"]):
            add("jobs", "update", {"work_done": f"bench {rng.random()}", "status": "on_site"},
                base=self.world["jobs"][job_id], record_id=job_id)
            rows["jobs"].append(job_id)
        for _ in range(MIX["check_in"]):
            add("check_ins", "create", {"job_id": rng.choice(jobs), "kind": "periodic",
                                        "latitude": 31 + rng.random(), "longitude": 121 + rng.random(),
                                        "accuracy_m": 5.0, "recorded_at": _iso(now)})
        for _ in range(MIX["adjustment_create"]):
            created.append(add("adjustments", "create", {"job_id": rng.choice(jobs), "parameter": "pressure",
                                                         "value_before": "1.0", "value_after": "1.2",
                                                         "unit": "bar"}))
        for record_id in self.previous_adjustments[:MIX["adjustment_update"]]:
            add("adjustments", "update", {"value_after": "1.3"}, base=1, record_id=record_id)
        for _ in range(MIX["photo"]):
            add("photos", "create", {"job_id": rng.choice(jobs), "blob_sha256": f"{rng.getrandbits(256):064x}",
                                     "kind": "after", "recorded_at": _iso(now)})
        for _ in range(MIX["part_usage"]):
            add("part_usages", "create", {"job_id": rng.choice(jobs), "part_id": rng.choice(self.world["parts"]),
                                          "quantity": 1, "serial_numbers": [], "recorded_at": _iso(now)})
        while len(ops) < BATCH:  # the first batch has no adjustments to update yet
            add("check_ins", "create", {"kind": "periodic", "latitude": 31.0, "longitude": 121.0})
        self.previous_adjustments = created
        return ops, rows

    def learn(self, results: list[dict]) -> None:
        for result in results:
            outcome = result.get("outcome") or result
            if result["table"] == "jobs" and outcome.get("version"):
                self.world["jobs"][result["id"]] = outcome["version"]


def bench_http(url: str, world: dict) -> float:
    import requests

    batches = Batches(world, 1)
    with Server(url) as server, requests.Session() as http:
        token = http.post(server.url + "/api/v1/auth/token", timeout=30, json={
            "username": "bench-tech", "password": PASSWORD, "device_id": "bench-1"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        bodies = []
        for _ in range(BATCHES + 2):
            ops, _rows = batches.next()
            bodies.append(ops)
        # Warm up (imports, caches), then measure.
        elapsed = 0.0
        for n, ops in enumerate(bodies):
            # Versions named in later batches depend on earlier answers.
            for operation in ops:
                if operation["table"] == "jobs":
                    operation["base_version"] = world["jobs"][operation["id"]]
            # Encoded before the clock starts: a handheld encodes on the device,
            # and the client shares these cores with the server.
            body = json.dumps({"protocol": 1, "ops": ops}).encode()
            started = time.perf_counter()
            answer = http.post(server.url + "/api/v1/sync/push", data=body,
                               headers={**headers, "Content-Type": "application/json"}, timeout=120)
            took = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            bad = [r for r in results if r["status"] not in ("applied", "merged")]
            assert not bad, bad[:3]
            batches.learn(results)
            if n >= 2:
                elapsed += took
    return BATCHES * BATCH / elapsed


def bench_wsgi(app, world: dict) -> float:
    """The whole request (auth, JSON, Flask) in-process: the server's share of an HTTP push.
    Start-up objects frozen out of the cyclic GC, as ``wsgi.py`` does in the server."""
    gc.collect()
    gc.freeze()
    try:
        return _bench_wsgi(app, world)
    finally:
        gc.unfreeze()


def _bench_wsgi(app, world: dict) -> float:
    batches = Batches(world, 5)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "bench-tech", "password": PASSWORD,
                                                      "device_id": "bench-2"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    elapsed = 0.0
    for n in range(BATCHES + 2):
        ops, _ = batches.next()
        for operation in ops:
            if operation["table"] == "jobs":
                operation["base_version"] = world["jobs"][operation["id"]]
        body = json.dumps({"protocol": 1, "ops": ops})
        started = time.perf_counter()
        answer = client.post("/api/v1/sync/push", data=body, content_type="application/json", headers=headers)
        took = time.perf_counter() - started
        assert answer.status_code == 200, answer.get_data(as_text=True)
        batches.learn(answer.get_json()["results"])
        if n >= 2:
            elapsed += took
    return BATCHES * BATCH / elapsed


def bench_engine(app, world: dict, bookkeeping: bool) -> float:
    """The engine in-process, with or without its exactly-once bookkeeping
    (the ``sync_ops`` lookup and insert)."""
    from schemas.sync import parse_operation
    from server.db import utcnow
    from server.extensions import db
    from sync import push as push_module
    from sync.push import Pusher, push

    saved = (push_module._recorded_outcomes, push_module._record_ops)
    if not bookkeeping:
        push_module._recorded_outcomes = lambda session, op_ids: {}
        push_module._record_ops = lambda session, pusher, done, now: None
    batches = Batches(world, 2)
    elapsed = 0.0
    try:
        with app.app_context():
            from server.accounts.models import User

            user_id = db.session.query(User.id).filter_by(username="bench-tech").scalar()
            pusher = Pusher(technician_id=world["technician_id"], user_id=user_id, device_id=None,
                            van_location_id=world["van"])
            for n in range(BATCHES + 2):
                ops, _rows = batches.next()
                started = time.perf_counter()
                parsed = [parse_operation(i, raw) for i, raw in enumerate(ops)]
                result = push(db.session, pusher, parsed, now=utcnow())
                db.session.commit()
                took = time.perf_counter() - started
                batches.learn(result.results)
                if n >= 2:
                    elapsed += took
            db.engine.dispose()
    finally:
        push_module._recorded_outcomes, push_module._record_ops = saved
    return BATCHES * BATCH / elapsed


def bench_core_insert(app, world: dict, changelog: bool = False) -> float:
    """The storage alone: the same rows written with plain Core statements.

    ``changelog``: the issue's PostgreSQL baseline ("with a change-log row"):
    besides the same rows, one change-log row per row written, positions taken
    from the counter row, upserted with one plain Core executemany."""
    from sqlalchemy import bindparam, update
    from sqlalchemy.dialects import postgresql, sqlite

    from media.models import Photo
    from server.extensions import db
    from server.jobs.models import Adjustment, CheckIn, Job, PartUsage
    from sync.models import SyncChange, SyncCounter

    batches = Batches(world, 6 if changelog else 4)
    with app.app_context():
        engine = db.engine
        elapsed = 0.0
        for n in range(BATCHES + 2):
            ops, _ = batches.next()
            now = datetime.now(UTC)
            rows = {"check_ins": [], "adjustments": [], "photos": [], "part_usages": [], "jobs": [], "adj_up": []}
            for o in ops:
                f = dict(o["fields"])
                if o["action"] == "update":
                    key = "jobs" if o["table"] == "jobs" else "adj_up"
                    rows[key].append({"_id": uuid.UUID(o["id"]), **{f"v_{k}": v for k, v in f.items()}})
                    continue
                row = {"id": uuid.UUID(o["id"]), **{k: v for k, v in f.items() if k not in ("recorded_at",)}}
                for k in ("job_id", "part_id"):
                    if k in row:
                        row[k] = uuid.UUID(row[k])
                if o["table"] == "check_ins":
                    row.update(technician_id=world["technician_id"], received_at=now, recorded_at=now)
                    row.setdefault("job_id", None)
                    row.setdefault("accuracy_m", None)
                elif o["table"] == "adjustments":
                    row.update(version=1, created_at=now, updated_at=now)
                elif o["table"] == "photos":
                    row.update(created_at=now, recorded_at=now)
                elif o["table"] == "part_usages":
                    row.update(location_id=world["van"], under_warranty=False, created_at=now, recorded_at=now)
                rows[o["table"]].append(row)
            models = {"check_ins": CheckIn, "adjustments": Adjustment, "photos": Photo, "part_usages": PartUsage}
            log = []
            if changelog:
                for table, key in (("check_ins", "check_ins"), ("adjustments", "adjustments"), ("photos", "photos"),
                                   ("part_usages", "part_usages"), ("jobs", "jobs"), ("adjustments", "adj_up")):
                    for r in rows[key]:
                        record = r.get("id", r.get("_id"))
                        technician = world["technician_id"] if table == "check_ins" else None
                        job = None if table == "check_ins" else (record if table == "jobs" else r.get("job_id"))
                        log.append({"table_name": table, "record_id": str(record), "version": 1, "deleted": False,
                                    "origin_device": None, "scope_job": job, "scope_location": None,
                                    "scope_technician": technician, "field_versions": None, "changed_at": now})
            started = time.perf_counter()
            with engine.begin() as connection:
                for table, model in models.items():
                    if rows[table]:
                        connection.execute(model.__table__.insert(), rows[table])
                for model, key, columns in ((Job, "jobs", ("work_done", "status")),
                                            (Adjustment, "adj_up", ("value_after",))):
                    good = [r for r in rows[key] if all(f"v_{c}" in r for c in columns)]
                    if good:
                        connection.execute(update(model.__table__).where(model.__table__.c.id == bindparam("_id"))
                                           .values({c: bindparam(f"v_{c}") for c in columns}), good)
                if log:
                    counter = SyncCounter.__table__
                    last = connection.execute(counter.update().where(counter.c.id == 1).values(
                        position=counter.c.position + len(log)).returning(counter.c.position)).scalar()
                    if last is None:  # no push has made the counter row yet
                        connection.execute(counter.insert().values(id=1, position=len(log), pruned_through=0))
                        last = len(log)
                    for offset, entry in enumerate(log):
                        entry["position"] = last - len(log) + 1 + offset
                    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
                    upsert = dialect_insert(SyncChange.__table__)
                    upsert = upsert.on_conflict_do_update(
                        index_elements=["table_name", "record_id"],
                        set_={c: upsert.excluded[c] for c in ("position", "version", "deleted", "origin_device",
                                                               "scope_job", "scope_location", "scope_technician",
                                                               "field_versions", "changed_at")})
                    connection.execute(upsert, log)
            took = time.perf_counter() - started
            if n >= 2:
                elapsed += took
    return BATCHES * BATCH / elapsed


def fresh(url: str):
    """A newly migrated and seeded database: every figure starts from the same
    state, so none pays for the rows an earlier measurement left (a push's
    indexes grow slower to write as the tables grow)."""
    from server.extensions import db

    reset_database(url)
    app = migrated_app(url)
    world = seed(app)
    with app.app_context():
        db.engine.dispose()
    return app, world


def main() -> None:
    print(f"push benchmark: {BATCHES} batches of {BATCH} operations per figure, each figure on a freshly migrated "
          f"and seeded database; mix {MIX}")
    for name, url in scratch_urls():
        from server.extensions import db

        core = bench_core_insert(*fresh(url))
        core_log = bench_core_insert(*fresh(url), changelog=True)
        without = bench_engine(*fresh(url), bookkeeping=False)
        with_bookkeeping = bench_engine(*fresh(url), bookkeeping=True)
        app, world = fresh(url)
        with app.app_context():
            wsgi = bench_wsgi(app, world)
            db.engine.dispose()
        _app, world = fresh(url)
        http = bench_http(url, world)
        print(f"\n[{name}]")
        print(f"  plain Core insert of the same rows      {core:>10,.0f} rows/s")
        print(f"  the same + a change-log row each (Core) {core_log:>10,.0f} rows/s   (issue's PostgreSQL baseline)")
        print(f"  engine in-process, without bookkeeping  {without:>10,.0f} ops/s")
        print(f"  engine in-process, exactly-once         {with_bookkeeping:>10,.0f} ops/s")
        print(f"  push, whole request in-process (WSGI)   {wsgi:>10,.0f} ops/s")
        print(f"  push over HTTP (gunicorn, 1 worker)     {http:>10,.0f} ops/s")
        print(f"  exactly-once cost (without / with)      {without / with_bookkeeping:>10.2f}x")
        print(f"  Core insert / push over HTTP            {core / http:>10.2f}x   (aim: <= 4x)")
        print(f"  Core insert + change log / push (HTTP)  {core_log / http:>10.2f}x   (aim: <= 4x)")
        print(f"  load average (1, 5, 15 min)             {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
