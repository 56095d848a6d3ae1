"""The office pages in headless Chromium in Chinese (the default) and in
English after the switch: labels from the catalogue, times in the company's
zone, and never a raw ISO timestamp or UUID in what a person reads.
Screenshots of each page are kept in tests/artefacts/ (FIELDSYNC_ARTEFACTS)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from server.accounts.models import Role
from server.extensions import db
from tests import factories as f
from tests.test_pages_browser import browser, release_db, sign_in  # noqa: F401  (fixture)

ARTEFACTS = Path(os.environ.get("FIELDSYNC_ARTEFACTS") or Path(__file__).parent / "artefacts")
RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# What a person reads: the text, and the tooltips and placeholders too.
READABLE = ("document.body.innerText + '\\n' + [...document.querySelectorAll('[title],[placeholder]')]"
            ".map((n) => (n.title || '') + ' ' + (n.placeholder || '')).join('\\n')")


def readable_text(browser) -> str:  # noqa: F811
    return browser.evaluate(READABLE)


def assert_nothing_raw(browser, where: str):  # noqa: F811
    text = readable_text(browser)
    assert not RAW_ISO.search(text), (where, RAW_ISO.search(text).group(0))
    assert not UUID.search(text), (where, UUID.search(text).group(0))


def test_the_board_in_chinese_then_english(app, client, live_server, browser):  # noqa: F811
    received = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)  # 01:30 the next day in Shanghai
    f.ticket(priority="urgent", category="repair", received_at=received, summary="冷机不制冷")
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/")
    browser.wait_for("document.querySelector('#board tbody tr td a')")
    row = browser.evaluate("document.querySelector('#board tbody tr').innerText")
    assert "紧急" in row and "报修" in row and "新建" in row, row
    assert "urgent" not in row and "repair" not in row
    assert browser.evaluate("FS.fmtTime('2026-12-05T17:30:05Z')") == "2026-12-06 01:30"
    assert browser.evaluate("FS.fmtTime('2026-12-05T17:30:05Z', 'seconds')") == "2026-12-06 01:30:05"
    assert_nothing_raw(browser, "board zh-CN")
    browser.screenshot(ARTEFACTS / "board.zh-CN.png")

    browser.evaluate("document.getElementById('lang-switch').click()")
    browser.wait_for("document.documentElement.lang === 'en' && document.querySelector('#board tbody tr td a')")
    row = browser.evaluate("document.querySelector('#board tbody tr').innerText")
    assert "Urgent" in row and "Repair" in row and "New" in row, row
    assert "Ticket board" in browser.evaluate("document.querySelector('h1').textContent")
    assert_nothing_raw(browser, "board en")
    browser.screenshot(ARTEFACTS / "board.en.png")
    # remembered by the browser: a new page load stays English
    browser.goto(f"{live_server}/technicians")
    assert browser.evaluate("document.documentElement.lang") == "en"
    release_db()
    db.session.commit()
    assert browser.errors == []


def test_times_typed_on_a_page_are_the_company_wall_clock_whatever_the_browsers_zone(
        app, client, live_server, browser):  # noqa: F811
    """A datetime-local input holds the company's wall clock; FS.zonedInstant makes it an instant."""
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.send("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"}, session=True)
    try:
        browser.goto(f"{live_server}/")
        assert browser.evaluate("FS.zonedInstant('2026-12-06T09:30').toISOString()") == "2026-12-06T01:30:00.000Z"
        assert browser.evaluate("FS.zoneMidnight('2026-12-06').toISOString()") == "2026-12-05T16:00:00.000Z"
        app.config["COMPANY_TIMEZONE"] = "Europe/Berlin"  # a zone with daylight saving: 2026-03-29 02:00 -> 03:00
        browser.goto(f"{live_server}/")
        assert browser.evaluate("FS.zonedInstant('2026-03-29T01:30').toISOString()") == "2026-03-29T00:30:00.000Z"
        assert browser.evaluate("FS.zonedInstant('2026-03-29T03:30').toISOString()") == "2026-03-29T01:30:00.000Z"
        assert browser.evaluate("FS.zoneMidnight('2026-07-01').toISOString()") == "2026-06-30T22:00:00.000Z"
    finally:
        app.config["COMPANY_TIMEZONE"] = "Asia/Shanghai"
        browser.send("Emulation.setTimezoneOverride", {"timezoneId": ""}, session=True)


