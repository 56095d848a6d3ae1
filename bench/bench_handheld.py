"""The handheld app (/app/) in headless Chromium against a real server on
127.0.0.1 (SQLite), a technician with a 5,000-record scope (400 jobs with
their tickets, customers, sites and assets; 2,000 parts; 1,000 van stock
levels — bench_sync_pull's data set):

- first sync: from pressing 登录 to the job list drawn from WatermelonDB;
  baseline in the same run: the same pull fetched and parsed by the page
  with plain fetch() (the server and the wire, no database on the device);
- cold start offline: the browser started again on the same profile with the
  network cut (DevTools), from navigation to the 400 jobs listed; baseline:
  a file of the shell (icon.svg) served by the service worker the same way;
- bytes on the wire for a typical day: 20 jobs walked to completed through
  the app's own actions (three check-ins, report, an adjustment, a part, one
  ~2 MB photo made in the page, the customer's signature), then synced and
  uploaded; request and answer bodies and headers counted at the server,
  against the payload (the photos' bytes plus the records as JSON).

    .venv/bin/python bench/bench_handheld.py

Bounded: BENCH_RUNS runs of each timed figure (default 3; the median is
printed); every wait has a deadline. Needs Chromium and the committed bundle.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _sync_common import migrated_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_sync_pull import JOBS, LEVELS, PARTS, seed  # noqa: E402

from tests.browser import Browser, chromium_path  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PASSWORD = "bench-password"  # noqa: S105
DAY_JOBS = 20


class Wire:
    """WSGI middleware counting bytes in and out (bodies and headers) by kind of request."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = {}

    def _add(self, kind, up, down):
        with self.lock:
            c = self.counts.setdefault(kind, {"requests": 0, "up": 0, "down": 0})
            c["requests"] += 1
            c["up"] += up
            c["down"] += down

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        kind = ("pull" if "watermelon/pull" in path else "push" if "watermelon/push" in path
                else "upload" if path.startswith("/api/v1/uploads") else "app" if path.startswith("/app")
                else "other")
        request_headers = sum(len(k) + len(str(v)) + 4 for k, v in environ.items() if k.startswith("HTTP_"))
        up = request_headers + len(environ.get("REQUEST_METHOD", "")) + len(path) + 12 + int(
            environ.get("CONTENT_LENGTH") or 0)
        sent = {"headers": 0}

        def counting_start(status, headers, exc_info=None):
            sent["headers"] = len(status) + 11 + sum(len(k) + len(v) + 4 for k, v in headers)
            return start_response(status, headers, exc_info)

        body = 0
        for chunk in self.app(environ, counting_start):
            body += len(chunk)
            yield chunk
        self._add(kind, up, sent["headers"] + body)


def serve(app):
    from werkzeug.serving import make_server

    wire = Wire(app.wsgi_app)
    app.wsgi_app = wire
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, wire


def median_ms(values):
    return statistics.median(values) * 1000


def sign_in(browser, base):
    browser.goto(f"{base}/app/")
    browser.wait_for("document.getElementById('username')", timeout=60)
    browser.evaluate("document.getElementById('username').value = 'tech'")
    browser.evaluate(f"document.getElementById('password').value = {json.dumps(PASSWORD)}")
    start = time.perf_counter()
    browser.evaluate("document.getElementById('signin-button').click()")
    browser.wait_for(f"document.querySelectorAll('#jobs a.job').length === {JOBS} && "
                     "window.fieldsync.state.lastSyncAt", timeout=300)
    return time.perf_counter() - start


def raw_pull(browser):
    return browser.evaluate("""(async () => {
        const token = JSON.parse(localStorage.getItem('fieldsync.auth')).token
        const start = performance.now()
        const r = await fetch('/api/v1/sync/watermelon/pull?schema_version=2',
                              {headers: {Authorization: `Bearer ${token}`}})
        const body = await r.json()
        const n = Object.values(body.changes).reduce((s, t) => s + t.created.length + t.updated.length, 0)
        return [(performance.now() - start) / 1000, n]
    })()""")


DAY = """(async () => {
  const { db, actions, state } = window.fieldsync
  const me = JSON.parse(localStorage.getItem('fieldsync.auth')).technician_id
  const jobs = (await db.get('jobs').query().fetch()).filter((j) => j._raw.technician_id === me).slice(0, %(n)d)
  const levels = await db.get('stock_levels').query().fetch()
  let payload = 0
  for (const [i, job] of jobs.entries()) {
    for (let k = 0; k < 3; k += 1) await actions.advance(db, job, me)
    const report = {fault_cause: '压缩机过热保护 ' + i, solution: '清洗冷凝器，更换膨胀阀',
                    work_done: '检查制冷回路，试机正常。'}
    await actions.saveReport(db, job, report)
    await actions.addAdjustment(db, job, {parameter: '吸气压力', value_before: '0.2', value_after: '0.45',
                                          unit: 'MPa'})
    const part = await db.get('parts').find(levels[i].id.split(':')[1])
    await actions.addPartUsage(db, job, {part, quantity: 1, serials: []})
    // A ~2 MB photo: noise through the browser's own JPEG encoder.
    const canvas = new OffscreenCanvas(1600, 1200)
    const ctx = canvas.getContext('2d')
    const image = ctx.createImageData(1600, 1200)
    let seed = 1234567 + i
    for (let p = 0; p < image.data.length; p += 4) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      image.data[p] = seed & 255; image.data[p + 1] = (seed >> 8) & 255; image.data[p + 2] = (seed >> 16) & 255
      image.data[p + 3] = 255
    }
    ctx.putImageData(image, 0, 0)
    const blob = await canvas.convertToBlob({type: 'image/jpeg', quality: 0.85})
    payload += blob.size
    await actions.addPhoto(db, job, new File([blob], 'photo.jpg', {type: 'image/jpeg'}))
    const strokes = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((x) => ({x: 20 + 10 * x, y: 40 + (x %% 3) * 5, t: 16 * x,
                                                                 p: 0.5}))]
    await actions.sign(db, job, {signerName: '张经理', strokes, rating: 'satisfied', opinion: '满意'})
    await actions.advance(db, job, me)
  }
  let records = 0
  for (const table of ['jobs', 'adjustments', 'part_usages', 'check_ins', 'photos', 'signatures']) {
    const changed = await db.get(table).query().fetch()
    for (const r of changed) if (r._raw._status !== 'synced') records += JSON.stringify(r._raw).length
  }
  return [payload, records]
})()"""


