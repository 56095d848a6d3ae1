"""The office pages in headless Chromium in Chinese (the default) and in
English after the switch: labels from the catalogue, times in the company's
zone, and never a raw ISO timestamp or UUID in what a person reads.
Screenshots of each page are kept in tests/artefacts/ (FIELDSYNC_ARTEFACTS)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

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
