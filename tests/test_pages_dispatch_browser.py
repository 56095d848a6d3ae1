"""The dispatch pages in headless Chromium against the real API: a late-only
dispatch with an override reason, the map, reassign and cancel. Screenshots
are kept in tests/artefacts/ (FIELDSYNC_ARTEFACTS)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from server.accounts.models import Role
from server.dispatch.models import DispatchAction
from server.extensions import db
from server.jobs.models import Job
from server.tickets.models import TicketEvent
from tests import factories as f
from tests.test_pages_browser import SITE, browser, north_of_site, release_db, sign_in  # noqa: F401  (fixture)

ARTEFACTS = Path(os.environ.get("FIELDSYNC_ARTEFACTS") or Path(__file__).parent / "artefacts")


def shot(browser, name):  # noqa: F811
    browser.screenshot(ARTEFACTS / f"{name}.png")


def test_a_late_only_dispatch_assigns_with_a_recorded_reason(app, client, live_server, browser):  # noqa: F811
    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller"))
    off = f.technician(latitude=north_of_site(2)[0], longitude=SITE[1], name="孙师傅 Sun")
    off.shifts.clear()
    f.technician(latitude=north_of_site(1)[0], longitude=SITE[1], name="赵师傅 Zhao", product_lines=("boiler",))
    db.session.commit()
    ticket_id, off_id = ticket.id, off.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/tickets/{ticket_id}/dispatch")
    browser.wait_for("!document.getElementById('late-card').hidden && "
                     "document.querySelectorAll('#late tr[data-technician-id]').length === 1")
    assert "无人能按时到场" in browser.evaluate("document.getElementById('outcome').textContent")
    row = browser.evaluate("document.querySelector('#late tr[data-technician-id]').textContent")
    assert "孙师傅 Sun" in row and "需加班" in row
    # Nobody is preselected when nobody is in time: the dispatcher decides.
    assert browser.evaluate("document.querySelector('input[name=technician]:checked')") is None
    browser.evaluate("document.querySelector('#late input[name=technician]').click()")
    assert browser.evaluate("document.getElementById('override-label').hidden") is False
    shot(browser, "dispatch-late-only")

    browser.evaluate("document.getElementById('assign').click()")  # no reason yet: refused on the page
    assert "越权理由" in browser.wait_for("!document.getElementById('assign-error').hidden && "
                                      "document.getElementById('assign-error').textContent")
    browser.evaluate("document.getElementById('a-override').value = '周日加班，客户停产'")
    # The planned start is typed on the company's wall clock (Beijing time), whatever zone the browser is in.
    browser.send("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"}, session=True)
    try:
        browser.evaluate("document.getElementById('a-planned-start').value = '2030-01-02T09:00'")
        browser.evaluate("document.getElementById('assign').click()")
        browser.wait_for("document.getElementById('flash').className.includes('ok')")
    finally:
        browser.send("Emulation.setTimezoneOverride", {"timezoneId": ""}, session=True)
    assert "已记录越权" in browser.evaluate("document.getElementById('flash').textContent")
    db.session.expire_all()
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.technician_id, action.flags, action.reason) == (off_id, "overtime", "周日加班，客户停产")
    job = db.session.scalars(sa.select(Job).where(Job.ticket_id == ticket_id)).one()
    assert job.planned_start == datetime(2030, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    notes = db.session.scalars(sa.select(TicketEvent.note).where(TicketEvent.ticket_id == ticket_id)).all()
    assert any("周日加班" in (n or "") for n in notes)
    release_db()
    assert browser.errors == []


def test_on_call_duty_is_labelled_and_ranks_before_overtime_on_the_page(app, client, live_server, browser):  # noqa: F811
    from datetime import timedelta

    from server.db import utcnow
    from server.technicians.models import OnCallPeriod

    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller"))
    overtime = f.technician(latitude=north_of_site(2)[0], longitude=SITE[1], name="孙师傅 Sun")
    overtime.shifts.clear()
    duty = f.technician(latitude=north_of_site(8)[0], longitude=SITE[1], name="钱师傅 Qian")
    duty.shifts.clear()
    db.session.add(OnCallPeriod(technician_id=duty.id, starts_at=utcnow() - timedelta(hours=2),
                                ends_at=utcnow() + timedelta(hours=20), note="周日值班"))
    ticket.on_site_due_at = utcnow() + timedelta(minutes=2)  # nobody makes it: calling them out is late
    db.session.commit()
    ticket_id, duty_id = ticket.id, duty.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    for lang, label, flag, overtime_flag in (("zh-CN", "值班", "值班调用", "需加班"),
                                             ("en", "On call", "Called out on call", "Overtime")):
        browser.goto(f"{live_server}/tickets/{ticket_id}/dispatch?lang={lang}")
        browser.wait_for("document.querySelectorAll('#late tr[data-technician-id]').length === 2")
        rows = browser.evaluate("[...document.querySelectorAll('#late tr[data-technician-id]')]"
                                ".map((r) => [r.dataset.technicianId, r.textContent])")
        # On call (8 km) before overtime (2 km): overtime counts as an hour later.
        assert rows[0][0] == str(duty_id)
        assert label in browser.evaluate("document.querySelector('#late tr[data-technician-id] .on-call')"
                                         ".textContent") and flag in rows[0][1]
        assert overtime_flag in rows[1][1] and "on-call" not in browser.evaluate(
            "document.querySelectorAll('#late tr[data-technician-id]')[1].innerHTML")
        shot(browser, f"dispatch-on-call-{lang}")
    # Calling them out needs no reason: the page offers an optional note and requires nothing.
    browser.evaluate("document.querySelector('#late input[name=technician]').click()")
    assert browser.evaluate("document.getElementById('override-label').hidden") is False
    assert browser.evaluate("document.getElementById('override-required').hidden") is True
    assert "optional" in browser.evaluate("document.getElementById('override-optional').textContent")
    assert browser.evaluate("document.getElementById('override-optional').hidden") is False
    # The overtime candidate still needs one.
    browser.evaluate("document.querySelectorAll('#late input[name=technician]')[1].click()")
    assert browser.evaluate("document.getElementById('override-required').hidden") is False
    assert browser.evaluate("document.getElementById('override-optional').hidden") is True
    browser.evaluate("document.querySelector('#late input[name=technician]').click()")
    browser.evaluate("document.getElementById('assign').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok')")
    db.session.expire_all()
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.technician_id, action.flags, action.reason) == (duty_id, "late on_call", None)
    release_db()
    assert browser.errors == []


def test_a_note_typed_for_an_on_call_call_out_is_sent(app, client, live_server, browser):  # noqa: F811
    from datetime import timedelta

    from server.db import utcnow
    from server.technicians.models import OnCallPeriod

    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller"))
    duty = f.technician(latitude=north_of_site(8)[0], longitude=SITE[1], name="钱师傅 Qian")
    duty.shifts.clear()
    db.session.add(OnCallPeriod(technician_id=duty.id, starts_at=utcnow() - timedelta(hours=2),
                                ends_at=utcnow() + timedelta(hours=20)))
    ticket.on_site_due_at = utcnow() + timedelta(minutes=2)
    db.session.commit()
    ticket_id, duty_id = ticket.id, duty.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/tickets/{ticket_id}/dispatch?lang=en")
    browser.wait_for("document.querySelectorAll('#late tr[data-technician-id]').length === 1")
    browser.evaluate("document.querySelector('#late input[name=technician]').click()")
    assert "optional" in browser.evaluate("document.getElementById('override-label').textContent")
    browser.evaluate("document.getElementById('a-override').value = 'Qian lives nearby'")
    browser.evaluate("document.getElementById('assign').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok')")
    db.session.expire_all()
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.technician_id, action.flags, action.reason) == (duty_id, "late on_call", "Qian lives nearby")
    release_db()
    assert browser.errors == []


def test_nobody_certified_is_said_plainly_on_the_page(app, client, live_server, browser):  # noqa: F811
    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller"))
    f.technician(latitude=north_of_site(1)[0], longitude=SITE[1], name="赵师傅 Zhao", product_lines=("boiler",))
    ticket_id = ticket.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/tickets/{ticket_id}/dispatch")
    text = browser.wait_for("!document.getElementById('late-card').hidden && "
                            "document.getElementById('outcome').textContent")
    assert "没有持有效证书" in text
    assert browser.evaluate("document.getElementById('assign').disabled") is True
    assert browser.errors == []


def test_new_ticket_then_dispatch_with_an_override_then_reassign_then_cancel_from_the_pages(
        app, client, live_server, browser):  # noqa: F811
    import uuid as uuidlib

    from server.db import utcnow
    from server.jobs.models import Job, JobStatus
    from server.tickets.models import Ticket, TicketContact, TicketStatus

    f.customer("上海第一人民医院", contact_name="王经理", phone="021-63240090", address="虹口区海宁路100号")
    f.customer("北京某商场", phone="010-1111")
    off = f.technician(latitude=north_of_site(2)[0], longitude=SITE[1], name="孙师傅 Sun")
    off.shifts.clear()
    other = f.technician(latitude=north_of_site(4)[0], longitude=SITE[1], name="钱师傅 Qian")
    other.shifts.clear()
    db.session.commit()
    other_id = other.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))

    # A new ticket from the pages: the customer found by phone, a site and an asset added on the way.
    browser.goto(f"{live_server}/tickets/new")
    browser.evaluate("document.getElementById('n-q').value = '63240090'")
    browser.evaluate("document.querySelector('#find button').click()")
    browser.wait_for("document.querySelectorAll('#found tr[data-customer-id]').length === 1")
    browser.evaluate("document.querySelector('#found button.pick').click()")
    browser.wait_for("!document.getElementById('place').hidden")
    assert browser.evaluate("document.getElementById('n-person').value") == "王经理"
    browser.evaluate("document.getElementById('add-site').open = true")
    site_form = {"name": "门诊楼", "address": "虹口区海宁路100号", "city": "上海", "latitude": SITE[0],
                 "longitude": SITE[1]}
    for name, value in site_form.items():
        browser.evaluate(f"document.querySelector('#site-form [name={name}]').value = {json.dumps(str(value))}")
    browser.evaluate("document.querySelector('#site-form button').click()")
    browser.wait_for("document.getElementById('n-site').options.length === 1")
    browser.evaluate("document.getElementById('add-asset').open = true")
    for name, value in {"product_line": "chiller", "model": "CH-200", "serial_number": "CH-77"}.items():
        browser.evaluate(f"document.querySelector('#asset-form [name={name}]').value = {json.dumps(value)}")
    browser.evaluate("document.querySelector('#asset-form button').click()")
    browser.wait_for("document.getElementById('n-asset').options.length === 2 && "
                     "document.getElementById('n-asset').value !== ''")
    browser.evaluate("document.getElementById('n-category').value = 'complaint'; "
                     "document.getElementById('n-category').dispatchEvent(new Event('change'))")
    assert browser.evaluate("document.getElementById('n-class-label').hidden") is False
    browser.evaluate("document.getElementById('n-class').value = 'quality'")
    browser.evaluate("document.getElementById('n-summary').value = '冷机噪音大，第三次报修'")
    # The reception time cannot lie in the future: refused on the page before the server would.
    browser.evaluate("document.getElementById('n-received').value = '2999-01-01T10:00'")
    browser.evaluate("document.getElementById('n-create').click()")
    assert "不能晚于现在" in browser.wait_for("!document.getElementById('n-error').hidden && "
                                         "document.getElementById('n-error').textContent")
    browser.evaluate("document.getElementById('n-received').value = "
                     "FS.fmtTime(new Date(Date.now() - 2 * 3600000)).replace(' ', 'T')")
    shot(browser, "ticket-new")
    browser.evaluate("document.getElementById('n-create').click()")
    browser.wait_for("/^\\/tickets\\/[0-9a-f-]{36}$/.test(location.pathname)", timeout=10)
    ticket_id = uuidlib.UUID(browser.evaluate("location.pathname.split('/').pop()"))
    db.session.expire_all()
    created = db.session.get(Ticket, ticket_id)
    assert (created.category.value, created.complaint_class.value, created.channel.value) == \
        ("complaint", "quality", "phone")
    assert abs((utcnow() - created.received_at).total_seconds() - 7200) < 180  # the clocks start there
    contact = db.session.scalars(sa.select(TicketContact).where(TicketContact.ticket_id == ticket_id)).one()
    assert (contact.person, contact.phone) == ("王经理", "021-63240090")
    release_db()
    browser.wait_for("document.getElementById('details').textContent.includes('CH-77')")
    browser.wait_for("document.querySelector('#contacts tbody').textContent.includes('王经理')")

    # Dispatch: nobody is in time; the nearest off-shift technician, with a reason.
    browser.goto(f"{live_server}/tickets/{ticket_id}/dispatch")
    browser.wait_for("document.querySelectorAll('#late tr[data-technician-id]').length === 2")
    browser.evaluate("document.querySelector('#late input[name=technician]').click()")
    browser.evaluate("document.getElementById('a-override').value = '周日值班'")
    browser.evaluate("document.getElementById('assign').click()")
    browser.wait_for("location.pathname === '/tickets/" + str(ticket_id) + "'", timeout=10)

    # The ticket's page: the asset's serial, the override in the history, the job with its actions.
    browser.wait_for("document.querySelector('#jobs button.reassign')")
    assert "CH-77" in browser.evaluate("document.getElementById('details').textContent")
    assert "周日值班" in browser.evaluate("document.querySelector('#history tbody').textContent")
    shot(browser, "ticket-dispatched")
    browser.evaluate("document.querySelector('#jobs button.reassign').click()")
    browser.wait_for("document.querySelector('#jobs select.reassign-to') && "
                     "!document.getElementById('confirm-box').hidden")
    assert "钱师傅 Qian" in browser.evaluate("document.querySelector('#jobs select.reassign-to').textContent")
    browser.evaluate("document.getElementById('confirm-yes').click()")  # no reason: refused on the page
    browser.wait_for("!document.getElementById('confirm-error').hidden")
    browser.evaluate("document.getElementById('confirm-reason').value = '孙师傅车坏了'")
    browser.evaluate("document.getElementById('confirm-yes').click()")
    browser.wait_for("document.querySelector('#history tbody').textContent.includes('孙师傅车坏了')")
    db.session.expire_all()
    assert db.session.scalars(sa.select(Job.technician_id).where(Job.ticket_id == ticket_id)).one() == other_id
    release_db()

    # Cancel the ticket: asks for a reason, then the clocks stop.
    browser.evaluate("document.querySelector('#transitions button[data-to=cancelled]').click()")
    browser.wait_for("!document.getElementById('confirm-box').hidden")
    browser.evaluate("document.getElementById('confirm-reason').value = '客户自行修好'")
    browser.evaluate("document.getElementById('confirm-yes').click()")
    browser.wait_for("document.querySelectorAll('#clocks td.clock.stopped').length >= 1")
    shot(browser, "ticket-cancelled")
    db.session.expire_all()
    row = db.session.get(Ticket, ticket_id)
    assert row.status is TicketStatus.cancelled and row.closed_at is not None
    assert db.session.scalars(sa.select(Job.status).where(Job.ticket_id == ticket_id)).one() is JobStatus.cancelled
    kinds = sorted(db.session.scalars(sa.select(DispatchAction.kind)).all())
    # Qian is off shift too: the reassignment's override is recorded with the reason given on the page.
    assert kinds == ["cancel", "override", "override", "reassign"]
    overrides = db.session.execute(sa.select(DispatchAction.technician_id, DispatchAction.flags, DispatchAction.reason)
                                   .where(DispatchAction.kind == "override")).all()
    assert (other_id, "overtime", "孙师傅车坏了") in [tuple(o) for o in overrides]
    release_db()
    assert browser.errors == []


def test_the_swaps_page_sends_the_suggested_unit_through_transit(app, client, live_server, browser):  # noqa: F811
    from datetime import timedelta

    from server.db import utcnow
    from server.jobs.models import JobStatus
    from server.stock.models import LocationKind, SpareUnit, SpareUnitStatus

    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, model="CH-200"))
    f.job(ticket, f.technician(name="在现场 On site"), status=JobStatus.on_site,
          arrived_at=utcnow() - timedelta(hours=5))
    f.technician(latitude=north_of_site(3)[0], longitude=SITE[1], name="吴师傅 Wu")
    store = f.location(LocationKind.service_station, *north_of_site(3), code="ST-SH-9")
    unit = f.spare_unit(store, model="CH-200", serial_number="SU-909")
    unit_id, site_id = unit.id, site.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/swaps")
    browser.wait_for("document.querySelector('#swaps button.send')")
    browser.evaluate("document.querySelector('#swaps button.send').click()")
    browser.wait_for("document.querySelector('#swaps li.on-its-way')")
    db.session.expire_all()
    assert db.session.get(SpareUnit, unit_id).status is SpareUnitStatus.in_transit
    release_db()
    shot(browser, "swaps-in-transit")
    browser.evaluate("document.querySelector('#swaps button.arrived').click()")
    browser.wait_for("!document.querySelector('#swaps li.on-its-way')")
    db.session.expire_all()
    row = db.session.get(SpareUnit, unit_id)
    assert (row.status, row.site_id) == (SpareUnitStatus.loaned, site_id)
    release_db()
    assert browser.errors == []


def test_the_map_draws_site_candidates_filtered_out_and_stock_without_a_tile_server(
        app, client, live_server, browser):  # noqa: F811
    from server.db import utcnow
    from server.stock import ledger
    from server.stock.models import LocationKind, MovementKind
    from server.tickets.models import TicketPart

    assert not app.config["MAP_TILE_URL"]
    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller"))
    part = f.part("VALVE-3")
    db.session.add(TicketPart(ticket_id=ticket.id, part_id=part.id, quantity=1))
    f.technician(latitude=north_of_site(1)[0], longitude=SITE[1], name="李师傅 <b>Li</b>")
    f.technician(latitude=north_of_site(0.5)[0], longitude=SITE[1], name="赵师傅 Zhao", product_lines=("boiler",))
    store = f.location(LocationKind.regional_warehouse, *north_of_site(3), code="WH-MAP-1")
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=store.id, part_id=part.id,
                           quantity=3, at=utcnow())
    db.session.commit()
    ticket_id = ticket.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/tickets/{ticket_id}/dispatch")
    browser.wait_for("document.getElementById('map').dataset.points === '4'")
    labels = browser.evaluate("[...document.querySelectorAll('#map .map-label')].map((n) => n.textContent)")
    assert sorted(labels) == sorted(["现场", "1. 李师傅 <b>Li</b>", "赵师傅 Zhao", "WH-MAP-1"])  # text, never HTML
    assert browser.evaluate("document.querySelectorAll('#map path.map-candidate').length") == 1
    assert browser.evaluate("document.querySelectorAll('#map path.map-excluded').length") == 1
    assert browser.evaluate("document.querySelectorAll('#map path.map-stock').length") == 1
    assert browser.evaluate("document.querySelector('#map .leaflet-control-scale').textContent")
    assert browser.evaluate("document.querySelectorAll('#map img.leaflet-tile').length") == 0
    shot(browser, "dispatch-map-no-tiles")
    assert browser.errors == []


def test_the_customer_360_page(app, client, live_server, browser):  # noqa: F811
    from datetime import date, timedelta

    customer = f.customer("上海第一人民医院", contact_name="王经理", phone="021-63240090")
    site = f.site(customer, name="门诊楼", city="上海")
    chiller = f.asset(site, product_line="chiller", model="CH-200", serial_number="SN-CH-9",
                      warranty_end=date.today() + timedelta(days=90))
    boiler = f.asset(site, product_line="boiler", model="BO-1", serial_number="SN-BO-9")
    f.contract(customer, response=1, on_site=8, resolve=24)
    f.ticket(st=site, ast=chiller, summary="冷机不制冷")
    f.ticket(st=site, ast=chiller, summary="冷机噪音", category="complaint", complaint_class="quality")
    f.ticket(st=site, ast=boiler, summary="锅炉漏水")
    customer_id = customer.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/customers/{customer_id}")
    browser.wait_for("document.querySelectorAll('#c-tickets tr[data-ticket-id]').length === 3 && "
                     "document.querySelectorAll('#c-assets tr[data-serial]').length === 2")
    assets = browser.evaluate("[...document.querySelectorAll('#c-assets tr[data-serial]')].map((r) => r.textContent)")
    assert any("SN-CH-9" in r and "2" in r for r in assets)  # two tickets in its service history
    # The contracts load alongside the assets: wait for them too.
    assert "8" in browser.wait_for("document.querySelector('#c-contracts tbody').textContent")
    browser.evaluate("document.querySelector('#ticket-filter [name=serial_number]').value = 'SN-CH-9'")
    browser.evaluate("document.querySelector('#ticket-filter button').click()")
    browser.wait_for("document.querySelectorAll('#c-tickets tr[data-ticket-id]').length === 2")
    browser.evaluate("document.getElementById('tf-class').value = 'quality'")
    browser.evaluate("document.querySelector('#ticket-filter button').click()")
    browser.wait_for("document.querySelectorAll('#c-tickets tr[data-ticket-id]').length === 1")
    assert "冷机噪音" in browser.evaluate("document.querySelector('#c-tickets tbody').textContent")
    browser.evaluate("document.querySelector('#asset-filter [name=product_line]').value = 'boiler'")
    browser.evaluate("document.querySelector('#asset-filter button').click()")
    browser.wait_for("document.querySelectorAll('#c-assets tr[data-serial]').length === 1")
    shot(browser, "customer-360")
    assert browser.errors == []
