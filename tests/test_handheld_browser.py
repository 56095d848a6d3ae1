"""The technician's handheld (/app/) in a real headless Chromium: the built
bundle under its Content-Security-Policy, WatermelonDB on IndexedDB, syncing
with the real server; the network cut with DevTools network emulation.
Screenshots at 360x780 are kept in tests/artefacts/handheld/ (FIELDSYNC_ARTEFACTS; git-ignored)."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job, JobStatus
from server.stock import ledger
from server.stock.models import MovementKind
from server.tickets.models import TicketPart
from tests import factories as f
from tests.browser import Browser, chromium_path
from tests.conftest import tool_missing

ARTEFACTS = Path(os.environ.get("FIELDSYNC_ARTEFACTS") or Path(__file__).parent / "artefacts") / "handheld"


def release_db():
    db.session.commit()


@pytest.fixture
def make_browser(tmp_path):
    executable = chromium_path()
    if executable is None:
        tool_missing("chromium is not installed (apt-get install chromium)")
    opened = []

    def make():
        b = Browser(executable, tmp_path / "profile", mobile=True)
        opened.append(b)
        return b

    yield make
    for b in opened:
        print("\n".join(b.console[-200:]))  # shown when the test fails
        b.close()


@pytest.fixture
def visit(app):
    """A technician with a van holding two parts (one serialised) and two jobs
    today: a repair under warranty and a later maintenance."""
    tech = f.technician(name="李师傅 Li")
    customer = f.customer("上海大华制冷 Dahua", contact_name="张经理", phone="13800000000")
    site = f.site(customer, name="一号楼", address="上海市黄浦区人民大道 1 号")
    asset = f.asset(site, model="CH-200", serial_number="SN-778899",
                    warranty_end=(utcnow() + timedelta(days=200)).date())
    ticket = f.ticket(st=site, ast=asset, summary="冷水机组不制冷")
    job = f.job(ticket, tech, planned_start=utcnow() + timedelta(hours=1), instructions="先联系张经理")
    f.job(f.ticket(st=site, ast=asset, summary="上次维修"), f.technician(name="王师傅 Wang"),
          status=JobStatus.completed, completed_at=utcnow() - timedelta(days=60), fault_cause="冷凝器脏堵",
          solution="清洗冷凝器")
    later = f.job(f.ticket(summary="季度保养", category="maintenance"), tech,
                  planned_start=utcnow() + timedelta(hours=3))
    valve = f.part("VALVE-7", name="膨胀阀")
    board = f.part("PCB-2", name="主控板", serialised=True)
    db.session.add_all([TicketPart(ticket_id=ticket.id, part_id=valve.id, quantity=2),
                        TicketPart(ticket_id=ticket.id, part_id=board.id, quantity=3)])
    for part, quantity in ((valve, 5), (board, 2)):
        ledger.record_movement(db.session, kind=MovementKind.received, location_id=tech.van_location_id,
                               part_id=part.id, quantity=quantity, at=utcnow())
    db.session.commit()
    ids = {"tech": tech.id, "user": tech.user_id, "job": job.id, "later": later.id, "ticket": ticket.reference,
           "valve": valve.id, "board": board.id, "van": tech.van_location_id}
    release_db()
    return ids


def username_of(ids) -> str:
    from server.accounts.models import User

    name = db.session.get(User, ids["user"]).username
    release_db()
    return name


def open_app(browser, live_server):
    browser.goto(f"{live_server}/app/")
    browser.wait_for("document.body.dataset.screen")


def sign_in_ui(browser, username):
    browser.wait_for("document.getElementById('username')")
    browser.evaluate(f"document.getElementById('username').value = {json.dumps(username)}")
    browser.evaluate(f"document.getElementById('password').value = {json.dumps(f.PASSWORD)}")
    browser.evaluate("document.getElementById('signin-button').click()")


def wait_synced(browser, timeout=30):
    browser.wait_for("window.fieldsync && !window.fieldsync.state.running && window.fieldsync.state.lastSyncAt"
                     " && !window.fieldsync.state.error", timeout=timeout)


def wait_persisted(browser):
    """What the app wrote is in IndexedDB (the app saves after each change and
    sync; this waits for the save in flight)."""
    browser.evaluate("window.fieldsync.persist()")


KNOWN = (
    "ERR_INTERNET_DISCONNECTED",  # requests refused while the network is cut
    # LokiJS on its first start deletes the empty database it just opened, and
    # says so while its own connection closes; the set-up then goes on.
    "Deleting database failed because it's blocked",
)


def unexpected_errors(browser):
    """The page's errors, less the known notes above."""
    return [e for e in browser.errors if not any(k in e for k in KNOWN)]


def screenshot(browser, name):
    browser.screenshot(ARTEFACTS / f"{name}.png")


