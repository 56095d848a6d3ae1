"""Slow and stalled clients against a healthy one: with 2, 8, 32 and 128
uploads open whose senders stalled (half) or send 1 KB/s (half), a healthy
client's GET /healthz and small push (5 operations), timed, with a 5 s client
timeout. Each server set-up in the same run: today's (gunicorn sync workers,
2), threads (gthread, 2 x 8) and the one `make run` uses now (gevent, 2).

    .venv/bin/python bench/bench_slow_clients.py [--window 6] [--counts 2,8,32,128]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _serving_common import NOW, SETUPS, Served, build_world, check_in_ops, create_upload, login, push_body  # noqa: E402

PROBE_TIMEOUT = 5.0
UPLOAD_LENGTH = 4 * 1024 * 1024


class SlowSenders:
    """``count`` PATCHes in flight: half send nothing after their first 8 KiB
    (a lost signal), half send 100 bytes every 0.1 s (1 KB/s)."""

    def __init__(self, base: str, auth: dict, locations: list[str]):
        self.sockets = []
        self.trickling = []
        port = urlparse(base).port
        for n, location in enumerate(locations):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            head = (f"PATCH {urlparse(location).path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                    f"Content-Type: application/offset+octet-stream\r\nContent-Length: {UPLOAD_LENGTH}\r\n\r\n")
            raw.sendall(head.encode() + b"\0" * 8192)
            raw.setblocking(False)
            self.sockets.append(raw)
            if n % 2:
                self.trickling.append(raw)
        self.running = True
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self):
        while self.running:
            for raw in self.trickling:
                with contextlib.suppress(OSError):  # buffer full or closed by the server: slow either way
                    raw.send(b"\0" * 100)
            time.sleep(0.1)

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        for raw in self.sockets:
            raw.close()


def probe(base: str, auth: dict, job_id: str, window: float) -> tuple[list[float], int]:
    """Alternate GET /healthz and a 5-operation push for ``window`` seconds;
    latencies of the answered ones and the count that timed out."""
    import requests

    latencies, timeouts = [], 0
    deadline = time.monotonic() + window
    n = 0
    with requests.Session() as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                if n % 2:
                    answer = http.post(f"{base}/api/v1/sync/push", data=push_body(check_in_ops(job_id, 5)),
                                       headers={**auth, "Content-Type": "application/json"}, timeout=PROBE_TIMEOUT)
                else:
                    answer = http.get(f"{base}/healthz", timeout=PROBE_TIMEOUT)
                answer.raise_for_status()
                latencies.append(time.perf_counter() - started)
            except requests.RequestException:
                timeouts += 1
                http.close()
            n += 1
            time.sleep(0.05)
    return latencies, timeouts


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=6.0, help="seconds of probing per case (default 6)")
    parser.add_argument("--counts", default="2,8,32,128", help="slow uploads open (default 2,8,32,128)")
    parser.add_argument("--setups", default=",".join(SETUPS), help="server set-ups to compare")
    args = parser.parse_args()
    counts = [min(int(c), 256) for c in args.counts.split(",")]
    window = min(max(args.window, 1.0), 30.0)
    setups = [s for s in args.setups.split(",") if s in SETUPS]
    results: dict[tuple[str, int], tuple[float, float, int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-slow-") as tmpdir:
        world = build_world(Path(tmpdir), records=50)
        print(f"slow clients: {window:g} s of probes per case, client timeout {PROBE_TIMEOUT:g} s, "
              f"half the slow uploads stalled, half at 1 KB/s")
        print(f"{'server':<24} {'slow':>5} {'answered':>9} {'p50 ms':>9} {'p99 ms':>9} {'timeouts':>9}")
        for setup in setups:
            for count in counts:
                with Served(world, setup) as served:
                    auth = login(served.url)
                    import requests

                    with requests.Session() as http:
                        locations = [create_upload(served.url, auth, b"\0" * UPLOAD_LENGTH, session=http)
                                     for _ in range(count)]
                    senders = SlowSenders(served.url, auth, locations)
                    try:
                        time.sleep(0.5)  # let every slow request reach a worker
                        latencies, timeouts = probe(served.url, auth, world["jobs"][0], window)
                    finally:
                        senders.close()
                median = statistics.median(latencies) * 1000 if latencies else float("nan")
                results[(setup, count)] = (median, p99(latencies) * 1000, len(latencies), timeouts)
                print(f"{setup:<24} {count:>5} {len(latencies):>9} {median:>9.1f} {p99(latencies) * 1000:>9.1f} "
                      f"{timeouts:>9}", flush=True)
    if NOW in setups:
        for setup in setups:
            if setup == NOW:
                continue
            for count in counts:
                before, now = results[(setup, count)], results[(NOW, count)]
                print(f"with {count:>3} slow: {NOW} answered {now[2]} (p99 {now[1]:.0f} ms, {now[3]} timeouts) "
                      f"vs {setup}: {before[2]} (p99 {before[1]:.0f} ms, {before[3]} timeouts)")


if __name__ == "__main__":
    main()
