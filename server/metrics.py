"""Prometheus metrics at ``/metrics`` (prometheus_client).

Under gunicorn every worker is a process of its own: ``deploy/gunicorn.conf.py``
sets ``PROMETHEUS_MULTIPROC_DIR`` so that each worker writes its counters to
files there and a scrape, answered by whichever worker, adds them all up.
Figures that the database knows (open uploads, the media queue) are read from
it at scrape time, so every worker answers the same.

Not public: ``/metrics`` answers only a request carrying
``Authorization: Bearer <FIELDSYNC_METRICS_TOKEN>`` or coming from an address
in ``FIELDSYNC_METRICS_ALLOW`` (comma-separated networks, e.g.
``127.0.0.1/32,10.0.0.0/8``); with neither set it does not exist (404).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

_MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter("fieldsync_http_requests_total", "HTTP requests answered, by route and status",
                   ["method", "route", "status"])
LATENCY = Histogram("fieldsync_http_request_duration_seconds",
                    "Time to answer, by route (pull, push and dispatch latency among them)", ["method", "route"],
                    buckets=_LATENCY_BUCKETS)
PUSH_OPERATIONS = Counter("fieldsync_sync_push_operations_total", "Operations pushed by handhelds, by outcome",
                          ["protocol", "outcome"])
UPLOAD_BYTES = Counter("fieldsync_upload_bytes_total", "Bytes received by tus uploads (kept, interrupted ones too)")
POOL_CHECKED_OUT = Gauge("fieldsync_db_pool_checked_out", "Database connections in use (all workers)",
                         multiprocess_mode="livesum")
POOL_SIZE = Gauge("fieldsync_db_pool_size", "Database connections held open by the pools (all workers)",
                  multiprocess_mode="livesum")


def record_push(protocol: str, outcomes: dict[str, int]) -> None:
    for outcome, count in outcomes.items():
        if count:
            PUSH_OPERATIONS.labels(protocol, outcome).inc(count)


class _DatabaseFigures:
    """Open uploads and the media queue, read when scraped."""

    def collect(self):
        from sqlalchemy import func, select

        from media.models import Upload
        from media.tasks import queue_state
        from server.db import utcnow
        from server.extensions import db

        now = utcnow()
        # Collected inside the /metrics request: its session, read-only.
        try:
            open_uploads = db.session.scalar(select(func.count()).select_from(Upload).where(
                Upload.completed_at.is_(None), Upload.expires_at > now))
            pending, oldest = queue_state(db.session, now)
        finally:
            db.session.rollback()
        yield GaugeMetricFamily("fieldsync_uploads_open", "Unfinished tus uploads not yet expired",
                                value=open_uploads)
        yield GaugeMetricFamily("fieldsync_media_queue_depth", "Media tasks (thumbnails) not done yet", value=pending)
        yield GaugeMetricFamily("fieldsync_media_queue_age_seconds",
                                "How long the oldest media task has waited (0 when none wait)", value=oldest or 0.0)


def _allowed() -> bool:
    config = current_app.config
    token = config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "")
        if offered.startswith("Bearer ") and hmac.compare_digest(offered[7:].encode(), str(token).encode()):
            return True
    networks = config.get("METRICS_ALLOW") or ""
    if isinstance(networks, str):
        networks = [n for n in (p.strip() for p in networks.split(",")) if n]
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def init_app(app: Flask) -> None:
    database_figures = _DatabaseFigures()

    @app.before_request
    def _start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"  # bounded label values: the routes, not the paths
        if route != "/metrics":
            REQUESTS.labels(request.method, route, str(response.status_code)).inc()
            started = g.get("metrics_started")
            if started is not None:
                LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def _pool(_exc):
        from server.extensions import db

        pool = db.engine.pool
        if all(hasattr(pool, name) for name in ("checkedout", "size", "overflow")):  # QueuePool
            POOL_CHECKED_OUT.set(pool.checkedout())
            POOL_SIZE.set(pool.size() + max(pool.overflow(), 0))

    @app.get("/metrics")
    def metrics():
        if not _allowed():
            from server.api.errors import error_response

            return error_response(404, "not_found", "The requested URL was not found on the server.")
        registry = CollectorRegistry()
        if _MULTIPROCESS:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)
        else:
            from prometheus_client import REGISTRY

            registry = REGISTRY
        body = generate_latest(registry)
        extra = CollectorRegistry()
        extra.register(database_figures)
        body += generate_latest(extra)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