def test_sign_in_first_sync_and_job_list_offline(app, live_server, make_browser, visit):
    browser = make_browser()
    open_app(browser, live_server)
    assert browser.evaluate("document.body.dataset.screen") == "signin"
    screenshot(browser, "01-sign-in")
    sign_in_ui(browser, username_of(visit))
    wait_synced(browser)
    browser.wait_for("document.querySelectorAll('#jobs a.job').length === 2")
    cards = browser.evaluate("[...document.querySelectorAll('#jobs a.job')].map((a) => a.dataset.job)")
    assert cards == [str(visit["job"]), str(visit["later"])]  # planned order
    text = browser.evaluate("document.querySelector('#jobs a.job').textContent")
    assert "冷水机组不制冷" in text and "上海大华制冷" in text and "张经理" in text and "到场时限" in text
    screenshot(browser, "02-jobs")
    # A job: its ticket, site, asset with warranty, and the parts it needs against the van.
    browser.evaluate(f"location.hash = '#/job/{visit['job']}'")
    browser.wait_for("document.getElementById('job')")
    assert "SN-778899" in browser.evaluate("document.getElementById('asset').textContent")
    assert "保修期内" in browser.evaluate("document.getElementById('asset').textContent")
    visits = browser.evaluate("document.getElementById('visits').textContent")  # the asset's earlier visits
    assert "王师傅 Wang" in visits and "冷凝器脏堵 → 清洗冷凝器" in visits
    needed = browser.evaluate("[...document.querySelectorAll('#needed [data-needed]')].map((li) => li.textContent)")
    assert sorted(needed) == ["PCB-2 主控板 × 3车上不足（有 2）", "VALVE-7 膨胀阀 × 2车上有 5"]
    browser.evaluate("location.hash = '#/jobs'")
    browser.wait_for("document.querySelectorAll('#jobs a.job').length === 2")
    # The device id was made and kept; the server registered it.
    device_key = browser.evaluate("localStorage.getItem('fieldsync.device')")
    assert len(device_key) == 36
    # Offline, the app opens from the service worker's cache with the data in WatermelonDB.
    browser.wait_for("navigator.serviceWorker.ready.then((r) => r.active && r.active.state === 'activated')")
    wait_persisted(browser)
    browser.set_offline(True)
    browser.goto(f"{live_server}/app/")
    browser.wait_for("document.querySelectorAll('#jobs a.job').length === 2")
    assert browser.evaluate("navigator.onLine") is False
    assert browser.evaluate("localStorage.getItem('fieldsync.device')") == device_key
    assert not unexpected_errors(browser), browser.errors


# ---- a whole visit -------------------------------------------------------------------------------------------

SITE = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12}


def allow_position(browser, live_server):
    browser.send("Browser.grantPermissions", {"origin": live_server, "permissions": ["geolocation"]})
    browser.send("Emulation.setGeolocationOverride", SITE, session=True)


def click(browser, selector):
    browser.wait_for(f"document.querySelector({json.dumps(selector)}) && "
                     f"!document.querySelector({json.dumps(selector)}).disabled")
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def set_value(browser, selector, value):
    browser.evaluate(f"(() => {{ const el = document.querySelector({json.dumps(selector)}); "
                     f"el.value = {json.dumps(value)}; el.dispatchEvent(new Event('input')); "
                     f"el.dispatchEvent(new Event('change')); }})()")


def set_files(browser, selector, paths):
    root = browser.send("DOM.getDocument", {"depth": 0}, session=True)["root"]["nodeId"]
    node = browser.send("DOM.querySelector", {"nodeId": root, "selector": selector}, session=True)["nodeId"]
    browser.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(p) for p in paths]}, session=True)


def job_status(browser):
    return browser.evaluate("document.getElementById('job') && document.getElementById('job').dataset.status")


def advance(browser, expected):
    click(browser, "#advance")
    browser.wait_for(f"document.getElementById('job') && document.getElementById('job').dataset.status === "
                     f"{json.dumps(expected)}")


def draw_signature(browser):
    """Two strokes with a finger, pressing harder as it goes (touch events: pointer type touch, with force)."""
    box = browser.evaluate("(() => { const c = document.getElementById('signature-pad'); "
                           "c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect(); "
                           "return [r.left, r.top, r.width, r.height]; })()")
    left, top, width, height = box
    for stroke in range(2):
        points = [(left + width * (0.1 + 0.08 * i), top + height * (0.3 + 0.3 * stroke + 0.04 * (i % 3)))
                  for i in range(10)]
        kinds = ["touchStart"] + ["touchMove"] * (len(points) - 1) + ["touchEnd"]
        for n, kind in enumerate(kinds):
            x, y = points[min(n, len(points) - 1)]
            touch = [] if kind == "touchEnd" else [{"x": x, "y": y, "force": round(0.3 + 0.05 * n, 2)}]
            browser.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch}, session=True)


