"""A fault-injecting soak of the sync engine (issue 13), on PostgreSQL.

Simulated handhelds, each with a local replica, do a day's work (accept,
drive, arrive, adjust, use parts off the van, check in, finish) with sync
protocol 1 (sync/README.md) against TWO app processes (gunicorn on 127.0.0.1),
through a proxy on 127.0.0.1 that fails requests, delays them, sends them
twice and drops answers after the server committed. A dispatcher reassigns
and cancels jobs meanwhile, and whole app servers are SIGKILLed and restarted
mid-run. Afterwards it checks:

- exactly once: every operation got one final answer, ``sync_ops`` holds each
  op id once, every repeated answer equals the first, and the facts tables
  hold one row per accepted create;
- stock: each van's level of each part = its opening stock - the unique
  usages taken from it, and each usage moved stock once;
- replicas: each device's replica, kept by incremental pulls and its own
  acknowledged edits, equals a first sync of its scope, field by field;
- conflicts: every conflict names an operation of a job the dispatcher
  reassigned or cancelled (its cause).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_x .venv/bin/python bench/soak.py --size large
    .venv/bin/python bench/soak.py --size ci       # what tests/test_soak.py runs

It uses its own scratch database beside the one named (``<name>_soak``,
emptied first). Every loop is bounded; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "soak-password-123"  # noqa: S105  (a scratch database's soak accounts)
PROTOCOL = 1
TIMELINE: list = []
MAX_TRIES = 80  # per request: a request still unanswered after this many tries fails the soak


@dataclass(frozen=True)
class Size:
    devices: int
    jobs_per_device: int
    parts: int = 4
    opening_stock: int = 50
    kills: int = 2
    dispatcher_actions: int = 4
    workers: int = 2  # gunicorn workers per app process
    pause: float = 1.5  # mean seconds between a device's syncs (driving, working on site)
    # Faults per request through the proxy.
    fail: float = 0.04
    delay: float = 0.08
    duplicate: float = 0.04
    drop: float = 0.05


SIZES = {
    "ci": Size(devices=10, jobs_per_device=3, kills=2, dispatcher_actions=4),
    "medium": Size(devices=40, jobs_per_device=4, kills=3, dispatcher_actions=12),
    "large": Size(devices=200, jobs_per_device=4, kills=4, dispatcher_actions=40, workers=3, pause=3.0),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# ---- the world ---------------------------------------------------------------------------------------------------

def seed(session, size: Size, rng: random.Random) -> dict:
    """Technicians with vans stocked through the ledger, their jobs, a dispatcher."""
    from server.accounts.models import Role, User
    from server.accounts.passwords import hash_password
    from server.customers.models import Asset, Customer, Site
    from server.db import utcnow
    from server.jobs.models import Job
    from server.stock import ledger
    from server.stock.models import LocationKind, MovementKind, Part, StockLocation
    from server.technicians.models import Technician
    from server.tickets.models import Ticket, TicketStatus

    digest = hash_password(PASSWORD, "fast")
    now = utcnow()
    dispatcher = User(username="soak-dispatcher", display_name="Dispatcher", password_hash=digest,
                      role=Role.dispatcher)
    parts = [Part(part_number=f"SOAK-P{n}", name=f"Part {n}") for n in range(size.parts)]
    customer = Customer(name="Soak customer")
    session.add_all([dispatcher, customer, *parts])
    session.flush()
    site = Site(customer_id=customer.id, name="Plant", address="1 Soak Road", latitude=31.2, longitude=121.4)
    session.add(site)
    session.flush()
    technicians, vans, jobs = [], {}, []
    for n in range(size.devices):
        user = User(username=f"soak-tech{n:03d}", display_name=f"Tech {n}", password_hash=digest,
                    role=Role.technician)
        van = StockLocation(code=f"SOAK-VAN{n:03d}", name=f"Van {n}", kind=LocationKind.van,
                            latitude=31.2, longitude=121.4)
        session.add_all([user, van])
        session.flush()
        tech = Technician(user_id=user.id, name=f"Tech {n}", home_latitude=31.2, home_longitude=121.4,
                          van_location_id=van.id)
        session.add(tech)
        session.flush()
        for part in parts:
            ledger.record_movement(session, kind=MovementKind.issued_in, location_id=van.id, part_id=part.id,
                                   quantity=size.opening_stock, at=now, source=f"soak:{van.id}:{part.id}")
        for j in range(size.jobs_per_device):
            asset = Asset(site_id=site.id, product_line="chiller", model="CH-200", serial_number=f"SOAK-{n}-{j}")
            session.add(asset)
            session.flush()
            ticket = Ticket(reference=f"SOAK-{n}-{j}", customer_id=customer.id, site_id=site.id, asset_id=asset.id,
                            channel="phone", category="repair", summary="Unit not cooling", owner_id=dispatcher.id,
                            status=TicketStatus.dispatched, received_at=now, response_due_at=now,
                            on_site_due_at=now, resolve_due_at=now)
            session.add(ticket)
            session.flush()
            job = Job(ticket_id=ticket.id, technician_id=tech.id)
            session.add(job)
            jobs.append(job)
        technicians.append(tech)
        vans[str(tech.id)] = str(van.id)
    session.commit()
    return {"technicians": [(f"soak-tech{n:03d}", str(t.id)) for n, t in enumerate(technicians)],
            "vans": vans, "parts": [str(p.id) for p in parts], "jobs": [str(j.id) for j in jobs],
            "opening_stock": size.opening_stock}


# ---- two app processes -------------------------------------------------------------------------------------------

class AppServer:
    """gunicorn on a fixed 127.0.0.1 port, in its own process group, so a
    SIGKILL takes the master and its workers down at once, mid-request."""

    def __init__(self, url: str, workers: int, media_root: str):
        self.port = free_port()
        self.url, self.workers, self.media_root = url, workers, media_root
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.url, "FIELDSYNC_SECRET_KEY": "soak-secret-key-" + "x" * 32,
               "FIELDSYNC_MEDIA_ROOT": self.media_root, "FIELDSYNC_LOG_LEVEL": "ERROR"}
        self.process = subprocess.Popen(  # noqa: S603  (our own gunicorn, fixed arguments)
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--timeout", "120", "--graceful-timeout", "1", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("gunicorn did not start")

    def kill(self) -> None:
        """SIGKILL the whole server: master and workers, whatever they were doing."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