def test_warehouse_staff_receive_transfer_and_count_from_the_pages(app, client, live_server, browser):  # noqa: F811
    from server.stock.models import LocationKind, StockLevel

    central = f.location(LocationKind.central_warehouse, code="WH-SH-01", name="上海中心库")
    station = f.location(LocationKind.service_station, code="ST-PD-02", name="浦东服务站")
    part = f.part("VALVE-9", name="膨胀阀")
    ids = (central.id, station.id, part.id)
    release_db()
    sign_in(browser, live_server, client, f.user(Role.warehouse))
    browser.goto(f"{live_server}/stock/work")
    browser.wait_for("document.querySelector('#transfers tbody tr')")  # "no open transfers"

    def fill(form, values):
        script = ";".join(f"document.querySelector('{form}').elements[{name!r}].value = {value!r}"
                          for name, value in values.items())
        browser.evaluate(script + f";document.querySelector('{form}').requestSubmit()")

    def on_hand(location_id):
        db.session.expire_all()
        found = db.session.get(StockLevel, (location_id, ids[2])).on_hand
        release_db()
        return found

    fill("#receive-form", {"location": "WH-SH-01", "part": "VALVE-9", "quantity": "5", "supplier": "上海阀门厂"})
    browser.wait_for("document.getElementById('inspect-all')")
    assert "膨胀阀" in browser.evaluate("document.getElementById('receipt').textContent")
    browser.evaluate("document.getElementById('inspect-all').click()")
    browser.wait_for("document.getElementById('inspect-all').disabled")
    assert on_hand(ids[0]) == 5

    fill("#transfer-form", {"from": "WH-SH-01", "to": "ST-PD-02", "part": "VALVE-9", "quantity": "2"})
    browser.wait_for("document.querySelector('#transfers button[data-action=ship]')")
    browser.wait_for("document.querySelector('#transfers tbody').textContent.includes('膨胀阀')")
    assert "计划中" in browser.evaluate("document.querySelector('#transfers tbody').textContent")
    browser.evaluate("document.querySelector('#transfers button[data-action=ship]').click()")
    browser.wait_for("document.querySelector('#transfers button[data-action=receive_transfer]')")
    browser.evaluate("document.querySelector('#transfers button[data-action=receive_transfer]').click()")
    browser.wait_for("!document.querySelector('#transfers button')")
    assert (on_hand(ids[0]), on_hand(ids[1])) == (3, 2)

    fill("#count-open", {"location": "WH-SH-01"})
    browser.wait_for("!document.getElementById('count-session').hidden")
    fill("#count-line", {"part": "VALVE-9", "counted": "1"})
    browser.wait_for("document.querySelector('#count-lines tbody tr')")
    browser.evaluate("document.getElementById('count-close').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok') && "
                     "document.querySelector('#count-lines tbody').textContent.includes('-2')")
    assert on_hand(ids[0]) == 1
    assert_nothing_raw(browser, "stock work zh-CN")
    browser.screenshot(ARTEFACTS / "stock_work.zh-CN.png")

    browser.goto(f"{live_server}/stock?part=VALVE-9")
    browser.wait_for("document.querySelector('#levels tbody').textContent.includes('膨胀阀')")  # name by the code
    assert_nothing_raw(browser, "stock zh-CN")
    browser.screenshot(ARTEFACTS / "stock.zh-CN.png")
    assert browser.errors == []