def photos_on_disk(tmp_path, count):
    from tests.media_support import noisy_jpeg

    paths = []
    for i in range(count):
        path = tmp_path / f"photo{i}.jpg"
        path.write_bytes(noisy_jpeg(900, 700, seed=i + 1))
        paths.append(path)
    return paths


def walk_the_visit_offline(browser, live_server, visit, tmp_path, *, shots=False):
    """On site with no network: accept, leave, arrive, report (adjustment, two
    parts, three photos), try to complete unsigned, sign, complete."""
    job = str(visit["job"])
    browser.evaluate(f"location.hash = '#/job/{job}'")
    browser.wait_for("document.getElementById('job')")
    if shots:
        screenshot(browser, "03-job")
    advance(browser, "accepted")
    advance(browser, "en_route")
    advance(browser, "on_site")
    click(browser, "#open-report")
    browser.wait_for("document.getElementById('report-texts')")
    set_value(browser, "#report-fault_cause", "膨胀阀卡死 Expansion valve stuck")
    set_value(browser, "#report-solution", "更换膨胀阀和主控板")
    set_value(browser, "#report-work_done", "检查制冷回路，更换部件，试机两小时正常。")
    click(browser, "#save-report")
    browser.wait_for("document.getElementById('flash').textContent === '已保存'")
    set_value(browser, "#adj-item", "吸气压力")
    set_value(browser, "#adj-before", "0.2")
    set_value(browser, "#adj-after", "0.45")
    set_value(browser, "#adj-unit", "MPa")
    click(browser, "#add-adjustment")
    browser.wait_for("document.querySelectorAll('[data-adjustment]').length === 1")
    set_value(browser, "#part-select", str(visit["valve"]))
    set_value(browser, "#part-quantity", "2")
    click(browser, "#add-part")
    browser.wait_for("document.querySelectorAll('[data-usage]').length === 1")
    set_value(browser, "#part-select", str(visit["board"]))
    set_value(browser, "#part-quantity", "1")
    browser.wait_for("document.querySelectorAll('#serials input.serial').length === 1")
    set_value(browser, "#serials input.serial", "PCB-SN-0001")
    click(browser, "#add-part")
    browser.wait_for("document.querySelectorAll('[data-usage]').length === 2")
    set_files(browser, "#photo-camera", photos_on_disk(tmp_path, 1))
    browser.wait_for("document.querySelectorAll('[data-photo]').length === 1")
    set_files(browser, "#photo-gallery", photos_on_disk(tmp_path, 3)[1:])
    browser.wait_for("document.querySelectorAll('[data-photo]').length === 3")
    if shots:
        screenshot(browser, "04-report")
    # Completing without the customer's signature (or a reason) is refused.
    browser.evaluate(f"location.hash = '#/job/{job}'")
    click(browser, "#advance")
    browser.wait_for("document.getElementById('sign-form')")
    assert "签字" in browser.evaluate("document.getElementById('flash').textContent")
    # The customer reads, rates and signs.
    assert "膨胀阀卡死" in browser.evaluate("document.getElementById('report-view').textContent")
    click(browser, "#rating input[value=satisfied]")
    set_value(browser, "#opinion", "师傅很专业")
    set_value(browser, "#signer-name", "张经理")
    draw_signature(browser)
    if shots:
        screenshot(browser, "05-sign-off")
    click(browser, "#sign")
    browser.wait_for("document.getElementById('job')")
    advance(browser, "completed")
    if shots:
        screenshot(browser, "06-completed")


