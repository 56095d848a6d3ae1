"""On-call duty (值班) on the technicians page, in headless Chromium against the real API: a dispatcher
adds a period in the company's wall-clock time (Asia/Shanghai), it is stored in UTC, reads the same in
English, a warehouse clerk only reads it, and the dispatcher removes it after confirming."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from server.accounts.models import Role
from server.extensions import db
from server.pages.locale import company_timezone
from server.technicians.models import OnCallPeriod
from tests import factories as f
from tests.test_pages_browser import browser, release_db, sign_in  # noqa: F401  (fixture)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def open_duty(browser, live_server, tech_id, lang):  # noqa: F811
    browser.goto(f"{live_server}/technicians?lang={lang}")
    browser.wait_for(f"document.querySelector('#technicians tr[data-technician-id=\"{tech_id}\"] .on-call-show')")
    browser.evaluate(f"document.querySelector('#technicians tr[data-technician-id=\"{tech_id}\"] .on-call-show')"
                     ".click()")
    browser.wait_for("!document.getElementById('on-call').hidden && "
                     "document.querySelectorAll('#on-call-periods tbody tr').length > 0")


def test_a_dispatcher_sets_and_removes_on_call_duty_on_the_technicians_page(app, client, live_server,
                                                                            browser):  # noqa: F811
    assert company_timezone(app) == "Asia/Shanghai"
    tech = f.technician(name="钱师傅 Qian")
    f.technician(name="孙师傅 Sun")
    db.session.commit()
    tech_id = tech.id
    release_db()
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    open_duty(browser, live_server, tech_id, "zh-CN")
    assert "钱师傅 Qian" in browser.evaluate("document.getElementById('on-call-title').textContent")
    assert "没有当前或以后的值班" in browser.evaluate("document.getElementById('on-call-periods').textContent")
    assert browser.evaluate("document.getElementById('on-call-form').hidden") is False

    # Backwards: the server's complaint, in Chinese, and nothing stored.
    browser.evaluate("document.getElementById('oc-start').value = '2030-03-02T08:00';"
                     "document.getElementById('oc-end').value = '2030-03-01T09:30';"
                     "document.getElementById('oc-add').click()")
    error = browser.wait_for("!document.getElementById('on-call-error').hidden && "
                             "document.getElementById('on-call-error').textContent")
    assert "ends_at" in error and "422" in error
    assert db.session.scalars(sa.select(OnCallPeriod)).all() == []
    release_db()

    # 09:30 on 1 March to 08:00 on 2 March, Shanghai time (UTC+8).
    browser.evaluate("document.getElementById('oc-start').value = '2030-03-01T09:30';"
                     "document.getElementById('oc-end').value = '2030-03-02T08:00';"
                     "document.getElementById('oc-note').value = '春节后周末值班';"
                     "document.getElementById('oc-add').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok') && "
                     "document.querySelectorAll('#on-call-periods tr[data-period-id]').length === 1")
    assert "已添加值班" in browser.evaluate("document.getElementById('flash').textContent")
    assert browser.evaluate("document.getElementById('on-call-error').hidden") is True
    db.session.expire_all()
    period = db.session.scalars(sa.select(OnCallPeriod)).one()
    assert period.technician_id == tech_id and period.note == "春节后周末值班"
    assert (utc(period.starts_at), utc(period.ends_at)) == (datetime(2030, 3, 1, 1, 30, tzinfo=UTC),
                                                            datetime(2030, 3, 2, 0, 0, tzinfo=UTC))
    period_id = period.id
    release_db()
    row = browser.evaluate("document.querySelector('#on-call-periods tr[data-period-id]').textContent")
    assert "2030-03-01 09:30" in row and "2030-03-02 08:00" in row and "春节后周末值班" in row

    # The same duty in English, same wall-clock times.
    open_duty(browser, live_server, tech_id, "en")
    assert "On-call duty: 钱师傅 Qian" in browser.evaluate("document.getElementById('on-call-title').textContent")
    table = browser.evaluate("document.getElementById('on-call').textContent")
    assert "Starts" in table and "2030-03-01 09:30" in table and "Remove" in table
    assert "开始" not in table

    # A warehouse clerk reads it, with nothing to change.
    sign_in(browser, live_server, client, f.user(Role.warehouse))
    open_duty(browser, live_server, tech_id, "zh-CN")
    assert "2030-03-01 09:30" in browser.evaluate("document.getElementById('on-call-periods').textContent")
    assert browser.evaluate("document.getElementById('on-call-form').hidden") is True
    assert browser.evaluate("document.querySelectorAll('#on-call .on-call-remove').length") == 0

    # The dispatcher removes it: first the row asks, "cancel" keeps it, "confirm" removes it.
    sign_in(browser, live_server, client, f.user(Role.dispatcher))
    open_duty(browser, live_server, tech_id, "zh-CN")
    browser.evaluate("document.querySelector('#on-call-periods .on-call-remove').click()")
    assert "确定删除" in browser.evaluate("document.querySelector('#on-call-periods tr[data-period-id]').textContent")
    browser.evaluate("document.querySelector('#on-call-periods .on-call-keep').click()")
    assert db.session.get(OnCallPeriod, period_id) is not None
    release_db()
    browser.evaluate("document.querySelector('#on-call-periods .on-call-remove').click()")
    browser.evaluate("document.querySelector('#on-call-periods .on-call-confirm').click()")
    browser.wait_for("document.getElementById('flash').className.includes('ok') && "
                     "document.querySelectorAll('#on-call-periods tr[data-period-id]').length === 0")
    assert "已删除值班" in browser.evaluate("document.getElementById('flash').textContent")
    db.session.expire_all()
    assert db.session.scalars(sa.select(OnCallPeriod)).all() == []
    release_db()
    # The only failed request is the backwards period the server refused.
    assert [e for e in browser.errors if "status of 422" not in e] == []
    assert len(browser.errors) == 1
