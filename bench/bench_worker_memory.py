"""Peak RSS of a gunicorn worker (the `make run` set-up, one gevent worker)
during a 5,000-record first sync and a 60 MB upload, with 0, 32 and 128 slow
uploads open beside them (half stalled, half at 1 KB/s): it should stay flat
as slow clients are added. The worker's peak (VmHWM) is read from /proc.

The 60 MB upload is random bytes: it crosses the socket, is staged and
fsynced, hashed and then refused as not an image (415) -- the transport
path, which is what slow clients share; decoding a 60 MB photo is the
media worker's job, not the web worker's.

    .venv/bin/python bench/bench_worker_memory.py [--counts 0,32,128] [--upload-mb 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _serving_common import NOW, Served, build_world, create_upload, login  # noqa: E402
from bench_slow_clients import UPLOAD_LENGTH, SlowSenders  # noqa: E402


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def first_sync(base: str, auth: dict) -> int:
    import requests

    records, cursor = 0, None
    with requests.Session() as http:
        while True:
            page = http.get(f"{base}/api/v1/sync/pull", headers=auth, timeout=300,
                            params={"protocol": 1, **({"cursor": cursor} if cursor else {})}).json()
            records += len(page["changes"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return records


def big_upload(base: str, auth: dict, size: int) -> int:
    import requests

    data = os.urandom(size)
    location = create_upload(base, auth, data)
    answer = requests.patch(location, data=data, timeout=600, headers={
        **auth, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    return answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="0,32,128")
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--upload-mb", type=int, default=60)
    args = parser.parse_args()
    counts = [min(int(c), 256) for c in args.counts.split(",")]
    size = min(args.upload_mb, 200) * 1024 * 1024
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmpdir:
        world = build_world(Path(tmpdir), min(args.records, 20_000))
        for count in counts:
            with Served(world, NOW, extra_args=["--workers", "1"]) as served:
                (worker,) = served.worker_pids()
                auth = login(served.url)
                import requests

                with requests.Session() as http:
                    locations = [create_upload(served.url, auth, b"\0" * UPLOAD_LENGTH, session=http)
                                 for _ in range(count)]
                senders = SlowSenders(served.url, auth, locations) if count else None
                try:
                    time.sleep(0.5)
                    idle = peak_kib(worker)
                    records = first_sync(served.url, auth)
                    after_sync = peak_kib(worker)
                    status = big_upload(served.url, auth, size)
                    after_upload = peak_kib(worker)
                finally:
                    if senders:
                        senders.close()
                rows.append((count, idle, after_sync, after_upload, records, status))
                print(f"  {count} slow: done", flush=True)
    print(f"peak RSS of the one gevent worker (VmHWM, MiB); first sync of {rows[0][4]:,} records, then a "
          f"{size / 2**20:.0f} MiB upload (answer {rows[0][5]})")
    print(f"{'slow clients':>12} {'before work':>12} {'after sync':>11} {'after upload':>13}")
    for count, idle, after_sync, after_upload, _records, _status in rows:
        print(f"{count:>12} {idle / 1024:>12.1f} {after_sync / 1024:>11.1f} {after_upload / 1024:>13.1f}")
    for row in rows[1:]:
        print(f"with {row[0]:>3} slow clients: peak {row[3] / rows[0][3]:.2f} of the peak with {rows[0][0]}")


if __name__ == "__main__":
    main()
