"""The office pages in a real browser (headless Chromium, over the DevTools
protocol): the page's script runs under the Content-Security-Policy, calls the
real API on a real HTTP server, and what a dispatcher or warehouse clerk clicks
does what it says. Skipped without Chromium, except in CI (.ci/run installs it)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job, JobStatus
from server.stock import ledger
from server.stock.models import DiscrepancyStatus, LocationKind, MovementKind, Reservation, StockDiscrepancy
from server.technicians.models import Technician
from server.tickets.models import TicketPart, TicketStatus
from tests import factories as f
from tests.browser import Browser, chromium_path
from tests.conftest import tool_missing

SITE = (31.2304, 121.4737)  # People's Square, Shanghai


def north_of_site(km: float) -> tuple[float, float]:
    return SITE[0] + km / 110.9, SITE[1]


@pytest.fixture
def browser(tmp_path):
    executable = chromium_path()
    if executable is None:
        tool_missing("chromium is not installed (apt-get install chromium)")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    b = Browser(executable, tmp_path / "profile", downloads)
    b.downloads = downloads
    yield b
    b.close()


def release_db():
    """End this thread's transaction: the live server's threads use their own
    sessions, and on SQLite an open transaction here would hold them up."""
    db.session.commit()


def sign_in(browser, live_server, client, account):
    """What the login page stores, without typing the password each time."""
    username = account.username
    release_db()
    body = client.post("/api/v1/auth/token", json={"username": username, "password": f.PASSWORD}).get_json()
    release_db()
    auth = {"token": body["access_token"], "username": username, "role": body["role"],
            "user_id": body["user_id"], "expires_at": body["expires_at"]}
    browser.goto(f"{live_server}/login")
    browser.evaluate(f"sessionStorage.setItem('fieldsync.auth', {json.dumps(json.dumps(auth))})")
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture
def scene(app):
    """A repair near People's Square that needs a part: two qualified technicians, one nearer who is not
    certified for the product line, and a warehouse holding the part."""
    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller", model="CH-200"))
    part = f.part("VALVE-7")
    db.session.add(TicketPart(ticket_id=ticket.id, part_id=part.id, quantity=2))
    db.session.commit()
    near = f.technician(latitude=north_of_site(1)[0], longitude=SITE[1], name="李师傅 Li")
    far = f.technician(latitude=north_of_site(6)[0], longitude=SITE[1], name="王师傅 Wang")
    uncertified = f.technician(latitude=north_of_site(0.5)[0], longitude=SITE[1], name="赵师傅 Zhao",
                               product_lines=("boiler",))
    warehouse = f.location(LocationKind.regional_warehouse, *north_of_site(3), code="WH-SH-02", name="上海二级仓")
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=warehouse.id, part_id=part.id,
                           quantity=5, at=utcnow())
    db.session.commit()
    ids = {"ticket": ticket.id, "part": part.id, "near": near.id, "far": far.id, "uncertified": uncertified.id,
           "warehouse": warehouse.id}
    release_db()
    return ids


def test_dispatch_page_assigns_the_preselected_technician_and_stock(app, client, live_server, browser, scene):
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    ticket = scene["ticket"]
    release_db()
    browser.goto(f"{live_server}/tickets/{ticket}/dispatch")
    browser.wait_for("document.querySelectorAll('#candidates tr[data-technician-id]').length === 2")
    names = browser.evaluate("[...document.querySelectorAll('#candidates tr[data-technician-id]')]"
                             ".map((r) => r.children[2].textContent)")
    assert names == ["李师傅 Li", "王师傅 Wang"]
    # The score explains itself; the nearer uncertified technician is listed with the reason.
    assert "后到达" in browser.evaluate("document.querySelector('#candidates .breakdown').textContent")
    excluded = browser.evaluate("document.querySelector('#excluded tbody').textContent")
    assert "赵师傅 Zhao" in excluded and "无该产品资质 · 冷水机组" in excluded  # the product line by its label
    # The warehouse holding the part is offered and preselected, as is the best candidate.
    browser.wait_for("document.querySelector('#stock-options tr[data-location-id]')")
    assert browser.evaluate("document.querySelector('#stock-options input[type=radio]:checked').value") \
        == str(scene["warehouse"])
    assert browser.evaluate("document.querySelector('#candidates input:checked').value") == str(scene["near"])
    assert "李师傅 Li" in browser.evaluate("document.getElementById('assign-summary').textContent")

    browser.evaluate("document.getElementById('assign').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok')")
    assert "已派工" in browser.evaluate("document.getElementById('flash').textContent")
    db.session.expire_all()
    job = db.session.query(Job).filter_by(ticket_id=ticket).one()
    assert job.technician_id == scene["near"]
    reservation = db.session.query(Reservation).filter_by(job_id=job.id).one()
    assert (reservation.location_id, reservation.part_id, reservation.quantity) == \
        (scene["warehouse"], scene["part"], 2)
    release_db()
    assert browser.errors == []


def test_dispatch_page_shows_why_an_assign_was_refused(app, client, live_server, browser, scene):
    headers = sign_in(browser, live_server, client, f.user(Role.dispatcher))
    ticket = scene["ticket"]
    release_db()
    browser.goto(f"{live_server}/tickets/{ticket}/dispatch")
    browser.wait_for("document.querySelectorAll('#candidates tr[data-technician-id]').length === 2")
    # Another dispatcher assigns the ticket meanwhile.
    other = client.post(f"/api/v1/tickets/{ticket}/assign", headers=headers,
                        json={"technician_id": str(scene["far"])})
    assert other.status_code == 201, other.get_json()
    release_db()
    browser.evaluate("document.getElementById('assign').click()")
    text = browser.wait_for("!document.getElementById('assign-error').hidden && "
                            "document.getElementById('assign-error').textContent")
    # Chinese first: the catalogue's text for the code (server/i18n), and the code itself for support
    assert "未派工" in text and "工单已派工" in text and "ticket_already_dispatched" in text
    db.session.expire_all()
    assert db.session.query(Job).filter_by(ticket_id=ticket).count() == 1
    release_db()
    assert not [e for e in browser.errors if "409" not in e]  # the refused request itself is logged by Chromium


def test_conflicts_page_settles_a_conflict_with_the_device_value(app, client, live_server, browser):
    from sync.models import SyncConflict

    tech = f.technician()
    job = f.job(tech=tech, work_done="replaced the valve (office)")
    conflict = SyncConflict(table_name="jobs", record_id=str(job.id), kind="field_conflict", status="open",
                            fields={"work_done": {"server": "replaced the valve (office)",
                                                  "device": "replaced the valve and the seal", "kept": "server"}},
                            technician_id=tech.id, base_version=1, version=2, created_at=utcnow())
    db.session.add(conflict)
    db.session.commit()
    conflict_id, job_id = conflict.id, job.id
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/conflicts")
    browser.wait_for(f"document.querySelector('[data-conflict-id=\"{conflict_id}\"]')")
    card = browser.evaluate("document.querySelector('.conflict').textContent")
    assert "replaced the valve (office)" in card and "replaced the valve and the seal" in card
    browser.evaluate("[...document.querySelectorAll('.conflict button')]"
                     ".find((b) => b.textContent.includes('采用设备值')).click()")
    browser.wait_for("document.querySelector('.conflict .pill.resolved')")
    db.session.expire_all()
    assert db.session.get(Job, job_id).work_done == "replaced the valve and the seal"
    assert db.session.get(SyncConflict, conflict_id).status == "resolved"
    release_db()
    assert browser.errors == []


def test_warehouse_pages_show_levels_and_download_the_reconciliation_csv(app, client, live_server, browser):
    warehouse = f.location(LocationKind.regional_warehouse, code="WH-BJ-01", name="北京二级仓")
    van = f.location(LocationKind.van, code="VAN-07")
    part = f.part("FILTER-3", name="滤芯 Filter")
    now = utcnow()
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=warehouse.id, part_id=part.id,
                           quantity=7, at=now - timedelta(minutes=5))
    ledger.record_movement(db.session, kind=MovementKind.consumed, location_id=van.id, part_id=part.id,
                           quantity=-1, at=now - timedelta(minutes=4))  # used on site, never issued: negative
    db.session.commit()
    warehouse_id = warehouse.id
    sign_in(browser, live_server, client, f.user(Role.warehouse))

    browser.goto(f"{live_server}/stock?part=FILTER-3")
    visible = browser.evaluate("[...document.querySelectorAll('#nav a')].filter((a) => !a.hidden)"
                               ".map((a) => a.textContent)")
    assert "库存" in visible and "同步冲突" not in visible  # not for warehouse staff
    browser.wait_for("document.querySelectorAll('#levels tbody tr').length === 2 && "
                     "document.querySelector('#levels tbody').textContent.includes('VAN-07') && "
                     "document.querySelector('#levels tbody').textContent.includes('WH-BJ-01')")
    rows = browser.evaluate("[...document.querySelectorAll('#levels tbody tr')].map((r) => r.textContent)")
    assert any("WH-BJ-01" in r and "7" in r for r in rows) and any("VAN-07" in r and "-1" in r for r in rows)
    browser.evaluate("[...document.querySelectorAll('#levels tbody tr')].find((r) => r.textContent.includes('VAN-07'))"
                     ".querySelector('button').click()")  # the ledger behind a level
    assert "消耗-1" in browser.wait_for("document.querySelector('#levels tbody table') && "
                                            "document.querySelector('#levels tbody table').textContent")

    browser.goto(f"{live_server}/stock?location=van-07")  # a location by its code, as typed
    browser.wait_for("document.querySelectorAll('#levels tbody tr').length === 1 && "
                     "document.querySelector('#levels tbody').textContent.includes('VAN-07')")

    browser.goto(f"{live_server}/stock/discrepancies")
    browser.wait_for("document.querySelector('#discrepancies tr[data-discrepancy-id]')")
    browser.wait_for("document.querySelector('#discrepancies tbody').textContent.includes('FILTER-3') && "
                     "document.querySelector('#discrepancies tbody').textContent.includes('VAN-07')")
    browser.evaluate("const row = document.querySelector('#discrepancies tr[data-discrepancy-id]');"
                     "row.querySelector('input').value = '漏报领料 issue not recorded';"
                     "row.querySelector('button').click()")
    browser.wait_for("document.querySelector('#discrepancies .pill.resolved')")
    db.session.expire_all()
    (found,) = db.session.query(StockDiscrepancy).all()
    assert found.status is DiscrepancyStatus.resolved and found.resolution_note == "漏报领料 issue not recorded"
    release_db()

    browser.goto(f"{live_server}/stock/reconciliation?location={warehouse_id}")
    browser.wait_for("!document.getElementById('report').hidden && !document.getElementById('csv').disabled")
    assert "FILTER-3" in browser.evaluate("document.querySelector('#lines tbody').textContent")
    browser.evaluate("document.getElementById('csv').click()")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = [p for p in browser.downloads.iterdir() if p.suffix == ".csv"]
        if done:
            break
        time.sleep(0.1)
    assert done, "no CSV was downloaded"
    text = done[0].read_text(encoding="utf-8")
    assert done[0].name.startswith("reconciliation-WH-BJ-01-") and "FILTER-3" in text

    browser.goto(f"{live_server}/stock/summary")
    browser.wait_for("document.querySelector('#summary tbody a')")
    assert "VAN-07" in browser.evaluate("document.querySelector('#summary tbody').textContent")
    assert browser.errors == []


def test_swaps_page_lists_a_visit_on_site_too_long(app, client, live_server, browser):
    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, model="CH-200"), status=TicketStatus.on_site)
    on_site = f.technician(latitude=SITE[0], longitude=SITE[1], name="在场 On site")
    f.job(ticket, on_site, status=JobStatus.on_site, arrived_at=utcnow() - timedelta(hours=5))
    van_owner = f.technician(latitude=north_of_site(12)[0], longitude=SITE[1], name="送机 Courier")
    f.spare_unit(db.session.get(Technician, van_owner.id).van, model="CH-200", serial_number="SU-VAN-1")
    reference = ticket.reference
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/swaps")
    text = browser.wait_for("document.querySelector('#swaps tbody').textContent.includes('SU-VAN-1') && "
                            "document.querySelector('#swaps tbody').textContent.includes('" + reference + "') && "
                            "document.querySelector('#swaps tbody').textContent.includes('在场 On site') && "
                            "document.querySelector('#swaps tbody').textContent")
    assert "送机 Courier" in text and "备用机就在车上" in text and "在场 On site" in text
    assert browser.errors == []


def test_dispatch_page_reserves_a_spare_unit_when_asked(app, client, live_server, browser, scene):
    unit = f.spare_unit(db.session.get(Technician, scene["far"]).van, model="CH-200", serial_number="SU-CH-9")
    unit_id = unit.id
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/tickets/{scene['ticket']}/dispatch")
    browser.wait_for("document.querySelectorAll('#candidates tr[data-technician-id]').length === 2")
    browser.evaluate("document.getElementById('o-spare').checked = true;"
                     "document.querySelector('#options button[type=submit]').click()")
    # The spare unit is a second need, with its own stock options, preselected as asked.
    browser.wait_for("document.querySelector('#stock-options [data-need=\"spare_unit:CH-200\"] select')")
    assert "SU-CH-9" in browser.evaluate("document.querySelector('#stock-options').textContent")
    assert "一台备用机" in browser.evaluate("document.getElementById('assign-summary').textContent")
    browser.evaluate("document.getElementById('assign').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok')")
    db.session.expire_all()
    job = db.session.query(Job).filter_by(ticket_id=scene["ticket"]).one()
    reserved = {(r.part_id, r.spare_unit_id) for r in db.session.query(Reservation).filter_by(job_id=job.id)}
    assert reserved == {(scene["part"], None), (None, unit_id)}
    release_db()
    assert browser.errors == []


def test_conflicts_page_sets_a_typed_value_and_leaves_the_rest_as_merged(app, client, live_server, browser):
    from sync.models import SyncConflict

    tech = f.technician()
    job = f.job(tech=tech, work_done="换阀 valve", fault_cause="密封老化 worn seal")  # the device's values won
    conflict = SyncConflict(table_name="jobs", record_id=str(job.id), kind="field_conflict", status="open",
                            fields={"work_done": {"server": "检查 inspected", "device": "换阀 valve", "kept": "device"},
                                    "fault_cause": {"server": "未知 unknown", "device": "密封老化 worn seal",
                                                    "kept": "device"}},
                            technician_id=tech.id, base_version=1, version=2, created_at=utcnow())
    db.session.add(conflict)
    db.session.commit()
    conflict_id, job_id = conflict.id, job.id
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/conflicts")
    browser.wait_for(f"document.querySelector('[data-conflict-id=\"{conflict_id}\"]')")
    browser.evaluate("const select = document.querySelector('select[data-field=work_done]');"
                     "select.value = 'custom'; select.dispatchEvent(new Event('change'));"
                     "const input = document.querySelector('input[data-field=work_done]');"
                     "input.value = '换阀和密封圈 valve and seal';"
                     "[...document.querySelectorAll('.conflict button')]"
                     ".find((b) => b.textContent.includes('按所选处理')).click()")
    browser.wait_for("document.querySelector('.conflict .pill.resolved')")
    db.session.expire_all()
    settled = db.session.get(Job, job_id)
    assert (settled.work_done, settled.fault_cause) == ("换阀和密封圈 valve and seal", "密封老化 worn seal")
    assert db.session.get(SyncConflict, conflict_id).resolution == {
        "keep": "values", "values": {"work_done": "换阀和密封圈 valve and seal"}}
    release_db()
    assert browser.errors == []


def test_ticket_page_lists_the_jobs_expenses_from_the_handheld_and_the_office(app, client, live_server, browser):
    import uuid

    from tests.syncing import Handheld, op
    from tests.test_pages_language_browser import assert_nothing_raw

    tech = f.technician(name="李师傅")
    ticket = f.ticket(summary="冷水机组不制冷")
    job = f.job(ticket, tech)
    device = Handheld(client, tech)
    pushed = device.push([op("job_expenses", uuid.uuid4(), "create", {
        "job_id": str(job.id), "kind": "travel", "amount": 35.5, "distance_km": 18.5, "travel_minutes": 40,
        "note": "出租车", "incurred_at": "2026-11-20T02:00:00Z"})])["results"]
    assert pushed[0]["status"] == "applied", pushed
    office = f.user(Role.dispatcher)
    headers = sign_in(browser, live_server, client, office)
    recorded = client.post(f"/api/v1/jobs/{job.id}/expenses", headers=headers, json={
        "kind": "transport", "amount": 120, "note": "顺丰 配件", "incurred_at": "2026-11-21T02:00:00Z"})
    assert recorded.status_code == 201, recorded.get_json()
    ticket_id = ticket.id
    release_db()
    browser.goto(f"{live_server}/tickets/{ticket_id}")
    browser.wait_for("document.querySelectorAll('#expenses tbody tr[data-kind]').length === 2")
    rows = browser.evaluate("[...document.querySelectorAll('#expenses tbody tr')].map((tr) => "
                            "[...tr.cells].map((td) => td.textContent))")
    assert [r[1:] for r in rows] == [["李师傅", "差旅交通费", "¥35.50", "18.5 公里 · 40 分钟", "出租车"],
                                     ["李师傅", "运输费", "¥120.00", "", "顺丰 配件"]]
    assert [rows[0][0], rows[1][0]] == ["11-20 10:00", "11-21 10:00"]  # in Shanghai: 02:00 UTC is 10:00
    assert browser.evaluate("document.getElementById('expenses-total').textContent") == "共 2 笔，合计 ¥155.50"
    assert_nothing_raw(browser, "ticket expenses")
    browser.goto(f"{live_server}/tickets/{ticket_id}?lang=en")
    browser.wait_for("document.getElementById('expenses-total').textContent === '2 in all, total ¥155.50'")
    assert "Travel" in browser.evaluate("document.getElementById('expenses').textContent")
    assert_nothing_raw(browser, "ticket expenses (en)")
