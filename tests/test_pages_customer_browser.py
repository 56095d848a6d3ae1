"""客户360's service-history timeline and the ticket's hand-over picker in
headless Chromium against the real API, in Chinese and in English, with
nothing raw (ISO times, UUIDs) in view. Screenshots go to tests/artefacts/."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from media.models import Signature
from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import CustomerRating, JobStatus, PartUsage
from server.tickets.models import Ticket, TicketEvent
from tests import factories as f
from tests.test_pages_browser import browser, release_db, sign_in  # noqa: F401  (fixture)
from tests.test_pages_dispatch_browser import shot
from tests.test_pages_language_browser import assert_nothing_raw

pytestmark = pytest.mark.usefixtures("fresh_media")
DONE = datetime(2026, 10, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TIMELINE = "document.getElementById('c-timeline')"


def test_the_customer_360_timeline_shows_a_completed_visit_with_its_report(app, client, live_server, browser):  # noqa: F811
    customer = f.customer("上海第一人民医院", contact_name="王经理")
    site = f.site(customer, name="门诊楼")
    chiller = f.asset(site, product_line="chiller", model="CH-200", serial_number="SN-CH-9")
    # No service yet; product lines are open-ended: one the catalogue has no label for shows its code.
    f.asset(site, product_line="rooftop_unit", model="RT-1", serial_number="SN-BO-9")
    tech = f.technician(name="李师傅 Li")
    ticket = f.ticket(st=site, ast=chiller, summary="冷机不制冷", received_at=DONE - timedelta(days=1))
    job = f.job(ticket, tech, status=JobStatus.completed, arrived_at=DONE - timedelta(hours=2), departed_at=DONE,
                completed_at=DONE, fault_cause="膨胀阀卡死", solution="更换膨胀阀", work_done="试机正常",
                customer_rating=CustomerRating.satisfied)
    part = f.part("P-VALVE", name="膨胀阀组件")
    db.session.add_all([PartUsage(job_id=job.id, part_id=part.id, quantity=1, under_warranty=True),
                        Signature(job_id=job.id, signer_name="王经理", report_sha256="0" * 64,
                                  strokes=[[{"x": 0, "y": 0, "t": 0}, {"x": 40, "y": 20, "t": 9}]],
                                  received_at=DONE + timedelta(minutes=5))])
    db.session.add(TicketEvent(ticket_id=ticket.id, kind="transition", from_status="new", to_status="dispatched",
                               at=DONE - timedelta(hours=20)))
    f.ticket(st=site, ast=chiller, summary="冷机噪音", received_at=DONE + timedelta(days=3))  # not visited yet
    db.session.commit()
    customer_id = customer.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/customers/{customer_id}")
    browser.wait_for(f"{TIMELINE}.querySelectorAll('.tl-ticket').length === 2 && "
                     f"{TIMELINE}.querySelectorAll('.asset-history').length === 2")
    chiller_text = browser.evaluate(f"{TIMELINE}.querySelector('[data-serial=\"SN-CH-9\"]').innerText")
    # Newest ticket first; the visited one reads reception → dispatch → arrival → completion, in Shanghai time.
    assert chiller_text.index("冷机噪音") < chiller_text.index("冷机不制冷")
    for expected in ("受理 2026-10-01 09:00", "派工 2026-10-01 13:00 · 李师傅 Li", "到场 2026-10-02 07:00",
                     "完工 2026-10-02 09:00",
                     "膨胀阀卡死", "更换膨胀阀", "试机正常", "P-VALVE 膨胀阀组件 × 1", "满意",
                     "王经理 于 2026-10-02 09:05 签字", "作业报告书 PDF", "尚无完成的上门服务"):
        assert expected in chiller_text, (expected, chiller_text)
    boiler_text = browser.evaluate(f"{TIMELINE}.querySelector('[data-serial=\"SN-BO-9\"]').innerText")
    assert "暂无服务记录" in boiler_text
    # Product lines by their labels (enum.product_line.*), in the assets table and the timeline's headings.
    assert "冷水机组 · CH-200 · 序列号 SN-CH-9" in chiller_text and "chiller" not in chiller_text
    assert product_lines(browser) == {"SN-CH-9": "冷水机组", "SN-BO-9": "rooftop_unit"}
    # The signed report is listed too, and its PDF downloads.
    assert "王经理" in browser.evaluate("document.getElementById('c-reports').innerText")
    assert_nothing_raw(browser, "customer 360 zh-CN")
    shot(browser, "customer-360-timeline.zh-CN")
    browser.evaluate(f"{TIMELINE}.querySelector('.visit .report-pdf').click()")
    deadline = time.monotonic() + 20
    done = []
    while time.monotonic() < deadline and not done:
        done = [p for p in browser.downloads.iterdir() if p.suffix == ".pdf"]
        time.sleep(0.1)
    assert done and done[0].read_bytes().startswith(b"%PDF-")

    browser.evaluate("document.getElementById('lang-switch').click()")
    browser.wait_for(f"document.documentElement.lang === 'en' && "
                     f"{TIMELINE}.querySelectorAll('.tl-ticket').length === 2")
    chiller_text = browser.evaluate(f"{TIMELINE}.querySelector('[data-serial=\"SN-CH-9\"]').innerText")
    for expected in ("Received 2026-10-01 09:00", "Dispatched 2026-10-01 13:00 · 李师傅 Li",
                     "Arrived 2026-10-02 07:00",
                     "Completed 2026-10-02 09:00", "Parts used", "Satisfied", "Signed by 王经理 at 2026-10-02 09:05",
                     "Work report PDF", "No completed visit yet"):
        assert expected in chiller_text, (expected, chiller_text)
    assert "satisfied" not in chiller_text
    assert "Chiller · CH-200 · serial SN-CH-9" in chiller_text
    assert product_lines(browser) == {"SN-CH-9": "Chiller", "SN-BO-9": "rooftop_unit"}
    assert_nothing_raw(browser, "customer 360 en")
    shot(browser, "customer-360-timeline.en")
    assert browser.errors == []


def product_lines(page) -> dict:
    """Serial number -> the product line column of the customer's assets table."""
    return page.evaluate("Object.fromEntries([...document.querySelectorAll('#c-assets tbody tr')]"
                            ".map((tr) => [tr.dataset.serial, tr.cells[0].innerText]))")