def test_a_whole_visit_offline_lands_exactly_once(app, live_server, make_browser, visit, fresh_media, tmp_path):
    from media.models import Blob, Photo, Signature
    from media.signatures import signature_status
    from server.jobs.models import Adjustment, CheckIn, CustomerRating, PartUsage
    from server.stock.models import StockLevel

    browser = make_browser()
    open_app(browser, live_server)
    sign_in_ui(browser, username_of(visit))
    wait_synced(browser)
    browser.wait_for("navigator.serviceWorker.ready.then((r) => r.active && r.active.state === 'activated')")
    allow_position(browser, live_server)
    browser.set_offline(True)
    walk_the_visit_offline(browser, live_server, visit, tmp_path, shots=True)
    browser.wait_for("window.fieldsync.state.pending > 0 && window.fieldsync.state.pendingPhotos === 3")
    wait_persisted(browser)
    browser.close()

    # The browser starts again with no network: everything is still there, waiting.
    browser = make_browser()
    browser.set_offline(True)
    open_app(browser, live_server)
    browser.wait_for("document.querySelectorAll('#jobs a.job').length === 1")  # the completed one left the list
    browser.wait_for("window.fieldsync.state.pending > 0 && window.fieldsync.state.pendingPhotos === 3")
    pending = browser.evaluate("window.fieldsync.state.pending")
    assert db.session.get(Job, visit["job"]).status is JobStatus.assigned
    release_db()
    screenshot(browser, "07-waiting-offline")

    # The network comes back: it all lands, once.
    browser.set_offline(False)
    browser.wait_for("window.fieldsync.state.lastSyncAt && window.fieldsync.state.pending === 0 && "
                     "window.fieldsync.state.pendingPhotos === 0 && !window.fieldsync.state.uploading", timeout=60)
    assert pending >= 10  # the job, its adjustment, two usages, three photos, a signature, check-ins
    browser.evaluate("window.fieldsync.sync()")  # and again: nothing doubles
    wait_synced(browser)

    db.session.expire_all()
    job = db.session.get(Job, visit["job"])
    assert job.status is JobStatus.completed
    assert job.fault_cause.startswith("膨胀阀卡死") and job.solution and job.work_done
    assert job.customer_rating is CustomerRating.satisfied and job.customer_opinion == "师傅很专业"
    assert job.arrived_at and job.departed_at and job.completed_at
    assert [(a.parameter, a.value_before, a.value_after, a.unit) for a in
            db.session.query(Adjustment).filter_by(job_id=job.id)] == [("吸气压力", "0.2", "0.45", "MPa")]
    usages = {u.part_id: u for u in db.session.query(PartUsage).filter_by(job_id=job.id)}
    assert usages[visit["valve"]].quantity == 2 and usages[visit["board"]].serial_numbers == ["PCB-SN-0001"]
    assert len(usages) == 2
    levels = {lv.part_id: lv.on_hand for lv in db.session.query(StockLevel).filter_by(location_id=visit["van"])}
    assert levels == {visit["valve"]: 3, visit["board"]: 1}  # stock moved once
    photos = db.session.query(Photo).filter_by(job_id=job.id).all()
    assert len(photos) == 3
    blobs = db.session.scalars(select(Blob).where(Blob.sha256.in_([p.blob_sha256 for p in photos]))).all()
    assert len(blobs) == 3  # stored and verified
    signature = db.session.query(Signature).filter_by(job_id=job.id).one()
    assert signature.signer_name == "张经理" and len(signature.strokes) == 2
    assert all(isinstance(p["t"], int) and 0 < p["p"] <= 1 for s in signature.strokes for p in s)  # finger pressure
    assert signature_status(db.session, job).valid  # the device hashed the very report the server has
    kinds = sorted(c.kind.value for c in db.session.query(CheckIn).filter_by(job_id=job.id))
    assert kinds == ["arrival", "departure", "periodic", "periodic"]
    assert db.session.scalar(select(func.count()).select_from(PartUsage)) == 2
    release_db()
    browser.evaluate("location.hash = '#/sync'")
    browser.wait_for("document.getElementById('sync-pending') && "
                     "document.getElementById('sync-pending').textContent === '0'")
    screenshot(browser, "08-synced")
    browser.evaluate("location.hash = '#/van'")
    browser.wait_for("document.getElementById('van')")
    van = browser.evaluate("document.getElementById('van').textContent")
    assert "膨胀阀 × 2" in van and "主控板 × 1" in van  # what today used
    screenshot(browser, "09-van")
    assert not unexpected_errors(browser), browser.errors


# ---- cuts, hand-overs, refusals ------------------------------------------------------------------------------

def signed_in_on_the_job(make_browser, live_server, visit):
    browser = make_browser()
    open_app(browser, live_server)
    sign_in_ui(browser, username_of(visit))
    wait_synced(browser)
    allow_position(browser, live_server)
    browser.evaluate(f"location.hash = '#/job/{visit['job']}'")
    browser.wait_for("document.getElementById('job')")
    return browser


def use_a_part(browser, visit, quantity=2):
    click(browser, "#open-report")
    browser.wait_for("document.getElementById('parts')")
    set_value(browser, "#part-select", str(visit["valve"]))
    set_value(browser, "#part-quantity", str(quantity))
    click(browser, "#add-part")
    browser.wait_for("document.querySelectorAll('[data-usage]').length === 1")


def server_counts(visit):
    from server.jobs.models import CheckIn, PartUsage
    from server.stock.models import StockLevel

    db.session.expire_all()
    job = db.session.get(Job, visit["job"])
    out = {"status": job.status.value, "technician": job.technician_id,
           "usages": db.session.query(PartUsage).filter_by(job_id=job.id).count(),
           "check_ins": db.session.query(CheckIn).filter_by(job_id=job.id).count(),
           "valve_on_hand": db.session.query(StockLevel).filter_by(location_id=visit["van"],
                                                                   part_id=visit["valve"]).one().on_hand}
    release_db()
    return out


