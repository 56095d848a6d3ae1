"""A technician's day over a simulated field link: a throttling proxy on
127.0.0.1 (300 ms round trip, 1 Mbit/s each way shared by all connections, a
TCP handshake costing a round trip, and a dropped connection now and then)
between a sync client and the app. First sync of ~2,500 records, a day's 20
pushes and pulls, 20 photos over tus; wall time, bytes and round trips.

Before: today's server settings (gunicorn sync workers, 2: a connection per
request, no compression). Now: `make run`'s settings (gevent, keep-alive,
gzip answers) with a client that keeps its connection, accepts gzip and
gzips its pushes, and syncs as before (a push, then a pull); "now, the push
carries the pull" asks for the pull in the push (`"pull": {"cursor": …}`)
and takes the changes from its answer, and asks for pages of up to 10,000
changes (a first sync in one page): one round trip per sync. With
--together, also the older trick of sending each push and its pull at once
on two connections. Same client code, same run.

    .venv/bin/python bench/bench_field_link.py [--records 2500] [--photos 20] [--together]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _serving_common import BEFORE, NOW, Served, build_world, check_in_ops, login, noisy_jpeg, push_body  # noqa: E402
from _sync_common import free_port  # noqa: E402

CARRIED = "now, the push carries the pull"
RTT = 0.300
RATE = 1_000_000 / 8  # bytes per second, each way
DROP_EVERY = 1_500_000  # bytes through the link between two dropped connections


class Link:
    """One direction of the shared link: serialisation at RATE, then half the RTT."""

    def __init__(self):
        self.busy_until = 0.0
        self.bytes = 0

    def schedule(self, size: int, now: float) -> float:
        start = max(now, self.busy_until)
        self.busy_until = start + size / RATE
        self.bytes += size
        return self.busy_until + RTT / 2


class ThrottlingProxy:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.up, self.down = Link(), Link()
        self.connections = 0
        self.drops = 0
        self.writers: set[asyncio.StreamWriter] = set()  # open connections' ends, aborted on stop
        self.since_drop = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    def stats(self) -> tuple[int, int, int, int]:
        return self.up.bytes, self.down.bytes, self.connections, self.drops

    async def _serve(self, client_reader, client_writer):
        self.connections += 1
        ends = [client_writer]
        self.writers.add(client_writer)
        try:
            await asyncio.sleep(RTT)  # the TCP handshake (TLS would add one or two more)
            try:
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            except OSError:
                return
            ends.append(server_writer)
            self.writers.add(server_writer)
            state = {"dead": False}
            writers = (client_writer, server_writer)
            await asyncio.gather(self._pipe(client_reader, server_writer, self.up, state, writers),
                                 self._pipe(server_reader, client_writer, self.down, state, writers),
                                 return_exceptions=True)
        finally:
            for writer in ends:
                self.writers.discard(writer)
                with _quiet():
                    writer.close()

    async def _pipe(self, reader, writer, link: Link, state, writers):
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while True:
                item = await queue.get()
                if item is None or state["dead"]:
                    break
                due, data = item
                await asyncio.sleep(max(0.0, due - loop.time()))
                if state["dead"]:
                    break
                writer.write(data)
                await writer.drain()
            if not state["dead"]:
                with _quiet():
                    writer.write_eof()

        sender = asyncio.ensure_future(deliver())
        try:
            while not state["dead"]:
                data = await reader.read(16384)
                if not data:
                    break
                self.since_drop += len(data)
                if self.since_drop >= DROP_EVERY:  # the signal is lost: both ends see the connection die
                    self.since_drop = 0
                    self.drops += 1
                    state["dead"] = True
                    for w in writers:
                        with _quiet():
                            w.transport.abort()
                    break
                await queue.put((link.schedule(len(data), loop.time()), data))
        finally:
            await queue.put(None)
            await sender

    async def _shutdown(self):
        """Everything ended inside the loop before it stops: the listener closed,
        open connections aborted and their tasks awaited. (Stopping the
        loop with tasks and transports still alive left them to be collected
        after it closed: "Event loop is closed" at exit.)"""
        self.server.close()
        for writer in list(self.writers):
            with _quiet():
                writer.transport.abort()  # its reads end (EOF), so its pipes and task end on their own
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            _done, stuck = await asyncio.wait(tasks, timeout=10)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        await self.server.wait_closed()
        await self.loop.shutdown_asyncgens()

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


class Client:
    """A handheld: retries a request whose connection died; tus resumes from HEAD."""

    def __init__(self, base: str, *, modern: bool, page_limit: int | None = None):
        import requests

        self.base = base
        self.modern = modern
        self.page_limit = page_limit  # changes per pull page (None: the server's default, 1,000)
        self.http = requests.Session()
        self.pool = ThreadPoolExecutor(2)
        self.side = requests.Session()
        self.requests = 0
        self.server_errors = 0
        if not modern:
            # Today's server compresses nothing; say so, so that both runs ask the same of it.
            self.http.headers["Accept-Encoding"] = "identity"
            self.side.headers["Accept-Encoding"] = "identity"
        self.auth = self._retry(lambda http: login(self.base, http))

    def _retry(self, call, http=None, attempts=8):
        import requests

        for attempt in range(attempts):
            self.requests += 1
            try:
                return call(http or self.http)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                (http or self.http).close()
                if attempt == attempts - 1:
                    raise
            except requests.HTTPError as exc:  # counted and shown: a 5xx is retried as a handheld would
                if exc.response is None or exc.response.status_code < 500 or attempt == attempts - 1:
                    raise
                self.server_errors += 1
                print(f"   (server error {exc.response.status_code}: {exc.response.text[:200]})", flush=True)
        return None

    def pull_all(self, cursor=None, http=None) -> tuple[str | None, int]:
        records = 0
        while True:
            params = {"protocol": 1, **({"cursor": cursor} if cursor else {}),
                      **({"limit": self.page_limit} if self.page_limit else {})}

            def get(session, params=params):
                answer = session.get(f"{self.base}/api/v1/sync/pull", params=params, headers=self.auth, timeout=120)
                answer.raise_for_status()
                return answer.json()

            page = self._retry(get, http)
            records += len(page["changes"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return cursor, records

    def push(self, ops: list[dict], http=None, pull: dict | None = None) -> dict:
        body = push_body(ops, pull=pull)
        headers = {**self.auth, "Content-Type": "application/json"}
        if self.modern:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"

        def post(session):
            answer = session.post(f"{self.base}/api/v1/sync/push", data=body, headers=headers, timeout=120)
            answer.raise_for_status()
            return answer.json()

        return self._retry(post, http)  # the same op_ids again after a lost answer: applied once

    def sync(self, ops, cursor, mode: str):
        if mode == "together":
            pushed = self.pool.submit(self.push, ops, self.side)
            cursor, _ = self.pull_all(cursor)
            pushed.result()
            return cursor
        if mode == "carried":
            # One round trip: the push's answer carries the pull from the device's cursor.
            wanted = {"cursor": cursor, **({"limit": self.page_limit} if self.page_limit else {})}
            page = self.push(ops, pull=wanted)["pull"]
            return self.pull_all(page["next_cursor"])[0] if page["has_more"] else page["next_cursor"]
        self.push(ops)
        return self.pull_all(cursor)[0]

    def upload(self, data: bytes) -> None:
        import base64

        digest = hashlib.sha256(data).hexdigest()
        tus = {**self.auth, "Tus-Resumable": "1.0.0"}

        def create(session):
            answer = session.post(f"{self.base}/api/v1/uploads/", timeout=120, headers={
                **tus, "Upload-Length": str(len(data)),
                "Upload-Metadata": f"sha256 {base64.b64encode(digest.encode()).decode()}"})
            answer.raise_for_status()
            return urlparse(answer.headers["Location"]).path

        path = self._retry(create)
        offset = 0
        for _ in range(20):
            try:
                self.requests += 1
                answer = self.http.patch(f"{self.base}{path}", data=data[offset:], timeout=120, headers={
                    **tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                if answer.status_code == 204:
                    return
            except Exception:  # noqa: BLE001  (any failure: ask the server where to resume, as tus clients do)
                self.http.close()
            for _ in range(40):
                head = self._retry(lambda s: s.head(f"{self.base}{path}", headers=tus, timeout=120))
                if head.status_code == 200:
                    offset = int(head.headers["Upload-Offset"])
                    break
                time.sleep(0.25)  # 423 while the dead request still holds the upload
            if offset == len(data):
                return
        raise RuntimeError("upload did not finish")

    def close(self):
        self.pool.shutdown()
        self.http.close()
        self.side.close()


def run(world, setup: str, *, modern: bool, mode: str, photos: list[bytes], job_id: str) -> dict:
    with Served(world, setup) as served:
        proxy = ThrottlingProxy(served.port)
        try:
            # One round trip per sync: the push carries the pull, and a first sync comes in one page.
            client = Client(f"http://127.0.0.1:{proxy.port}", modern=modern,
                            page_limit=10_000 if mode == "carried" else None)
            cursor = {}

            def first_sync():
                cursor["now"], records = client.pull_all()
                return records

            def days_sync():
                for _ in range(20):
                    cursor["now"] = client.sync(check_in_ops(job_id, 5), cursor["now"], mode)

            figures = {}
            for name, work in [("first sync", first_sync), ("day's sync", days_sync),
                               ("photos", lambda: [client.upload(p) for p in photos])]:
                up0, down0, conn0, drops0 = proxy.stats()
                requests0 = client.requests
                started = time.perf_counter()
                result = work()
                seconds = time.perf_counter() - started
                up, down, conn, drops = proxy.stats()
                figures[name] = {"seconds": seconds, "bytes": (up - up0) + (down - down0), "connections": conn - conn0,
                                 "requests": client.requests - requests0, "drops": drops - drops0,
                                 "records": result if name == "first sync" else None}
            figures["server errors"] = client.server_errors
            client.close()
            return figures
        finally:
            proxy.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2500)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--photo-kib", type=int, default=120, help="approximate photo size (default 120 KiB)")
    parser.add_argument("--together", action="store_true",
                        help="also the older trick: each push and its pull sent at once on two connections")
    args = parser.parse_args()
    records = min(max(args.records, 50), 10_000)
    count = min(max(args.photos, 0), 40)
    side = int((args.photo_kib * 1024 / 0.78) ** 0.5)  # a noisy JPEG at quality 85: about 0.78 bytes a pixel
    photos = [noisy_jpeg(side, side, seed=n) for n in range(count)]
    cases = [("before", BEFORE, False, "push, then pull"), ("now", NOW, True, "push, then pull"),
             (CARRIED, NOW, True, "carried")]
    if args.together:
        cases.append(("now, push and pull together", NOW, True, "together"))
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmpdir:
        for label, setup, modern, mode in cases:
            # A fresh world per case: the same first sync, the same photos (not yet stored).
            case_dir = Path(tmpdir) / label.replace(" ", "-").replace(",", "")
            case_dir.mkdir()
            world = build_world(case_dir, records)
            results[label] = run(world, setup, modern=modern, mode=mode, photos=photos,
                                 job_id=world["jobs"][0])
            print(f"-- {label} done", flush=True)
    mb = sum(len(p) for p in photos) / 1e6
    print(f"field link: {RTT * 1000:.0f} ms RTT, {RATE * 8 / 1e6:g} Mbit/s each way, a connection dropped every "
          f"{DROP_EVERY / 1e6:g} MB; {records:,} records, 20 pushes of 5 ops each followed by a pull, "
          f"{count} photos ({mb:.1f} MB)")
    print(f"{'case':<30} {'phase':<11} {'seconds':>8} {'KB':>8} {'requests':>9} {'connections':>12} {'drops':>6}")
    for label, figures in results.items():
        errors = figures.pop("server errors")
        if errors:
            print(f"{label}: {errors} answer(s) 5xx, retried")
        for phase, f in figures.items():
            extra = f"  ({f['records']:,} records)" if f["records"] else ""
            print(f"{label:<30} {phase:<11} {f['seconds']:>8.1f} {f['bytes'] / 1000:>8.0f} {f['requests']:>9} "
                  f"{f['connections']:>12} {f['drops']:>6}{extra}")
    before = results["before"]
    for label in list(results)[1:]:
        now = results[label]
        syncs_before = before["first sync"]["seconds"] + before["day's sync"]["seconds"]
        syncs_now = now["first sync"]["seconds"] + now["day's sync"]["seconds"]
        print(f"{label}: first sync + day's sync {syncs_now:.1f} s vs {syncs_before:.1f} s before "
              f"({syncs_now / syncs_before:.2f} of before); photos {now['photos']['seconds']:.1f} s vs "
              f"{before['photos']['seconds']:.1f} s")


if __name__ == "__main__":
    main()
