"""The real WatermelonDB client's sync: a first sync of a 5,000-record scope
(time and records/s) and an incremental sync of 100 changes, through
``synchronize()`` (@nozbe/watermelondb 0.28, LokiJS in memory, Node; the glue
of sync/README.md) against a real HTTP server on 127.0.0.1, next to
bench/bench_sync_pull.py's server-side figures for the same scope, in the same
run (its plain SELECT is the baseline).

    .venv/bin/python bench/bench_wmdb_client.py   # + PostgreSQL when TEST_DATABASE_URL/BENCH_DATABASE_URL is set

Needs node and tests/wmdb/node_modules (``cd tests/wmdb && npm ci``).
Bounded: BENCH_RUNS runs per figure (medians; default 3 for the client, 7 server side).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import bench_sync_pull
from _sync_common import ROOT, scratch_postgres_url

CLIENT_RUNS = os.environ.get("BENCH_RUNS", "3")


def client(backend: str, url: str | None) -> dict:
    command = ["node", "bench.js", backend] + ([url] if url else [])
    done = subprocess.run(command, cwd=ROOT / "tests" / "wmdb", capture_output=True, text=True, timeout=1800,  # noqa: S603
                          env={**os.environ, "BENCH_RUNS": CLIENT_RUNS, "FIELDSYNC_PYTHON": sys.executable})
    if done.returncode != 0:
        raise SystemExit(f"the client benchmark failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if shutil.which("node") is None or not (ROOT / "tests" / "wmdb" / "node_modules").is_dir():
        raise SystemExit("needs node and tests/wmdb/node_modules (cd tests/wmdb && npm ci)")
    print("== server side (bench/bench_sync_pull.py), same run")
    bench_sync_pull.main()
    print("\n== through the real WatermelonDB client (synchronize(), LokiJS in memory, HTTP on 127.0.0.1)")
    backends = [("sqlite", None)]
    postgres = scratch_postgres_url("bench_wmdb")
    if postgres:
        backends.append(("postgresql", postgres))
    for backend, url in backends:
        figures = client(backend, url)
        print(f"\n[{backend}] median of {figures['runs']} runs, each on a fresh device database")
        print(f"  first sync, {figures['records']:,} records              {figures['first_ms']:8.1f} ms   "
              f"{figures['records_per_s']:8,.0f} records/s")
        print(f"  incremental sync, 100 changes                 {figures['incremental_ms']:8.1f} ms")
        print(f"  of which the server's WatermelonDB pull request: first sync {figures['server_first_ms']:.1f} ms, "
              f"incremental {figures['server_incremental_ms']:.1f} ms (its request log)")


if __name__ == "__main__":
    main()