def test_the_network_cut_in_the_middle_of_a_sync_loses_and_doubles_nothing(app, live_server, make_browser, visit):
    browser = signed_in_on_the_job(make_browser, live_server, visit)
    # Every push's answer is lost on the way back (the server has applied it).
    browser.intercept([{"urlPattern": "*/sync/watermelon/push*", "requestStage": "Response"}])
    advance(browser, "accepted")
    advance(browser, "en_route")
    advance(browser, "on_site")
    use_a_part(browser, visit)
    browser.evaluate("window.fieldsync.sync(), true")  # not awaited: its push is held below
    paused = browser.next_paused()
    assert paused["responseStatusCode"] == 200  # applied and committed on the server...
    browser.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": "ConnectionClosed"},
                 session=True)
    browser.wait_for("window.fieldsync.state.error && !window.fieldsync.state.running")
    assert browser.evaluate("window.fieldsync.state.pending") > 0  # ...but the device does not know
    assert server_counts(visit)["usages"] == 1
    # The network is back: the same work goes again and lands once.
    browser.send("Fetch.disable", session=True)
    browser.evaluate("window.fieldsync.sync()")
    wait_synced(browser)
    browser.wait_for("window.fieldsync.state.pending === 0")
    counts = server_counts(visit)
    assert counts == {"status": "on_site", "technician": visit["tech"], "usages": 1, "check_ins": 3,
                      "valve_on_hand": 3}


def test_the_network_cut_in_the_middle_of_a_photo_upload(app, live_server, make_browser, visit, fresh_media,
                                                         tmp_path):
    from media.models import Blob, Photo, Upload

    browser = signed_in_on_the_job(make_browser, live_server, visit)
    advance(browser, "accepted")
    advance(browser, "en_route")
    advance(browser, "on_site")
    # The first chunk of the photo reaches the server, its answer is lost.
    browser.intercept([{"urlPattern": "*/api/v1/uploads/*", "requestStage": "Response"}])
    click(browser, "#open-report")
    browser.wait_for("document.getElementById('photos')")
    set_files(browser, "#photo-camera", photos_on_disk(tmp_path, 1))
    browser.wait_for("document.querySelectorAll('[data-photo]').length === 1")
    seen = []
    for _ in range(20):  # the creation, then the chunks: the first chunk's answer is cut
        paused = browser.next_paused(timeout=30)
        method = paused["request"]["method"]
        seen.append(method)
        if method == "PATCH" and "PATCH" not in seen[:-1]:
            browser.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": "ConnectionReset"},
                         session=True)
            break
        browser.send("Fetch.continueRequest", {"requestId": paused["requestId"]}, session=True)
    browser.send("Fetch.disable", session=True)
    # tus-js-client asks the server where it stands and goes on from there.
    browser.wait_for("window.fieldsync.state.pendingPhotos === 0 && !window.fieldsync.state.uploading", timeout=60)
    browser.wait_for("window.fieldsync.state.pending === 0", timeout=30)
    db.session.expire_all()
    photo = db.session.query(Photo).filter_by(job_id=visit["job"]).one()
    assert db.session.get(Blob, photo.blob_sha256) is not None  # stored and verified
    assert db.session.query(Upload).count() == 1  # one upload, resumed: never sent twice
    release_db()
    assert "PATCH" in seen


def test_the_office_reassigns_while_the_app_holds_unsynced_work(app, client, live_server, make_browser, visit):
    from sync.models import SyncConflict

    browser = signed_in_on_the_job(make_browser, live_server, visit)
    browser.set_offline(True)
    advance(browser, "accepted")
    advance(browser, "en_route")
    advance(browser, "on_site")
    use_a_part(browser, visit)
    # Meanwhile the office gives the job to someone else.
    other = f.technician(name="王师傅 Wang")
    dispatcher = f.login(client, f.user(Role.dispatcher).username)
    answer = client.post(f"/api/v1/jobs/{visit['job']}/reassign", headers=dispatcher,
                         json={"technician_id": str(other.id)})
    assert answer.status_code == 200, answer.get_json()
    other_id = other.id
    release_db()
    browser.set_offline(False)
    browser.evaluate("window.fieldsync.sync()")
    browser.wait_for("window.fieldsync.state.lastSyncAt && !window.fieldsync.state.running && "
                     "window.fieldsync.state.pending === 0", timeout=30)
    # The work reached the server; the assignment stands; a dispatcher is told.
    counts = server_counts(visit)
    assert counts["technician"] == other_id and counts["usages"] == 1 and counts["valve_on_hand"] == 3
    assert db.session.query(SyncConflict).filter_by(record_id=str(visit["job"])).count() >= 1
    release_db()
    # The technician is told what happened, and the job has left the device.
    browser.evaluate("location.hash = '#/jobs'")
    notice = browser.wait_for("!document.getElementById('notice').hidden && "
                              "document.getElementById('notice').textContent")
    assert visit["ticket"] in notice and "已上传" in notice, browser.evaluate("window.fieldsync.state.notices")
    browser.wait_for("document.querySelectorAll('#jobs a.job').length === 1")
    screenshot(browser, "10-job-taken")


