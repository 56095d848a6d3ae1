"""Shared by the benchmarks: scratch databases and a real HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def scratch_urls() -> list[tuple[str, str]]:
    """(name, url) of the scratch databases to run on: SQLite always,
    PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL is set."""
    urls = [("sqlite", f"sqlite:///{tempfile.mkdtemp(prefix='fs-bench-')}/bench.db")]
    postgres = scratch_postgres_url("bench_sync")
    if postgres:
        urls.append(("postgresql", postgres))
    return urls


def scratch_postgres_url(suffix: str) -> str | None:
    """An empty PostgreSQL database of the benchmark's own, ``<name>_<suffix>``
    beside the one BENCH_DATABASE_URL or TEST_DATABASE_URL names (created if
    missing, emptied if not; no other database is touched); None without them."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        return None
    from server.config import normalise_database_url

    url = sa.engine.make_url(normalise_database_url(base))
    scratch = url.set(database=f"{url.database}_{suffix}")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": scratch.database}):
                connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    except sa.exc.OperationalError as exc:
        print(f"(PostgreSQL skipped: {exc.orig})")
        return None
    finally:
        engine.dispose()
    scratch_url = scratch.render_as_string(hide_password=False)
    reset_database(scratch_url)
    return scratch_url


def reset_database(url: str) -> None:
    """Empty a scratch database made by :func:`scratch_urls` (schema and data)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
        if connection.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")):
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()


def migrated_app(url: str):
    from flask_migrate import upgrade

    from server import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with one sync worker on 127.0.0.1, stopped on exit."""

    def __init__(self, url: str, seconds: int = 300):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "FIELDSYNC_SECRET_KEY": "bench"}
        self.process = subprocess.Popen(  # noqa: S603  (our own gunicorn, fixed arguments)
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--timeout", str(seconds), "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        import requests

        for _ in range(300):
            try:
                requests.get(self.url + "/healthz", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
