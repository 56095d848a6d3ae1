"""The dispatch pages in headless Chromium against the real API: a late-only
dispatch with an override reason, the map, reassign and cancel. Screenshots
are kept in tests/artefacts/ (FIELDSYNC_ARTEFACTS)."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from server.accounts.models import Role
from server.dispatch.models import DispatchAction
from server.extensions import db
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
    browser.evaluate("document.getElementById('assign').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok')")
    assert "已记录越权" in browser.evaluate("document.getElementById('flash').textContent")
    db.session.expire_all()
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.technician_id, action.flags, action.reason) == (off_id, "overtime", "周日加班，客户停产")
    notes = db.session.scalars(sa.select(TicketEvent.note).where(TicketEvent.ticket_id == ticket_id)).all()
    assert any("周日加班" in (n or "") for n in notes)
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


def test_dispatch_with_an_override_then_reassign_then_cancel_from_the_pages(
        app, client, live_server, browser):  # noqa: F811
    from server.jobs.models import Job, JobStatus
    from server.tickets.models import Ticket, TicketStatus

    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller", serial_number="CH-77"))
    off = f.technician(latitude=north_of_site(2)[0], longitude=SITE[1], name="孙师傅 Sun")
    off.shifts.clear()
    other = f.technician(latitude=north_of_site(4)[0], longitude=SITE[1], name="钱师傅 Qian")
    other.shifts.clear()
    db.session.commit()
    ticket_id, other_id = ticket.id, other.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))

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
    assert kinds == ["cancel", "override", "reassign"]
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