def test_a_revoked_device_cannot_sync_and_keeps_its_work(app, client, live_server, make_browser, visit):
    from server.accounts.models import Device

    browser = signed_in_on_the_job(make_browser, live_server, visit)
    browser.set_offline(True)
    advance(browser, "accepted")
    admin = f.login(client, f.user(Role.admin).username)
    device = db.session.query(Device).filter_by(user_id=visit["user"]).one()
    assert client.post(f"/api/v1/devices/{device.id}/revoke", headers=admin).status_code == 200
    release_db()
    browser.set_offline(False)
    browser.evaluate("window.fieldsync.sync()")
    # It asks to sign in again, says why, and keeps what waits.
    text = browser.wait_for("document.getElementById('signin-again') && "
                            "document.getElementById('signin-again').textContent")
    assert "停用" in text
    assert browser.evaluate("window.fieldsync.state.pending") >= 1
    screenshot(browser, "11-revoked")
    assert server_counts(visit)["status"] == "assigned"
    # Signing in again from this device is refused too; the work is still there.
    sign_in_ui(browser, username_of(visit))
    browser.wait_for("document.getElementById('flash').className.includes('error')")
    assert "停用" in browser.evaluate("document.getElementById('flash').textContent")
    local = browser.evaluate(f"window.fieldsync.db.get('jobs').find('{visit['job']}').then((j) => "
                             "[j._raw.status, j._raw._status])")
    assert local == ["accepted", "updated"]


def test_no_signature_needs_a_reason_and_english_is_one_tap_away(app, live_server, make_browser, visit):
    browser = signed_in_on_the_job(make_browser, live_server, visit)
    advance(browser, "accepted")
    advance(browser, "en_route")
    advance(browser, "on_site")
    click(browser, "#open-signoff")
    browser.wait_for("document.getElementById('no-signature')")
    browser.evaluate("document.getElementById('no-signature').open = true")
    click(browser, "#record-reason")  # no reason chosen: refused
    browser.wait_for("document.getElementById('flash').className.includes('error')")
    set_value(browser, "#no-signature-reason", "other")
    click(browser, "#record-reason")  # "other" without a note: refused
    browser.wait_for("document.getElementById('flash').textContent.includes('说明')")
    set_value(browser, "#no-signature-note", "客户临时外出，电话确认完工")
    click(browser, "#record-reason")
    browser.wait_for("document.getElementById('job')")
    advance(browser, "completed")
    # English, and back: every string comes from the locale files.
    click(browser, "#lang")
    browser.wait_for("document.getElementById('job').textContent.includes('No signature: Other')")
    assert browser.evaluate("document.documentElement.lang") == "en"
    screenshot(browser, "12-completed-without-signature.en")
    click(browser, "#lang")
    browser.wait_for("document.getElementById('job').textContent.includes('未签字：其他')")
    browser.evaluate("window.fieldsync.sync()")
    wait_synced(browser)
    browser.wait_for("window.fieldsync.state.pending === 0")
    db.session.expire_all()
    job = db.session.get(Job, visit["job"])
    assert job.status is JobStatus.completed
    if hasattr(job, "no_signature_reason"):  # the server's sign-off rule (issue 13) keeps the reason
        assert job.no_signature_reason.value == "other" and job.no_signature_note == "客户临时外出，电话确认完工"
    release_db()


def test_an_expired_sign_in_asks_again_and_the_work_waiting_goes_after(app, live_server, make_browser, visit):
    from server.accounts.models import AuthToken

    browser = signed_in_on_the_job(make_browser, live_server, visit)
    browser.set_offline(True)
    advance(browser, "accepted")
    db.session.query(AuthToken).filter_by(user_id=visit["user"]).update({"expires_at": utcnow() - timedelta(1)})
    release_db()
    browser.set_offline(False)
    browser.evaluate("window.fieldsync.sync()")
    text = browser.wait_for("document.getElementById('signin-again') && "
                            "document.getElementById('signin-again').textContent")
    assert "过期" in text
    assert "条工作待同步" in browser.evaluate("document.getElementById('signin').textContent")  # kept, and said
    sign_in_ui(browser, username_of(visit))
    wait_synced(browser)
    browser.wait_for("window.fieldsync.state.pending === 0")
    assert server_counts(visit)["status"] == "accepted"