def main() -> None:
    executable = chromium_path()
    if executable is None:
        print("bench_handheld: chromium is not installed (apt-get install chromium)")
        sys.exit(1)
    from server.accounts.models import User
    from server.accounts.passwords import hash_password
    from server.extensions import db

    work = Path(tempfile.mkdtemp(prefix="fs-bench-handheld-"))
    app = migrated_app(f"sqlite:///{work}/bench.db")
    app.config.update(MEDIA_ROOT=str(work / "media"), MEDIA_BACKEND="local", TESTING=False,
                      LOGIN_MAX_FAILURES=1000)
    seed(app)
    with app.app_context():
        db.session.query(User).filter_by(username="tech").update({"password_hash": hash_password(PASSWORD)})
        db.session.commit()
    server, wire = serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    records = JOBS * 5 + PARTS + LEVELS
    print(f"handheld benchmark: a technician's scope of {records:,} records; median of {RUNS} runs")

    first, raw, cold, floor = [], [], [], []
    for run in range(RUNS):
        profile = work / f"profile{run}"
        browser = Browser(executable, profile / "p", mobile=True)
        try:
            first.append(sign_in(browser, base))
            seconds, n = raw_pull(browser)
            assert n == records, n
            raw.append(seconds)
            browser.wait_for("navigator.serviceWorker.ready.then((r) => r.active && r.active.state === 'activated')")
            browser.evaluate("window.fieldsync.persist()")
        finally:
            browser.close()
        browser = Browser(executable, profile / "p", mobile=True)
        try:
            browser.set_offline(True)
            browser.goto(f"{base}/app/icon.svg")  # the service worker answers: the floor of a cold start
            start = time.perf_counter()
            browser.goto(f"{base}/app/manifest.webmanifest")
            floor.append(time.perf_counter() - start)
            start = time.perf_counter()
            browser.send("Page.navigate", {"url": f"{base}/app/"}, session=True)
            browser.wait_for(f"document.querySelectorAll('#jobs a.job').length === {JOBS}", timeout=120)
            cold.append(time.perf_counter() - start)
            assert browser.evaluate("navigator.onLine") is False
        finally:
            browser.close()
    print(f"first sync, {records:,} records into WatermelonDB, to the job list: {median_ms(first):,.0f} ms "
          f"(runs: {', '.join(f'{s * 1000:,.0f}' for s in first)})")
    print(f"  baseline: the same pull by plain fetch() + JSON.parse in the page: {median_ms(raw):,.0f} ms "
          f"-> {statistics.median(first) / statistics.median(raw):.1f}x")
    print(f"cold start offline to the list of {JOBS} jobs: {median_ms(cold):,.0f} ms "
          f"(runs: {', '.join(f'{s * 1000:,.0f}' for s in cold)})")
    print(f"  baseline: a shell file from the service worker, offline: {median_ms(floor):,.0f} ms "
          f"-> {statistics.median(cold) / statistics.median(floor):.1f}x")

    # A typical day: online, walked through the app's actions, then synced and uploaded.
    browser = Browser(executable, work / "day" / "p", mobile=True)
    try:
        sign_in(browser, base)
        browser.send("Browser.grantPermissions", {"origin": base, "permissions": ["geolocation"]})
        browser.send("Emulation.setGeolocationOverride", {"latitude": 31.23, "longitude": 121.47, "accuracy": 10},
                     session=True)
        browser.set_offline(True)  # the day's work offline; what goes over the wire is counted from here
        wire.reset()
        photo_bytes, record_bytes = browser.evaluate(DAY % {"n": DAY_JOBS})
        browser.set_offline(False)
        browser.evaluate("window.fieldsync.sync()")
        browser.wait_for("window.fieldsync.state.pending === 0 && window.fieldsync.state.pendingPhotos === 0 && "
                         "!window.fieldsync.state.uploading && !window.fieldsync.state.running", timeout=600)
    finally:
        browser.close()
    server.shutdown()
    counts = wire.counts
    up = sum(c["up"] for c in counts.values())
    down = sum(c["down"] for c in counts.values())
    payload = photo_bytes + record_bytes
    print(f"a typical day ({DAY_JOBS} jobs with reports, parts, check-ins, signatures, {DAY_JOBS} photos of "
          f"{photo_bytes / DAY_JOBS / 1e6:.1f} MB on average):")
    for kind, c in sorted(counts.items()):
        print(f"  {kind:7} {c['requests']:4} requests  up {c['up'] / 1e6:8.2f} MB  down {c['down'] / 1e6:8.2f} MB")
    print(f"  total   up {up / 1e6:.2f} MB, down {down / 1e6:.2f} MB; payload (photos {photo_bytes / 1e6:.2f} MB + "
          f"records as JSON {record_bytes / 1e3:.0f} kB) {payload / 1e6:.2f} MB -> wire/payload "
          f"{(up + down) / payload:.3f}x")


if __name__ == "__main__":
    main()