def test_the_handover_picker_finds_a_colleague_by_part_of_the_name_and_hands_over(
        app, client, live_server, browser):  # noqa: F811
    me = f.user(Role.dispatcher, username="me", display_name="陈客服")
    colleague = f.user(Role.dispatcher, username="zhang.wei", display_name="张伟")
    f.user(Role.warehouse, username="zhang.store", display_name="张仓管")
    f.technician(username="zhang.tech", name="张师傅")
    ticket = f.ticket(owner=me, summary="冷机不制冷")
    ticket_id, colleague_id = ticket.id, colleague.id
    release_db()
    sign_in(browser, live_server, client, me)
    browser.goto(f"{live_server}/tickets/{ticket_id}")
    browser.wait_for("document.getElementById('owner').textContent === '陈客服'")

    # Typed but not picked: the server's answer, in words.
    for typed, words in (("nobody", "没有该用户"), ("zhang.tech", "该用户不能负责工单")):
        browser.evaluate(f"document.getElementById('h-search').value = '{typed}';"
                         "document.getElementById('h-reason').value = '下班交接';"
                         "document.querySelector('#handover button[type=submit]').click()")
        assert words in browser.wait_for(f"document.getElementById('flash').textContent.includes('{words}') && "
                                         "document.getElementById('flash').textContent")

    browser.evaluate("const s = document.getElementById('h-search'); s.value = '张';"
                     "s.dispatchEvent(new Event('input'))")
    browser.wait_for("!document.getElementById('h-candidates').hidden && "
                     "document.querySelectorAll('#h-candidates .pick-owner').length === 1")
    assert "张伟（zhang.wei · 调度员）" in browser.evaluate("document.getElementById('h-candidates').innerText")
    assert_nothing_raw(browser, "ticket hand-over picker")
    shot(browser, "ticket-handover-picker")
    browser.evaluate("document.querySelector('#h-candidates .pick-owner').click()")
    assert "张伟" in browser.evaluate("document.getElementById('h-chosen').textContent")
    browser.evaluate("document.getElementById('h-reason').value = '下班交接给张伟';"
                     "document.querySelector('#handover button[type=submit]').click()")
    browser.wait_for("document.getElementById('owner').textContent === '张伟'")
    history = browser.evaluate("document.querySelector('#history tbody').innerText")
    assert "下班交接给张伟" in history
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id).owner_id == colleague_id
    notes = db.session.scalars(sa.select(TicketEvent.note).where(TicketEvent.ticket_id == ticket_id,
                                                                 TicketEvent.kind == "handover")).all()
    assert len(notes) == 1 and "下班交接给张伟" in notes[0]
    release_db()
    assert_nothing_raw(browser, "ticket after hand-over")

    # In English: the picker's words, a user found by part of the username, a refusal in words.
    browser.evaluate("document.getElementById('lang-switch').click()")
    browser.wait_for("document.documentElement.lang === 'en' && "
                     "document.getElementById('owner').textContent === '张伟'")
    assert browser.evaluate("document.getElementById('h-search').placeholder") == "Search by name or username"
    browser.evaluate("const s = document.getElementById('h-search'); s.value = 'ME';"
                     "s.dispatchEvent(new Event('input'))")
    browser.wait_for("document.querySelectorAll('#h-candidates .pick-owner').length === 1")
    assert "陈客服（me · Dispatcher）" in browser.evaluate("document.getElementById('h-candidates').innerText")
    browser.evaluate("document.getElementById('h-search').value = 'zhang.store';"
                     "document.getElementById('h-reason').value = 'end of shift';"
                     "document.querySelector('#handover button[type=submit]').click()")
    assert "not_eligible_owner" in browser.wait_for(
        "document.getElementById('flash').textContent.includes('not_eligible_owner') && "
        "document.getElementById('flash').textContent")
    assert_nothing_raw(browser, "ticket hand-over picker en")
    shot(browser, "ticket-handover-picker.en")
    refused = [e for e in browser.errors if "422" in e and "/handover" in e]
    assert len(refused) == 3 and len(browser.errors) == 3  # the refused hand-overs, logged by Chromium


def test_warehouse_staff_see_the_customer_without_the_service_history(app, client, live_server, browser):  # noqa: F811
    customer = f.customer("上海第一人民医院")
    site = f.site(customer)
    f.ticket(st=site, ast=f.asset(site, serial_number="SN-W-1"), summary="冷机不制冷")
    customer_id = customer.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.warehouse))
    browser.goto(f"{live_server}/customers/{customer_id}")
    text = browser.wait_for(f"{TIMELINE}.innerText.includes('服务历史仅调度/客服可见') && {TIMELINE}.innerText")
    assert "冷机不制冷" in browser.evaluate("document.querySelector('#c-tickets tbody').innerText")
    assert "SN-W-1" not in text and browser.evaluate("document.getElementById('flash').hidden")
    assert_nothing_raw(browser, "customer 360 for the warehouse")
    # The refused contracts and history themselves are logged by Chromium.
    assert [e for e in browser.errors if "403" not in e] == []