def test_the_office_reschedules_a_job_and_the_app_says_so(app, client, live_server, make_browser, visit):
    from server.accounts.models import Device

    browser = signed_in_on_the_job(make_browser, live_server, visit)
    # The device id the app made is the one the server registered for this technician.
    key = browser.evaluate("localStorage.getItem('fieldsync.device')")
    assert db.session.query(Device).filter_by(user_id=visit["user"], device_key=key).count() == 1
    dispatcher = f.login(client, f.user(Role.dispatcher).username)
    later = (utcnow() + timedelta(hours=5)).isoformat()
    answer = client.patch(f"/api/v1/jobs/{visit['job']}", headers=dispatcher, json={"planned_start": later})
    assert answer.status_code == 200, answer.get_json()
    release_db()
    browser.evaluate("window.fieldsync.sync()")
    wait_synced(browser)
    notice = browser.wait_for("!document.getElementById('notice').hidden && "
                              "document.getElementById('notice').textContent")
    assert visit["ticket"] in notice and "办公室修改了工单" in notice
    browser.evaluate("location.hash = '#/jobs'")
    # Now the later of the two: the list follows the new plan.
    browser.wait_for(f"document.querySelectorAll('#jobs a.job').length === 2 && "
                     f"document.querySelectorAll('#jobs a.job')[1].dataset.job === '{visit['job']}'")


def test_the_distance_to_each_site_when_the_position_is_known(app, live_server, make_browser, visit):
    browser = make_browser()
    allow_position(browser, live_server)
    browser.send("Emulation.setGeolocationOverride", {"latitude": SITE["latitude"] + 0.05,
                                                      "longitude": SITE["longitude"], "accuracy": 10}, session=True)
    open_app(browser, live_server)
    sign_in_ui(browser, username_of(visit))
    wait_synced(browser)
    browser.evaluate("location.reload()")  # the position is asked for when the app starts
    distance = browser.wait_for("document.querySelector('#jobs a.job .distance') && "
                                "document.querySelector('#jobs a.job .distance').textContent")
    assert "5.6 公里" in distance  # 0.05° of latitude north of the site


def test_the_app_states_its_version_so_a_minimum_version_lets_it_sync(app, live_server, make_browser, visit):
    """With FIELDSYNC_MIN_APP_VERSION at the app's own version it signs in and syncs: every call it
    makes names its version (X-App-Version), or the server would answer 426 app_update_required."""
    bundled = re.search(r"APP_VERSION = '([\d.]+)'", (Path(__file__).parent.parent / "handheld" / "src" / "auth.js")
                        .read_text()).group(1)
    app.config["MIN_APP_VERSION"] = bundled
    try:
        browser = make_browser()
        open_app(browser, live_server)
        sign_in_ui(browser, username_of(visit))
        wait_synced(browser)
        browser.wait_for("document.querySelectorAll('#jobs a.job').length === 2")
        assert not unexpected_errors(browser)
    finally:
        app.config["MIN_APP_VERSION"] = None


# ---- cost inputs: the job's expenses ---------------------------------------------------------------------------

def expense_texts(browser):
    return browser.evaluate("[...document.querySelectorAll('[data-expense]')].map((li) => "
                            "[li.dataset.synced, li.querySelector('.line').textContent])")