# ---- the fault-injecting proxy -----------------------------------------------------------------------------------

class FaultProxy:
    """HTTP on 127.0.0.1 in front of the app servers (round robin; a refused
    connection tries the next one). Per request, by chance: fail it (503,
    never forwarded), delay it, send it twice at once (the client gets the
    second answer), or forward it and drop the answer (the server committed;
    the client sees the connection close)."""

    def __init__(self, backends: list[AppServer], size: Size, seed_: int):
        self.backends = backends
        self.size = size
        self.rng = random.Random(seed_)
        self.lock = threading.Lock()
        self.stats = Counter()
        self.faults_on = True
        self.turn = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def _any(self):
                proxy.handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _choose(self) -> tuple[str, float]:
        with self.lock:
            if not self.faults_on:
                return "none", 0.0
            roll = self.rng.random()
            delay = self.rng.uniform(0.02, 0.4)
        s = self.size
        for name, chance in (("fail", s.fail), ("delay", s.delay), ("duplicate", s.duplicate), ("drop", s.drop)):
            if roll < chance:
                return name, delay
            roll -= chance
        return "none", 0.0

    def _forward(self, method, path, headers, body):
        """(status, headers, body) from the first backend that accepts the connection."""
        with self.lock:
            start = self.turn
            self.turn += 1
        for i in range(len(self.backends)):
            backend = self.backends[(start + i) % len(self.backends)]
            connection = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=120)
            try:
                connection.request(method, path, body=body, headers=headers)
            except ConnectionRefusedError:
                connection.close()
                continue  # that server is down: the next one
            except OSError:
                connection.close()
                return 502, {}, b""
            try:
                response = connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (OSError, http.client.HTTPException):
                return 502, {}, b""  # the server died with the request: the client retries
            finally:
                connection.close()
        return 502, {}, b""

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("connection", "host")}
        fault, delay = self._choose()
        self.stats[fault] += 1
        if fault == "fail":
            request.send_response(503)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if fault == "delay":
            time.sleep(delay)
        if fault == "duplicate":
            first = threading.Thread(target=self._forward, args=(request.command, request.path, headers, body))
            first.start()
            answer = self._forward(request.command, request.path, headers, body)
            first.join(timeout=130)
        else:
            answer = self._forward(request.command, request.path, headers, body)
        if fault == "drop":
            request.close_connection = True  # committed, never answered
            return
        status, response_headers, payload = answer
        request.send_response(status)
        for name, value in response_headers.items():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


