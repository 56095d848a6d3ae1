"""gunicorn settings for FieldSync: what `make run` uses and what production
should use (README, "Serving"). Every value can be overridden on the command
line or with GUNICORN_CMD_ARGS.

Why gevent workers: a phone on a poor link may take minutes to send a body,
or stop sending mid-request without closing the connection. With sync
workers each such connection holds a whole worker until the 30 s worker
timeout (two stalled uploads froze the API for 33 s); with threads it holds a
thread, so a few dozen stalled phones exhaust the pool. Under gevent a
waiting connection is a parked greenlet of a few KiB: bench/bench_slow_clients.py
measures the three with 2..128 stalled and 1 KB/s uploads open.
"""

import contextlib
import os

# Imported here, in the master before any worker forks: the media worker's
# thread must not be importing a module (subprocess above all) at the moment a
# worker forks, or the worker inherits it half initialised and gevent's
# monkey-patching fails ("partially initialized module 'subprocess'").
import subprocess
import sys
import threading
import time

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
# Connections one worker holds at once (idle keep-alive ones included).
worker_connections = 1000
# An idle keep-alive connection waits this long for its next request: a
# technician's sync is a burst of requests, and a new TCP (and TLS) handshake
# costs a round trip or two on a 300 ms link. Behind a load balancer, keep
# this above the balancer's own idle timeout.
keepalive = 75
# The worker's heartbeat: a hub blocked this long by CPU (never by a slow
# client: reads have their own per-request timeouts, server/serving.py) is
# restarted.
timeout = 60
graceful_timeout = 30
# Request line and headers: a client sends them within keepalive seconds or is dropped.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Closing a worker now and then returns memory a burst of big pulls left behind.
max_requests = 20000
max_requests_jitter = 2000


# ---- the media worker (thumbnails), beside the web workers -----------------------------------------------
# FIELDSYNC_MEDIA_WORKER=inline (the default, and what `make run` uses): the
# master starts `flask media-worker` as a child process, restarts it if it
# dies, and stops it on exit, so thumbnails are made with nothing else to run.
# =separate: run `make worker` (or several, on PostgreSQL) yourself instead.
# A process of its own, not a thread in a web worker: making a thumbnail is
# CPU work that would hold a gevent worker's every connection meanwhile.

_media = {"process": None, "stopping": False}


def _die_with_parent():
    """Linux: the media worker gets SIGTERM if the master dies without
    on_exit (SIGKILL, a crash), instead of living on as an orphan."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _media_worker_loop(log):
    delay = 1.0
    while not _media["stopping"]:
        started = time.monotonic()
        _media["process"] = subprocess.Popen(  # noqa: S603  (our own interpreter and command)
            [sys.executable, "-m", "flask", "--app", "server:create_app", "media-worker"],
            preexec_fn=_die_with_parent)  # noqa: PLW1509  (a single prctl call, no locks taken)
        code = _media["process"].wait()
        if _media["stopping"]:
            return
        delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 60.0)
        log.warning("media worker exited with %s; restarting in %.0f s", code, delay)
        time.sleep(delay)


def on_starting(server):
    # Warn about the demo secret key here, once, in the master: the workers and
    # the media worker inherit the mark and stay quiet (server.warn_demo_secret_key_once).
    from server.config import DEMO_KEY_WARNED_ENV, DEMO_KEY_WARNING

    if not os.environ.get("FIELDSYNC_SECRET_KEY") and os.environ.get(DEMO_KEY_WARNED_ENV) != "1":
        server.log.warning(DEMO_KEY_WARNING)
    os.environ[DEMO_KEY_WARNED_ENV] = "1"


def when_ready(server):
    if os.environ.get("FIELDSYNC_MEDIA_WORKER", "inline") != "inline":
        return
    threading.Thread(target=_media_worker_loop, args=(server.log,), name="media-worker", daemon=True).start()
    server.log.info("media worker started beside the web workers (FIELDSYNC_MEDIA_WORKER=separate to run it apart)")


def on_exit(server):
    _media["stopping"] = True
    process = _media["process"]
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except Exception:  # noqa: BLE001  (still running: make sure it goes)
            process.kill()


# ---- Prometheus metrics from several workers (server/metrics.py) ---------------------------------------
# Each worker writes its counters to files in this folder; a scrape adds them
# up. A fresh folder per start, so that old workers' figures do not linger.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fieldsync-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