def test_expenses_recorded_offline_land_once_and_feed_the_month(app, client, live_server, make_browser, visit,
                                                                fresh_media, tmp_path):
    from zoneinfo import ZoneInfo

    from media.models import Photo
    from server.reports.models import JobExpense

    office = f.login(client, f.user(Role.dispatcher).username)
    lodging = client.post(f"/api/v1/jobs/{visit['job']}/expenses", headers=office,
                          json={"kind": "lodging", "amount": 200, "note": "如家酒店"})
    assert lodging.status_code == 201, lodging.get_json()
    release_db()
    browser = signed_in_on_the_job(make_browser, live_server, visit)
    assert "费用" in browser.evaluate("document.getElementById('job-expenses').textContent")
    browser.wait_for("document.getElementById('job-expenses').textContent.includes('¥200.00')")
    browser.set_offline(True)
    advance(browser, "accepted")
    advance(browser, "en_route")
    advance(browser, "on_site")
    click(browser, "#open-expenses")
    browser.wait_for("document.getElementById('expense-form')")
    assert expense_texts(browser) == [["1", "住宿费¥200.00"]]  # the office's: pulled, read-only
    # The road time the check-ins give (set off → arrival: moments apart here) is offered for the travel line.
    click(browser, "#expense-road-time")
    assert browser.evaluate("document.getElementById('expense-minutes').value") == "0"
    assert "0 分钟" in browser.evaluate("document.getElementById('expense-road-time').textContent")
    # Travel, with its distance, time on the road and a photo of the receipt.
    set_value(browser, "#expense-kind", "travel")
    set_value(browser, "#expense-amount", "35.5")
    set_value(browser, "#expense-distance", "18.5")
    set_value(browser, "#expense-minutes", "40")
    set_value(browser, "#expense-note", "出租车 人民广场-一号楼")
    set_files(browser, "#expense-receipt", photos_on_disk(tmp_path, 1))
    browser.wait_for("document.getElementById('expense-receipt-name').textContent !== ''")
    click(browser, "#save-expense")
    browser.wait_for("document.querySelectorAll('[data-expense]').length === 2")
    # An amount finer than the fen is refused on the device; nothing is recorded.
    set_value(browser, "#expense-kind", "meals")
    browser.wait_for("document.getElementById('expense-travel').classList.contains('hidden')")
    set_value(browser, "#expense-amount", "12.345")
    click(browser, "#save-expense")
    browser.wait_for("document.getElementById('flash').className.includes('error') && "
                     "document.getElementById('flash').textContent.includes('两位小数')")
    set_value(browser, "#expense-amount", "28")
    click(browser, "#save-expense")
    browser.wait_for("document.querySelectorAll('[data-expense]').length === 3")
    # Edit the meal before it syncs; add one more and take it back.
    meal = browser.evaluate("[...document.querySelectorAll('[data-expense]')].find((li) => "
                            "li.textContent.includes('餐费')).dataset.expense")
    click(browser, f"[data-edit='{meal}']")
    browser.wait_for("document.getElementById('expense-amount').value === '28.00'")
    set_value(browser, "#expense-amount", "30.50")
    click(browser, "#save-expense")
    browser.wait_for("location.hash.endsWith('/expenses') && document.getElementById('expense-total') && "
                     "document.getElementById('expense-total').textContent === '¥266.00'")
    set_value(browser, "#expense-kind", "other")
    set_value(browser, "#expense-amount", "5")
    click(browser, "#save-expense")
    browser.wait_for("document.querySelectorAll('[data-expense]').length === 4")
    other = browser.evaluate("[...document.querySelectorAll('[data-expense]')].find((li) => "
                             "li.textContent.includes('其他费用')).dataset.expense")
    browser.evaluate("window.confirm = () => true")
    click(browser, f"[data-remove='{other}']")
    browser.wait_for("document.querySelectorAll('[data-expense]').length === 3")
    assert browser.evaluate("document.getElementById('expense-total').textContent") == "¥266.00"
    assert sorted(expense_texts(browser)) == [["0", "差旅交通费¥35.50"], ["0", "餐费¥30.50"], ["1", "住宿费¥200.00"]]
    screenshot(browser, "13-expenses-offline")
    click(browser, "#lang")
    browser.wait_for("document.getElementById('expenses').textContent.includes('Travel')")
    screenshot(browser, "14-expenses-offline.en")
    click(browser, "#lang")
    browser.wait_for("document.getElementById('expenses').textContent.includes('差旅交通费')")
    db.session.expire_all()
    assert db.session.query(JobExpense).count() == 1  # nothing has left the device
    release_db()

    # Back online: they land once (and once more after another sync), the receipt's photo with them.
    browser.set_offline(False)
    browser.evaluate("window.fieldsync.sync()")
    browser.wait_for("window.fieldsync.state.lastSyncAt && window.fieldsync.state.pending === 0 && "
                     "window.fieldsync.state.pendingPhotos === 0 && !window.fieldsync.state.uploading "
                     "&& !window.fieldsync.state.running", timeout=60)
    browser.evaluate("window.fieldsync.sync()")
    wait_synced(browser)
    db.session.expire_all()
    rows = {e.kind.value: e for e in db.session.query(JobExpense).filter_by(job_id=visit["job"])}
    assert {k: e.amount for k, e in rows.items()} == {"lodging": 200.0, "travel": 35.5, "meals": 30.5}
    assert db.session.query(JobExpense).count() == 3
    travel = rows["travel"]
    assert (travel.distance_km, travel.travel_minutes, travel.note) == (18.5, 40, "出租车 人民广场-一号楼")
    assert travel.recorded_by_user_id == visit["user"]
    receipt = db.session.get(Photo, uuid.UUID(travel.receipt_ref))
    assert receipt.job_id == visit["job"] and receipt.caption == "费用票据"
    months = {e.incurred_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m") for e in rows.values()}
    release_db()
    # Synced: now the office's, no longer editable on the device.
    browser.evaluate(f"location.hash = '#/job/{visit['job']}'")
    browser.evaluate(f"location.hash = '#/job/{visit['job']}/expenses'")
    browser.wait_for("[...document.querySelectorAll('[data-expense]')].every((li) => li.dataset.synced === '1') "
                     "&& document.querySelectorAll('[data-expense]').length === 3")
    assert not browser.evaluate("document.querySelector('[data-edit]')")
    # The office: the job's expenses and the month's cost inputs (a repair: service cost, with the road time).
    listed = client.get(f"/api/v1/jobs/{visit['job']}/expenses", headers=office).get_json()["items"]
    assert sorted(e["amount"] for e in listed) == [30.5, 35.5, 200.0]
    if len(months) == 1:  # (not across a month's end in Shanghai)
        (month,) = months
        figures = client.get(f"/api/v1/statistics/monthly?month={month}", headers=office).get_json()["groups"][0]
        assert figures["figures"]["service_cost"] == round(266.0 + 40 / 60 * app.config["LABOUR_COST_PER_HOUR"], 2)
    assert not unexpected_errors(browser), browser.errors