def test_statistics_page_charts_and_goes_from_a_figure_to_its_tickets(app, client, live_server, browser):  # noqa: F811
    from tests.test_statistics import month as hand_computed_month

    ids = hand_computed_month.__wrapped__(app) if hasattr(hand_computed_month, "__wrapped__") else None
    assert ids is not None
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    browser.goto(f"{live_server}/statistics?month=2026-11&by=region&figure=tickets_received")
    browser.wait_for("document.querySelectorAll('#figures tbody tr').length === 3")
    assert browser.evaluate("!!document.querySelector('#chart-figure canvas')")  # ECharts drew
    table = browser.evaluate("document.querySelector('#figures').innerText")
    assert "上海" in table and "北京" in table and "受理工单数" in table and "¥880.00" in table
    # a number in the table -> the tickets behind it
    browser.evaluate("[...document.querySelectorAll('#figures tbody tr')].find((r) => r.innerText.includes('上海'))"
                     ".querySelector('a[data-figure=tickets_received]').click()")
    browser.wait_for("!document.getElementById('behind').hidden && "
                     "document.querySelectorAll('#behind-list tr[data-ticket-id]').length === 2")
    shown = set(browser.evaluate("[...document.querySelectorAll('#behind-list tr')].map((r) => r.dataset.ticketId)"))
    assert shown == {str(ids["t1"]), str(ids["t3"])}
    assert "报修" in browser.evaluate("document.getElementById('behind-list').innerText")
    # a real mouse click on the chart's bar for 北京 -> its one ticket
    x, y = browser.evaluate("""(() => {
      const chart = echarts.getInstanceByDom(document.getElementById('chart-figure'));
      const groups = [...document.querySelectorAll('#figures tbody tr')].map((r) => r.cells[0].innerText);
      const i = groups.indexOf('北京');
      const [px, py] = chart.convertToPixel({seriesIndex: 0}, [i, 0.5]);
      const box = document.getElementById('chart-figure').getBoundingClientRect();
      document.getElementById('chart-figure').scrollIntoView();
      const after = document.getElementById('chart-figure').getBoundingClientRect();
      return [after.left + px, after.top + py];
    })()""")
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                     session=True)
    browser.wait_for("document.querySelectorAll('#behind-list tr[data-ticket-id]').length === 1")
    assert browser.evaluate("document.querySelector('#behind-list tr').dataset.ticketId") == str(ids["t2"])
    assert_nothing_raw(browser, "statistics zh-CN")
    browser.screenshot(ARTEFACTS / "statistics.zh-CN.png")
    browser.evaluate("document.getElementById('lang-switch').click()")
    browser.wait_for("document.documentElement.lang === 'en' && "
                     "document.querySelectorAll('#figures tbody tr').length === 3")
    assert "Tickets received" in browser.evaluate("document.querySelector('#figures').innerText")
    browser.screenshot(ARTEFACTS / "statistics.en.png")
    assert browser.errors == []