# ---- clients -----------------------------------------------------------------------------------------------------

class Unanswered(RuntimeError):
    pass


class Progress:
    """Operations pushed so far (all devices), read by the dispatcher and the killer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = 0

    def add(self, n: int) -> None:
        with self.lock:
            self.ops += n


class Client:
    def __init__(self, port: int, rng: random.Random, stats: Counter):
        self.port, self.rng, self.stats = port, rng, stats
        self.headers = {"Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None, accept=(200, 201)) -> tuple[int, dict]:
        """Retry (the same request, the same op ids) until an answer in ``accept`` or a 4xx."""
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(MAX_TRIES):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=150)
            try:
                connection.request(method, path, body=payload, headers=self.headers)
                response = connection.getresponse()
                status, data = response.status, response.read()
            except (OSError, http.client.HTTPException):
                status, data = None, b""
            finally:
                connection.close()
            if status in accept or (status is not None and 400 <= status < 500):
                return status, json.loads(data) if data else {}
            self.stats["retries"] += 1
            time.sleep(min(1.0, 0.02 * (attempt + 1)) * self.rng.uniform(0.5, 1.5))
        raise Unanswered(f"{method} {path}: no answer after {MAX_TRIES} tries")

    def login(self, username: str, device_key: str | None = None) -> None:
        body = {"username": username, "password": PASSWORD}
        if device_key:
            body["device_id"] = device_key
        status, answer = self.call("POST", "/api/v1/auth/token", body)
        if status != 201:
            raise RuntimeError(f"login {username}: {status} {answer}")
        self.headers["Authorization"] = f"Bearer {answer['access_token']}"


# The day's work on one job, one batch per step: (fields of the job update, facts to create).
STEPS = ("accept", "drive", "arrive", "work", "revise", "finish")


class Device:
    """A handheld: a replica kept by pulls and its own acknowledged edits,
    and an outbox of operations pushed until each has its final answer."""

    def __init__(self, username: str, technician_id: str, van_id: str, parts: list[str], port: int, seed_: int,
                 stats: Counter):
        self.username, self.technician_id, self.van_id, self.parts = username, technician_id, van_id, parts
        self.rng = random.Random(seed_)
        self.pause = 0.0
        self.client = Client(port, self.rng, stats)
        self.device_key = f"soak-{username}"
        self.cursor: str | None = None
        self.replica: dict[tuple[str, str], dict] = {}  # (table, id) -> {"version", "fields"}
        self.outbox: list[dict] = []
        self.sent: dict[str, dict] = {}  # op_id -> op
        self.answers: dict[str, list[dict]] = defaultdict(list)  # op_id -> every result received
        self.progress: dict[str, int] = {}  # job id -> steps done
        self.adjustments: dict[str, list[str]] = defaultdict(list)  # job id -> adjustments made

    # -- sync --
    def pull(self) -> None:
        for _ in range(10_000):
            query = f"/api/v1/sync/pull?protocol={PROTOCOL}&limit=500" + (f"&cursor={self.cursor}" if self.cursor
                                                                          else "")
            status, page = self.client.call("GET", query)
            if status != 200:
                raise RuntimeError(f"pull: {status} {page}")
            for change in page["changes"]:
                key = (change["table"], change["id"])
                if change["deleted"]:
                    self.replica.pop(key, None)
                else:
                    self.replica[key] = {"version": change["version"], "fields": change["fields"]}
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return
        raise RuntimeError("pull did not end")

    def first_sync(self) -> dict:
        """What a first sync of this device's scope gives now (the server's view)."""
        out, cursor = {}, None
        for _ in range(10_000):
            query = f"/api/v1/sync/pull?protocol={PROTOCOL}&limit=500" + (f"&cursor={cursor}" if cursor else "")
            status, page = self.client.call("GET", query)
            for change in page["changes"]:
                if not change["deleted"]:
                    out[(change["table"], change["id"])] = {"version": change["version"], "fields": change["fields"]}
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return out
        raise RuntimeError("first sync did not end")

    def push(self) -> int:
        if not self.outbox:
            return 0
        batch, self.outbox = self.outbox, []
        status, answer = self.client.call("POST", "/api/v1/sync/push", {"protocol": PROTOCOL, "ops": batch})
        if status != 200:
            raise RuntimeError(f"push: {status} {answer}")
        for op, result in zip(batch, answer["results"], strict=True):
            self.answers[op["op_id"]].append(result)
            self._fold(op, result.get("outcome") or result if result["status"] == "duplicate" else result)
        return len(batch)

    def _fold(self, op: dict, outcome: dict) -> None:
        """An acknowledged edit joins the replica when its version is newer than the copy's
        (sync/README.md: facts and merged records come back with the next pull)."""
        if outcome["status"] != "applied" or outcome.get("version") is None:
            return
        key = (op["table"], op["id"])
        held = self.replica.get(key)
        if op["action"] == "delete":
            if held is not None and outcome["version"] >= held["version"]:
                self.replica.pop(key, None)
            return
        if held is not None and outcome["version"] <= held["version"]:
            return
        if held is None:
            if op["action"] != "create":
                return
            held = {"version": 0, "fields": {}}
            self.replica[key] = held
        held["fields"] = {**held["fields"], **op["fields"]}
        held["version"] = outcome["version"]

    def _op(self, table, record_id, action, fields, base_version=None) -> None:
        op = {"op_id": str(uuid.uuid4()), "table": table, "id": str(record_id), "action": action,
              "fields": fields, "device_time": _now()}
        if base_version is not None:
            op["base_version"] = base_version
        self.sent[op["op_id"]] = op
        self.outbox.append(op)

    # -- a day's work --
    def my_jobs(self) -> list[str]:
        return sorted(i for (t, i), rec in self.replica.items()
                      if t == "jobs" and rec["fields"].get("technician_id") == self.technician_id
                      and rec["fields"].get("status") not in ("cancelled", "completed"))

    def work_step(self, job_id: str) -> bool:
        """Queue the next step of this job; False when the job is done."""
        step = self.progress.get(job_id, 0)
        if step >= len(STEPS):
            return False
        self.progress[job_id] = step + 1
        record = self.replica.get(("jobs", job_id))
        if record is None:
            return False
        base = record["version"]
        name = STEPS[step]
        if name == "accept":
            self._op("jobs", job_id, "update", {"status": "accepted"}, base)
        elif name == "drive":
            self._op("jobs", job_id, "update", {"status": "en_route"}, base)
        elif name == "arrive":
            self._op("jobs", job_id, "update", {"status": "on_site", "arrived_at": _now()}, base)
            self._check_in(job_id, "arrival")
        elif name == "work":
            for parameter in ("pressure", "temperature"):
                adjustment = str(uuid.uuid4())
                self.adjustments[job_id].append(adjustment)
                self._op("adjustments", adjustment, "create",
                         {"job_id": job_id, "parameter": parameter, "value_before": "1.0", "value_after": "1.1",
                          "unit": "bar"})
            for _ in range(self.rng.randint(1, 2)):
                self._op("part_usages", uuid.uuid4(), "create",
                         {"job_id": job_id, "part_id": self.rng.choice(self.parts),
                          "quantity": self.rng.randint(1, 3), "recorded_at": _now()})
            self._check_in(job_id, "periodic")
        elif name == "revise":
            made = [a for a in self.adjustments[job_id] if ("adjustments", a) in self.replica]
            if made:
                first = self.replica[("adjustments", made[0])]
                self._op("adjustments", made[0], "update", {"value_after": "1.3"}, first["version"])
            if len(made) > 1:
                self._op("adjustments", made[1], "delete", {}, self.replica[("adjustments", made[1])]["version"])
        elif name == "finish":
            # A job completes with its sign-off: here the reason there is no signature (sync/README.md).
            self._op("jobs", job_id, "update", {"status": "completed", "departed_at": _now(), "completed_at": _now(),
                                                "work_done": "Replaced the part", "solution": "Pressure restored",
                                                "no_signature_reason": "customer_absent"},
                     base)
            self._check_in(job_id, "departure")
        return True

    def _check_in(self, job_id: str, kind: str) -> None:
        self._op("check_ins", uuid.uuid4(), "create", {"job_id": job_id, "kind": kind, "latitude": 31.2,
                                                       "longitude": 121.4, "recorded_at": _now()})

    def run_day(self, progress: Progress, stop: threading.Event) -> None:
        self.client.login(self.username, self.device_key)
        self.pull()
        for _ in range(200):  # bounded: a day is at most this many sync rounds
            if stop.is_set():
                return
            jobs = [j for j in self.my_jobs() if self.progress.get(j, 0) < len(STEPS)]
            if not jobs:
                break
            # Offline for a while: one to three steps queued before the next sync.
            for _ in range(self.rng.randint(1, 3)):
                if not self.work_step(jobs[0]):
                    break
                if self.progress.get(jobs[0], 0) >= len(STEPS):
                    break
            progress.add(self.push())
            self.pull()
            stop.wait(self.rng.uniform(0.5, 1.5) * self.pause)
        progress.add(self.push())


# ---- the dispatcher and the killer -------------------------------------------------------------------------------

def dispatcher_day(port: int, world: dict, size: Size, seed_: int, touched: dict, progress: Progress,
                   total_ops: int, stats: Counter, done: threading.Event) -> None:
    """Reassign and cancel jobs while their technicians work on them."""
    rng = random.Random(seed_)
    client = Client(port, rng, stats)
    client.login("soak-dispatcher")
    technicians = [t for _, t in world["technicians"]]
    for n in range(size.dispatcher_actions):
        # Spread the actions over the run, by the work done rather than the clock.
        threshold = total_ops * (n + 1) / (size.dispatcher_actions + 2)
        for _ in range(6000):
            if progress.ops >= threshold or done.is_set():
                break
            time.sleep(0.01)
        # A job being worked on right now (its technician may be offline with edits queued).
        status, page = client.call("GET", "/api/v1/jobs?status=accepted&status=en_route&status=on_site&limit=100")
        busy = [j["id"] for j in page.get("items", []) if j["id"] not in touched]
        job_id = rng.choice(busy or [j for j in world["jobs"] if j not in touched])
        touched[job_id] = "pending"
        stats["dispatcher_busy_picks" if busy else "dispatcher_idle_picks"] += 1
        TIMELINE.append((round(time.monotonic(), 1), "dispatch", progress.ops, len(busy)))
        if n % 2:
            status, _ = client.call("POST", f"/api/v1/jobs/{job_id}/cancel", {"reason": "customer called off"})
            touched[job_id] = f"cancel:{status}"
        else:
            status, job = client.call("GET", f"/api/v1/jobs/{job_id}")
            others = [t for t in technicians if t != job.get("technician_id")]
            status, _ = client.call("POST", f"/api/v1/jobs/{job_id}/reassign", {"technician_id": rng.choice(others)})
            touched[job_id] = f"reassign:{status}"


def killer(servers: list[AppServer], size: Size, progress: Progress, total_ops: int, stats: Counter,
           done: threading.Event) -> None:
    for n in range(size.kills):
        threshold = total_ops * (n + 1) / (size.kills + 1)
        for _ in range(6000):
            if progress.ops >= threshold or done.is_set():
                break
            time.sleep(0.01)
        server = servers[n % len(servers)]
        server.kill()
        stats["kills"] += 1
        TIMELINE.append((round(time.monotonic(), 1), "kill", progress.ops))
        time.sleep(0.3)
        server.start()


# ---- the checks --------------------------------------------------------------------------------------------------

def check(session, world: dict, devices: list[Device], touched: dict, first_syncs: dict) -> dict:
    import sqlalchemy as sa

    failures: list[str] = []
    sent = {op_id: op for d in devices for op_id, op in d.sent.items()}
    answers = {op_id: a for d in devices for op_id, a in d.answers.items()}

    # Exactly once: one final answer per op; sync_ops holds each once; repeats agree with the first.
    unanswered = [op_id for op_id in sent if not answers.get(op_id)]
    if unanswered:
        failures.append(f"{len(unanswered)} operations never answered")
    stored = dict(session.execute(sa.text("SELECT CAST(op_id AS TEXT), status FROM sync_ops")).all())
    missing = [op_id for op_id in sent if op_id not in stored]
    if missing:
        failures.append(f"{len(missing)} operations not in sync_ops")
    first_status = {}
    for op_id, results in answers.items():
        first = results[0]
        first_status[op_id] = (first.get("outcome") or {}).get("status") if first["status"] == "duplicate" \
            else first["status"]
        for later in results[1:]:
            if later["status"] != "duplicate" or later["outcome"]["status"] != first_status[op_id]:
                failures.append(f"op {op_id}: a repeated answer differs from the first")
        if stored.get(op_id) and stored[op_id] != first_status[op_id]:
            failures.append(f"op {op_id}: sync_ops says {stored[op_id]}, the device was told {first_status[op_id]}")
    accepted = {op_id for op_id, s in first_status.items() if s in ("applied", "merged")}
    for table in ("part_usages", "check_ins"):
        expected = {sent[o]["id"] for o in accepted if sent[o]["table"] == table}
        rows = {str(r) for r in session.execute(sa.text(f"SELECT CAST(id AS TEXT) FROM {table}")).scalars()}  # noqa: S608
        if rows != expected:
            failures.append(f"{table}: {len(rows)} rows for {len(expected)} accepted creates "
                            f"({len(rows - expected)} unexpected, {len(expected - rows)} missing)")

    # Stock per van: opening - unique usages, one movement per usage.
    usages = session.execute(sa.text(
        "SELECT CAST(location_id AS TEXT), CAST(part_id AS TEXT), sum(quantity) FROM part_usages "
        "GROUP BY location_id, part_id")).all()
    used = {(loc, part): int(q) for loc, part, q in usages}
    levels = session.execute(sa.text("SELECT CAST(location_id AS TEXT), CAST(part_id AS TEXT), on_hand "
                                     "FROM stock_levels")).all()
    vans = set(world["vans"].values())
    for loc, part, on_hand in levels:
        if loc in vans and on_hand != world["opening_stock"] - used.get((loc, part), 0):
            failures.append(f"van {loc} part {part}: {on_hand} on hand, expected "
                            f"{world['opening_stock'] - used.get((loc, part), 0)}")
    moved = Counter(session.execute(sa.text(
        "SELECT source FROM stock_movements WHERE kind = 'consumed'")).scalars())
    twice = [s for s, n in moved.items() if n != 1]
    usage_ids = session.execute(sa.text("SELECT CAST(id AS TEXT) FROM part_usages")).scalars().all()
    unmoved = [u for u in usage_ids if moved.get(f"part_usage:{u}") != 1]
    if twice or unmoved:
        failures.append(f"stock: {len(twice)} usages moved more than once, {len(unmoved)} usages not moved once")

    # Replicas equal a first sync, field by field.
    differing = 0
    for device in devices:
        fresh = first_syncs[device.username]
        if fresh != device.replica:
            differing += 1
            keys = set(fresh) ^ set(device.replica)
            fields = [k for k in set(fresh) & set(device.replica) if fresh[k] != device.replica[k]]
            if differing <= 3:
                sample = fields[0] if fields else None
                failures.append(f"{device.username}: replica differs ({len(keys)} records only on one side, "
                                f"{len(fields)} differing; e.g. {sorted(keys)[:2]} "
                                f"{sample and (device.replica[sample], fresh[sample])})")
    # Every conflict has a cause: an op on a job the dispatcher reassigned or cancelled.
    conflicts = session.execute(sa.text(
        "SELECT CAST(id AS TEXT), table_name, record_id, kind, CAST(op_id AS TEXT) FROM sync_conflicts")).all()
    uncaused = []
    for conflict_id, table, record_id, kind, op_id in conflicts:
        op = sent.get(op_id) if op_id else None
        job = record_id if table == "jobs" else (op or {}).get("fields", {}).get("job_id")
        if job not in touched:
            uncaused.append((conflict_id, table, kind))
    if uncaused:
        failures.append(f"{len(uncaused)} conflicts without a cause, e.g. {uncaused[:3]}")
    return {"failures": failures, "ops": len(sent), "accepted": len(accepted),
            "statuses": dict(Counter(first_status.values())), "conflicts": len(conflicts),
            "part_usages": len(usage_ids), "replicas": len(devices), "replicas_differing": differing}


# ---- the run -----------------------------------------------------------------------------------------------------

def run(url: str, size: Size, *, seed_: int = 7, media_root: str | None = None) -> dict:
    """Seed, serve, soak, check; in an app context whose database is ``url``."""
    import tempfile

    from server.extensions import db

    rng = random.Random(seed_)
    world = seed(db.session, size, rng)
    db.session.remove()
    media_root = media_root or tempfile.mkdtemp(prefix="fs-soak-media-")
    servers = [AppServer(url, size.workers, media_root) for _ in range(2)]
    stats: Counter = Counter()
    progress = Progress()
    touched: dict = {}
    stop = threading.Event()  # an error: everyone stops
    done = threading.Event()  # the devices' day is over: the dispatcher and the killer stop waiting
    proxy = None
    started = time.monotonic()
    try:
        for server in servers:
            server.start()
        proxy = FaultProxy(servers, size, seed_)
        proxy.start()
        devices = [Device(name, tech, world["vans"][tech], world["parts"], proxy.port, seed_ * 1000 + n, stats)
                   for n, (name, tech) in enumerate(world["technicians"])]
        for device in devices:
            device.pause = size.pause
        # Roughly: each job's steps are ~12 operations; some jobs are taken away.
        total_ops = size.devices * size.jobs_per_device * 10
        errors: list[BaseException] = []

        def guarded(target, *args):
            def body():
                try:
                    target(*args)
                except BaseException as exc:  # reported after the run  # noqa: BLE001
                    errors.append(exc)
                    stop.set()
            return threading.Thread(target=body, daemon=True)

        day = [guarded(d.run_day, progress, stop) for d in devices]
        others = [guarded(dispatcher_day, proxy.port, world, size, seed_, touched, progress, total_ops, stats, done),
                  guarded(killer, servers, size, progress, total_ops, stats, done)]
        TIMELINE.append((round(time.monotonic(), 1), "start", 0))
        for thread in day + others:
            thread.start()
        for thread in day:
            thread.join(timeout=3600)
        done.set()
        TIMELINE.append((round(time.monotonic(), 1), "day over", progress.ops))
        for thread in others:
            thread.join(timeout=600)
        if errors:
            raise errors[0]
        # A second round: jobs handed over late are worked by their new holders, then everyone settles.
        for device in devices:
            device.pause = 0.0
        finishers = [guarded(d.run_day, progress, stop) for d in devices]
        for thread in finishers:
            thread.start()
        for thread in finishers:
            thread.join(timeout=3600)
        if errors:
            raise errors[0]
        for server in servers:  # both up for the end (a kill may have been the last thing)
            if server.process is None or server.process.poll() is not None:
                server.start()
        for device in devices:
            device.push()
            device.pull()
        first_syncs = {d.username: d.first_sync() for d in devices}
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        if proxy:
            proxy.stop()
        for server in servers:
            server.stop()
    db.session.remove()
    report = check(db.session, world, devices, touched, first_syncs)
    db.session.remove()
    report.update({
        "seconds": round(elapsed, 1), "devices": size.devices, "jobs": len(world["jobs"]), "kills": stats["kills"],
        "retries": stats["retries"], "dispatcher_actions": dict(Counter(touched.values())),
        "dispatcher_on_busy_jobs": stats["dispatcher_busy_picks"],
        "faults": {k: v for k, v in proxy.stats.items() if k != "none"}, "requests": sum(proxy.stats.values())})
    report["ops_per_second"] = round(report["ops"] / max(elapsed, 0.001), 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="ci")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from _sync_common import migrated_app, scratch_postgres_url

    url = scratch_postgres_url("soak")
    if url is None:
        sys.exit("the soak runs on PostgreSQL: set BENCH_DATABASE_URL or TEST_DATABASE_URL")
    app = migrated_app(url)
    with app.app_context():
        report = run(url, SIZES[args.size], seed_=args.seed)
    print(json.dumps(report, indent=2))
    print(TIMELINE)
    if report["failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
