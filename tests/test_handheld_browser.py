"""The technician's handheld (/app/) in a real headless Chromium: the built
bundle under its Content-Security-Policy, WatermelonDB on IndexedDB, syncing
with the real server; the network cut with DevTools network emulation.
Screenshots at 360x780 are kept in tests/artefacts/handheld/ (FIELDSYNC_ARTEFACTS; git-ignored)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from server.db import utcnow
from server.extensions import db
from server.stock import ledger
from server.stock.models import MovementKind
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
    later = f.job(f.ticket(summary="季度保养", category="maintenance"), tech,
                  planned_start=utcnow() + timedelta(hours=3))
    valve = f.part("VALVE-7", name="膨胀阀")
    board = f.part("PCB-2", name="主控板", serialised=True)
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


def unexpected_errors(browser):
    """The page's errors, less the requests refused while offline and LokiJS's
    note on its first start (it deletes the empty database it just opened and
    says so while its own connection closes; the set-up then goes on)."""
    return [e for e in browser.errors if "ERR_INTERNET_DISCONNECTED" not in e
            and "Deleting database failed because it's blocked" not in e]


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