def test_no_page_shows_raw_timestamps_or_ids(app, client, live_server, browser):  # noqa: F811
    """Every page of the navigation, and a ticket's pages, with data on them: no ISO timestamp, no UUID."""
    from datetime import timedelta

    from server.db import utcnow
    from server.jobs.models import JobStatus
    from server.pages import PAGES
    from server.stock import ledger
    from server.stock.models import LocationKind, MovementKind

    tech = f.technician(name="丙师傅")
    ticket = f.ticket(received_at=utcnow() - timedelta(hours=30), summary="压缩机异响")
    f.job(ticket, tech, status=JobStatus.on_site, arrived_at=utcnow() - timedelta(hours=6))
    van = f.location(LocationKind.van, code="VAN-11")
    part = f.part("SEAL-2", name="密封圈")
    ledger.record_movement(db.session, kind=MovementKind.consumed, location_id=van.id, part_id=part.id,
                           quantity=-1, at=utcnow() - timedelta(hours=1))
    db.session.commit()
    ticket_id = ticket.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.admin))
    paths = [p.rule for p in PAGES if p.nav] + [f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/dispatch"]
    for path in paths:
        path = path.replace("<uuid:ticket_id>", str(ticket_id))
        browser.send("Page.navigate", {"url": f"{live_server}{path}"}, session=True)  # pages may add a query
        browser.wait_for(f"location.pathname === {path!r} && document.readyState === 'complete'")
        time.sleep(1.5)  # the page's own requests; nothing is asserted about time
        assert_nothing_raw(browser, path)
        browser.screenshot(ARTEFACTS / f"page{path.replace('/', '_') or '_'}.zh-CN.png")


ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
# Not words of a language: addresses, HTTP header names, event kinds as an admin types them (job., rating.bad).
IDENTIFIERS = re.compile(r"\S+@\S+|https?://\S*|\bX-[\w-]+|\b[a-z_]+\.[a-z_.]*")
# The language switch's own name, the product's name, and "Webhook", which Chinese uses as it is.
NOT_ENGLISH_TEXT = {"English", "FieldSync", "Webhook"}
# The survey invitation's message is bilingual on purpose (server/quality/surveys.py); the outbox shows it.
BILINGUAL = ("Please rate our service (single-use link):",)
HAN = re.compile(r"[\u4e00-\u9fff]")
# In English, what the page itself says (headings other than a record's name, column and field names,
# buttons, labels, placeholders) has no Chinese; the data (customers' names, what people wrote, the stored
# messages shown as tooltips) stays as it was written.
CHROME = """[...document.querySelectorAll('h1, h3:not([id]), th, dt, button, legend, label, summary')]
  .filter((n) => n.offsetParent !== null)
  .map((n) => [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.textContent).join('').trim())
  .concat([...document.querySelectorAll('[placeholder]')].map((n) => n.placeholder))
  .filter((s) => s)"""

# Each quality page: where to go, what shows it has loaded its data, and what to open on it (a row's detail).
QUALITY_PAGES = [
    ("/quality/satisfaction", "document.querySelector('#campaigns tr[data-campaign-id]') && "
                              "document.querySelector('#follow-ups tbody tr') && "
                              "document.querySelector('#rating-summary tbody tr')",
     "document.querySelector('#campaigns button.show-results').click()",
     "!document.getElementById('results').hidden && document.querySelector('#customer-results tbody tr') "
     "&& document.querySelector('#question-results tbody tr')"),
    ("/quality/return-visits", "document.querySelector('#visits tr[data-visit-id]')", None, None),
    ("/quality/complaints", "document.querySelectorAll('#complaints tr[data-ticket-id]').length > 3",
     "[...document.querySelectorAll('#complaints tr[data-ticket-id]')].at(-1).click()",
     "!document.getElementById('detail').hidden && document.getElementById('facts').innerText"),
    ("/quality/tours", "document.querySelector('#tours tr[data-tour-id]') && "
                       "document.querySelector('#inspections tr[data-inspection-id]') && "
                       "document.querySelector('#regions button.pick-city')",
     "document.querySelector('#tours tr[data-tour-id]').click()",
     "document.querySelectorAll('#stops tr[data-stop-id]').length > 2"),
    ("/quality/incidents", "document.querySelectorAll('#incidents tr[data-incident-id]').length === 2",
     "document.querySelector('#incidents tr[data-incident-id]').click()",
     "!document.getElementById('detail').hidden && document.querySelector('#notices tbody tr') && "
     "!document.getElementById('facts').innerText.includes('…') && "
     "document.getElementById('p-parts').children.length === 2 && "
     "document.getElementById('p-lead').value && document.getElementById('p-cost').value === '18500'"),
    ("/statistics?month={month}&by=region", "document.querySelector('#figures tbody tr') && "
                                            "document.querySelector('#chart-figure canvas')", None, None),
    ("/notifications", "document.querySelectorAll('#outbox tbody tr').length > 5 && "
                       "document.querySelector('#webhooks tbody tr')", None, None),
]


def assert_in_its_language(browser, where: str, locale: str, data: set[str] = frozenset()):  # noqa: F811
    """zh-CN: no English word (an untranslated label, an enum's stored value) in what a person reads
    (``data``: words that are data, such as the signed-in username); en: no Chinese in the page's own words."""
    if locale == "zh-CN":
        text = readable_text(browser)
        for phrase in BILINGUAL:
            text = text.replace(phrase, " ")
        text = IDENTIFIERS.sub(" ", text)
        english = sorted({w for w in ENGLISH_WORD.findall(text)} - NOT_ENGLISH_TEXT - set(data))
        assert not english, (where, english)
    else:
        chinese = [s for s in browser.evaluate(CHROME) if HAN.search(s)]
        assert not chinese, (where, chinese)


def test_every_quality_page_in_chinese_and_in_english(app, client, runner, live_server, browser):  # noqa: F811
    """The demo's service-quality data (seed-demo) on every quality page, in Chinese and after the switch
    in English: translated, times in the company's zone, no raw ISO time or id; screenshots of each."""
    from zoneinfo import ZoneInfo

    from server.accounts.models import User
    from server.demo.models import DemoState

    app.config["DEMO_PASSWORD"] = f.PASSWORD
    seeded = runner.invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    month = db.session.get(DemoState, 1).as_of.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    admin = db.session.query(User).filter_by(username="admin").one()
    usernames = set(db.session.scalars(sa.select(User.username)))
    headers = sign_in(browser, live_server, client, admin)
    # A company system listening for job events (the outbox page lists its endpoints).
    assert client.post("/api/v1/notifications/webhooks", json={"name": "ERP 接口", "url": "http://127.0.0.1:9/erp",
                                                               "kinds": ["job."]}, headers=headers).status_code == 201
    release_db()
    def visit(path):  # the pages may rewrite their query (a linkable filter), so only the path is awaited
        browser.send("Page.navigate", {"url": f"{live_server}{path}"}, session=True)
        browser.wait_for(f"location.pathname === {path.split('?')[0]!r} && document.readyState === 'complete'")

    for locale in ("zh-CN", "en"):
        browser.send("Page.navigate", {"url": f"{live_server}/lang/{locale}?next=/"}, session=True)
        browser.wait_for(f"location.pathname === '/' && document.documentElement.lang === {locale!r}")
        for path, ready, open_one, opened in QUALITY_PAGES:
            path = path.format(month=month)
            visit(path)
            browser.wait_for(ready)
            if open_one:
                browser.evaluate(open_one)
                browser.wait_for(opened)
            where = f"{path} {locale}"
            assert browser.evaluate("document.documentElement.lang") == locale, where
            assert_nothing_raw(browser, where)
            # Usernames are data (the top bar's, the hand-over picker's "张伟（dispatcher）"), not words to translate.
            assert_in_its_language(browser, where, locale, data=usernames)
            name = path.split("?")[0].strip("/").removeprefix("quality/").replace("/", "_")
            browser.screenshot(ARTEFACTS / f"quality_{name}.{locale}.png")
    release_db()
    assert browser.errors == []


def test_converted_pages_in_chinese_then_english(app, client, live_server, browser):  # noqa: F811
    """The pages that once showed "中文 English" side by side (conflicts, swaps, technicians, reconciliation,
    summary, dispatch), with data on them, in each language: the language's own text, none of the other's
    fixed text, no raw timestamp or id."""
    from datetime import timedelta

    from server.db import utcnow
    from server.jobs.models import JobStatus
    from server.stock import ledger
    from server.stock.models import LocationKind, MovementKind
    from server.tickets.models import TicketPart
    from sync.models import SyncConflict
    from tests.test_pages_browser import SITE, north_of_site

    site = f.site(latitude=SITE[0], longitude=SITE[1])
    ticket = f.ticket(st=site, ast=f.asset(site, product_line="chiller", model="CH-200"), priority="urgent")
    part = f.part("VALVE-7", name="膨胀阀")
    db.session.add(TicketPart(ticket_id=ticket.id, part_id=part.id, quantity=1))
    near = f.technician(latitude=north_of_site(1)[0], longitude=SITE[1], name="李师傅")
    f.technician(latitude=north_of_site(0.5)[0], longitude=SITE[1], name="赵师傅", product_lines=("boiler",))
    warehouse = f.location(LocationKind.regional_warehouse, *north_of_site(3), code="WH-SH-02", name="上海二级仓")
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=warehouse.id, part_id=part.id,
                           quantity=5, at=utcnow() - timedelta(hours=2))
    van = f.location(LocationKind.van, code="VAN-09")
    ledger.record_movement(db.session, kind=MovementKind.consumed, location_id=van.id, part_id=part.id,
                           quantity=-1, at=utcnow() - timedelta(hours=1))  # never issued: a discrepancy
    on_site = f.ticket(st=site, ast=f.asset(site, model="CH-200"), summary="停机")
    job = f.job(on_site, near, status=JobStatus.on_site, arrived_at=utcnow() - timedelta(hours=5),
                work_done="换阀")
    db.session.add(SyncConflict(
        table_name="jobs", record_id=str(job.id), kind="field_conflict", status="open", technician_id=near.id,
        fields={"arrived_at": {"server": "2026-12-05T01:30:00+00:00", "device": "2026-12-05T01:45:00+00:00",
                               "kept": "device"},
                "status": {"server": "on_site", "device": "incomplete", "kept": "server"}},
        base_version=1, version=2, created_at=utcnow()))
    db.session.commit()
    ticket_id, van_id = ticket.id, van.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.admin))

    # page -> (what shows it has loaded, its Chinese text, its English text)
    pages = {
        "/conflicts": ("document.querySelector('.conflict table tbody tr')",
                       ["到场时间", "在现场", "采用设备值", "字段冲突"],
                       ["Arrived", "On site", "Keep device values", "Both sides changed a field"]),
        "/swaps": ("document.querySelector('#swaps tbody tr[data-job-id]')",
                   ["在现场", "5.0 小时"], ["On site", "5.0 h"]),
        "/technicians": ("document.querySelector('#technicians tbody tr td')", ["最多在办任务", "资质"],
                         ["Max open jobs", "Certifications"]),
        f"/stock/reconciliation?location={van_id}": (
            "!document.getElementById('report').hidden && document.querySelector('#lines tbody tr')",
            ["对账 VAN-09", "服务车", "期初", "负库存", "工单耗用"],
            ["Reconciliation VAN-09", "Opening", "Negative balance", "Used on jobs"]),
        "/stock/summary": ("document.querySelector('#summary tbody a')", ["最大差异", "区域库"],
                           ["Largest discrepancies", "Regional warehouse"]),
        f"/tickets/{ticket_id}/dispatch": (
            "document.querySelector('#candidates tr[data-technician-id] .breakdown') && "
            "document.querySelector('#stock-options tr[data-location-id]') && "
            "document.querySelector('#excluded tbody tr')",
            ["候选技术人员", "紧急", "到达", "无该产品资质", "区域库", "放大"],
            ["Candidates", "Urgent", "arrives ", "Not certified", "Regional warehouse", "Zoom in"]),
    }
    for lang in ("zh-CN", "en"):
        for path, (ready, chinese, english) in pages.items():
            joiner = "&" if "?" in path else "?"
            browser.goto(f"{live_server}{path}{joiner}lang={lang}")
            browser.wait_for(f"document.documentElement.lang === {lang!r} && ({ready})")
            text = readable_text(browser)
            wanted, unwanted = (chinese, english) if lang == "zh-CN" else (english, chinese)
            for needle in wanted:
                assert needle in text, (path, lang, needle)
            for needle in unwanted:
                assert needle not in text, (path, lang, needle)
            if path == "/conflicts":  # a stored time in the company's zone, in both languages
                assert "2026-12-05 09:45:00" in text
            assert_nothing_raw(browser, f"{path} {lang}")
            name = path.split("?")[0].replace(str(ticket_id), "ticket").strip("/").replace("/", "_")
            browser.screenshot(ARTEFACTS / f"{name}.{lang}.png")
    release_db()
    assert browser.errors == []


