"""Shared by the serving benchmarks: a scratch SQLite world (a technician
whose scope holds a chosen number of records), the app served by gunicorn
as today's settings served it (sync workers) or as deploy/gunicorn.conf.py
serves it now, and a small sync client."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _sync_common import ROOT, free_port, migrated_app

PASSWORD = "bench-password"  # noqa: S105  (a scratch database's only account)

# name -> gunicorn arguments (after the bind)
SETUPS = {
    # What `make run` served before: gunicorn's defaults, sync workers, 2 of them, 30 s worker timeout.
    "sync x2 (before)": ["--workers", "2", "--timeout", "30"],
    "gthread x2 8 threads": ["-c", "deploy/gunicorn.conf.py", "--workers", "2", "-k", "gthread", "--threads", "8"],
    "gevent x2 (now)": ["-c", "deploy/gunicorn.conf.py", "--workers", "2"],
}
BEFORE, NOW = "sync x2 (before)", "gevent x2 (now)"


def build_world(tmp: Path, records: int) -> dict:
    """A technician whose first sync holds about ``records`` records (jobs
    with their tickets, customers, sites and assets: 5 records per job)."""
    from server.accounts.models import Role, User
    from server.accounts.passwords import hash_password
    from server.customers.models import Asset, Customer, Site
    from server.db import utcnow
    from server.extensions import db
    from server.jobs.models import Job
    from server.stock.models import LocationKind, StockLocation
    from server.technicians.models import Technician
    from server.tickets.models import Ticket

    url = f"sqlite:///{tmp / 'bench.db'}"
    app = migrated_app(url)
    with app.app_context():
        user = User(username="bench-tech", display_name="Bench", password_hash=hash_password(PASSWORD, "fast"),
                    role=Role.technician)
        office = User(username="bench-office", display_name="Office", password_hash=hash_password(PASSWORD, "fast"),
                      role=Role.dispatcher)
        van = StockLocation(code="VAN-B", name="Van", kind=LocationKind.van, latitude=31.2, longitude=121.4)
        db.session.add_all([user, office, van])
        db.session.flush()
        tech = Technician(user_id=user.id, name="Bench", home_latitude=31.2, home_longitude=121.4,
                          van_location_id=van.id)
        db.session.add(tech)
        db.session.flush()
        now = utcnow()
        jobs = []
        for n in range(max(1, records // 5)):
            customer = Customer(name=f"客户 {n} 有限公司", address=f"上海市浦东新区张江路 {n} 号",
                                phone="021-5555-0100")
            db.session.add(customer)
            db.session.flush()
            site = Site(customer_id=customer.id, name="一号厂房", address=f"张江路 {n} 号", city="上海",
                        latitude=31.2 + n * 1e-4, longitude=121.4)
            db.session.add(site)
            db.session.flush()
            asset = Asset(site_id=site.id, product_line="chiller", model="CH-200", serial_number=f"SN-{n:06d}")
            db.session.add(asset)
            db.session.flush()
            ticket = Ticket(reference=f"T-{n:06d}", customer_id=customer.id, site_id=site.id, asset_id=asset.id,
                            channel="phone", category="repair", summary="机组不制冷，压缩机异响", owner_id=office.id,
                            received_at=now, response_due_at=now, on_site_due_at=now, resolve_due_at=now)
            db.session.add(ticket)
            db.session.flush()
            job = Job(ticket_id=ticket.id, technician_id=tech.id, instructions="到场前请先电话联系现场负责人")
            db.session.add(job)
            jobs.append(job)
        db.session.commit()
        job_ids = [str(j.id) for j in jobs]
    return {"url": url, "jobs": job_ids, "media": str(tmp / "media")}


class Served:
    """gunicorn on a free 127.0.0.1 port with one of :data:`SETUPS`."""

    def __init__(self, world: dict, setup: str, *, env: dict | None = None, extra_args: list[str] | None = None):
        self.port = free_port()
        environment = {**os.environ, "DATABASE_URL": world["url"], "FIELDSYNC_SECRET_KEY": "bench",
                       "FIELDSYNC_MEDIA_ROOT": world["media"], "FIELDSYNC_MEDIA_WORKER": "separate",
                       "FIELDSYNC_MEDIA_MAX_OPEN_UPLOADS": "100000", "FIELDSYNC_LOG_LEVEL": "WARNING",
                       "FIELDSYNC_MEDIA_MAX_UPLOAD_BYTES": str(256 * 1024 * 1024), **(env or {})}
        if setup == BEFORE:
            # Before, nothing in the app bounded a body read: only the worker timeout did.
            environment["FIELDSYNC_REQUEST_READ_TIMEOUT_SECONDS"] = "3600"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603  (our own gunicorn, fixed arguments)
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *SETUPS[setup],
             *(extra_args or []), "wsgi:app"], cwd=ROOT, env=environment, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        import requests

        for _ in range(300):
            try:
                requests.get(self.url + "/healthz", timeout=5)
                return
            except requests.RequestException:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start: " + Path(self.log.name).read_text()[-2000:])

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # quick shutdown: stuck workers are not waited for
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def login(base: str, session=None) -> dict:
    import requests

    http = session or requests
    answer = http.post(f"{base}/api/v1/auth/token", timeout=60, json={
        "username": "bench-tech", "password": PASSWORD, "device_id": "bench-handheld"})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def check_in_ops(job_id: str, count: int) -> list[dict]:
    return [{"op_id": str(uuid.uuid4()), "table": "check_ins", "id": str(uuid.uuid4()), "action": "create",
             "fields": {"job_id": job_id, "kind": "arrival", "latitude": 31.2, "longitude": 121.4}}
            for _ in range(count)]


def push_body(ops: list[dict], pull: dict | None = None) -> bytes:
    """A protocol-1 push; with ``pull`` (``{"cursor": …}``) its answer carries the pull too."""
    return json.dumps({"protocol": 1, "ops": ops, **({"pull": pull} if pull is not None else {})}).encode()


def create_upload(base: str, auth: dict, data: bytes, session=None) -> str:
    import requests

    http = session or requests
    digest = hashlib.sha256(data).hexdigest()
    created = http.post(f"{base}/api/v1/uploads/", timeout=60, headers={
        **auth, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": f"sha256 {base64.b64encode(digest.encode()).decode()}"})
    created.raise_for_status()
    return created.headers["Location"]


def noisy_jpeg(width: int, height: int, seed: int = 1) -> bytes:
    import io
    import random

    from PIL import Image

    image = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