def test_ticket_history_notes_read_in_the_page_language(app, client, live_server, browser):  # noqa: F811
    """The notes the server wrote (assigned, reassigned with a reason) in Chinese, then in English; a note
    stored before keys existed reads as stored in both."""
    from server.db import utcnow
    from server.tickets.models import TicketEvent

    first, second = f.technician(name="钱师傅"), f.technician(name="周师傅")
    ticket = f.ticket(summary="冷机不制冷")
    db.session.add(TicketEvent(ticket_id=ticket.id, kind="job_cancel", at=utcnow(), note="job cancelled: old row"))
    db.session.commit()
    ticket_id = ticket.id
    headers = sign_in(browser, live_server, client, f.user(Role.dispatcher))
    assigned = client.post(f"/api/v1/tickets/{ticket_id}/assign", headers=headers,
                           json={"technician_id": str(first.id)})
    assert assigned.status_code == 201, assigned.get_json()
    job_id = assigned.get_json()["job"]["id"]
    moved = client.post(f"/api/v1/jobs/{job_id}/reassign", headers=headers,
                        json={"technician_id": str(second.id), "reason": "钱师傅生病"})
    assert moved.status_code == 200, moved.get_json()
    release_db()
    expected = {"zh-CN": (["派给 钱师傅", "由 钱师傅 改派给 周师傅：钱师傅生病"], ["assigned to", "reassigned from"]),
                "en": (["assigned to 钱师傅", "reassigned from 钱师傅 to 周师傅: 钱师傅生病"], ["派给", "改派给"])}
    for lang, (wanted, unwanted) in expected.items():
        browser.goto(f"{live_server}/tickets/{ticket_id}?lang={lang}")
        text = browser.wait_for(f"document.documentElement.lang === {lang!r} && "
                                "document.querySelector('#history tbody').innerText.includes('周师傅') && "
                                "document.querySelector('#history tbody').innerText")
        for needle in [*wanted, "job cancelled: old row"]:
            assert needle in text, (lang, needle, text)
        for needle in unwanted:
            assert needle not in text, (lang, needle, text)
        assert_nothing_raw(browser, f"ticket history {lang}")
        browser.screenshot(ARTEFACTS / f"ticket_history.{lang}.png")
    release_db()
    assert browser.errors == []
