"""The office web pages render, hold the elements their scripts fill, and
load nothing from outside the server."""

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from server import i18n
from server.pages import PAGES, bp
from tests.conftest import tool_missing

STATIC = Path(bp.static_folder)

EXPECTED = {
    "/login": ['id="login-form"', 'id="username"', 'id="password"', "login.js"],
    "/": ['id="board"', 'id="filters"', 'id="f-status"', 'id="f-category"', 'id="f-overdue"', 'id="f-mine"', "board.js",
          "响应", "到场", "解决"],
    "/technicians": ['id="technicians"', 'id="f-product-line"', 'id="on-call"', 'id="on-call-form"', 'id="oc-start"',
                     'type="datetime-local"', "technicians.js"],
    "/customers": ['id="customers"', 'id="f-city"', "customers.js"],
    "/conflicts": ['id="conflicts"', 'id="f-status"', 'id="more"', "conflicts.js"],
    "/swaps": ['id="swaps"', 'id="refresh"', "swaps.js"],
    "/stock": ['id="levels"', 'id="f-location"', 'id="location-list"', 'id="f-part"', 'id="part-list"',
               "stock-common.js", "stock.js", "在库", "可用"],
    "/stock/discrepancies": ['id="discrepancies"', 'id="f-location"', 'id="f-status"', 'id="f-kind"',
                             "stock-common.js", "discrepancies.js"],
    "/stock/reconciliation": ['id="f-location"', 'id="f-from"', 'id="f-to"', 'id="csv"', 'id="totals"',
                              'id="lines"', 'id="consumption"', 'id="recon-discrepancies"', "stock-common.js",
                              "reconciliation.js"],
    "/notifications": ['id="outbox"', 'id="f-undelivered"', "outbox.js"],
    "/quality/tours": ['id="regions"', 'id="tours"', 'id="stops"', 'id="inspections"', "tours.js"],
    "/quality/incidents": ['id="incidents"', 'id="plan-form"', 'id="notice-form"', 'id="report-form"', "incidents.js"],
    "/quality/complaints": ['id="complaints"', 'id="steps"', 'id="step-form"', 'id="handover-to"', "complaints.js"],
    "/quality/return-visits": ['id="visits"', 'id="f-day"', "return_visits.js"],
    "/quality/satisfaction": ['id="rating-summary"', 'id="follow-ups"', 'id="campaigns"', 'id="question-results"',
                              "satisfaction.js", "满意度调查"],
    "/stock/summary": ['id="summary"', 'id="largest"', 'id="f-from"', 'id="f-to"', "stock-common.js", "summary.js"],
}


@pytest.mark.parametrize(("path", "needles"), EXPECTED.items())
def test_page_renders_with_its_elements(client, path, needles):
    r = client.get(path)
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    for needle in needles:
        assert needle in html, needle
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_ticket_page_carries_the_state_machine(client):
    ticket_id = uuid.uuid4()
    html = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert f'data-ticket-id="{ticket_id}"' in html
    allowed = json.loads(re.search(r"data-transitions='([^']*)'", html).group(1))
    assert allowed["new"] == ["acknowledged", "cancelled", "dispatched"] and allowed["closed"] == []
    for section in ('id="clocks"', 'id="history"', 'id="jobs"', 'id="transitions"', "ticket.js"):
        assert section in html


def test_navigation_lists_every_nav_page(client):
    html = client.get("/").get_data(as_text=True)
    for page in PAGES:
        if page.nav:
            assert i18n.t(page.title) in html


@pytest.mark.parametrize("path", ["/login", "/", "/technicians", "/customers", f"/tickets/{uuid.uuid4()}",
                                  f"/tickets/{uuid.uuid4()}/dispatch", "/conflicts", "/swaps", "/stock",
                                  "/stock/discrepancies", "/stock/reconciliation", "/stock/summary", "/stock/work",
                                  "/statistics"])
def test_pages_load_only_local_assets(client, path):
    html = client.get(path).get_data(as_text=True)
    assert not re.search(r"(src|href)\s*=\s*\"(https?:)?//", html)
    for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html):
        r = client.get(asset)
        assert r.status_code == 200, asset
        # names that are never fetched: XML namespaces, and licence links in vendored libraries' comments;
        # Leaflet's: two browser-bug links in its CSS comments, its own home page in the attribution link
        body = re.sub(rb"https?://www\.w3\.org/[\w/.#-]*|https?://www\.apache\.org/licenses/[\w.-]*"
                      rb"|https://github\.com/ecomfe/zrender/blob/master/LICENSE\.txt"
                      rb"|https://bugs\.chromium\.org/p/chromium/issues/detail\?id=600120"
                      rb"|https://bugzilla\.mozilla\.org/show_bug\.cgi\?id=888319|https://leafletjs\.com", b"", r.data)
        assert not re.search(rb"https?://", body), f"{asset} names an external URL"


def test_dispatch_page_is_linked_from_the_ticket_page(client):
    ticket_id = uuid.uuid4()
    assert f'href="/tickets/{ticket_id}/dispatch"' in client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    r = client.get(f"/tickets/{ticket_id}/dispatch")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'data-ticket-id="{ticket_id}"' in html
    for needle in ('id="summary"', 'id="options"', 'id="o-product-line"', 'id="o-spare"', 'id="candidates"',
                   'id="excluded"', 'id="stock-options"', 'id="assign-form"', 'id="assign"', 'id="assign-error"',
                   'id="swaps"', "dispatch.js", "候选技术人员", "已排除（最近的）"):
        assert needle in html, needle
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert client.get("/tickets/not-a-uuid/dispatch").status_code == 404


def test_stock_pages_load_the_shared_script_before_their_own(client):
    for path, own in (("/stock", "stock.js"), ("/stock/discrepancies", "discrepancies.js"),
                      ("/stock/reconciliation", "reconciliation.js"), ("/stock/summary", "summary.js")):
        scripts = re.findall(r'<script src="/static/pages/([^"]+)"', client.get(path).get_data(as_text=True))
        assert scripts == ["app.js", "stock-common.js", own], path


def test_pages_have_no_inline_script_or_style(client):
    """The CSP forbids inline code: a page that relied on it would break in the browser."""
    for page in PAGES:
        rule = page.rule.replace("<uuid:ticket_id>", str(uuid.uuid4()))
        html = client.get(rule).get_data(as_text=True)
        # JSON data blocks (type="application/json") are data, never run: the CSP allows them
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", html), rule
        assert not re.search(r"\son[a-z]+\s*=", html), rule
        assert "<style" not in html and "style=" not in html, rule


def _scripts() -> list[Path]:
    return sorted(STATIC.rglob("*.js"))


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: str(p.relative_to(STATIC)))
def test_page_scripts_are_valid_javascript(script):
    node = shutil.which("node")
    if node is None:
        tool_missing("node is not installed")
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60,  # noqa: S603
                            check=False)
    assert result.returncode == 0, result.stderr


ENDPOINT = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^"?]*)"')


def _declared_endpoints() -> list[tuple[str, str, str]]:
    found = []
    for script in _scripts():
        for method, path in ENDPOINT.findall(script.read_text(encoding="utf-8")):
            found.append((script.name, method, path))
    return found


def test_scripts_declare_every_api_call_they_make():
    """Scripts that declare their endpoints ("METHOD /api/v1/...", called through FS.call) name the API
    nowhere else, so the route check below sees every call they make."""
    declaring = {name for name, _, _ in _declared_endpoints()}
    assert {"dispatch.js", "conflicts.js", "swaps.js", "stock-common.js", "stock.js", "discrepancies.js",
            "reconciliation.js", "summary.js"} <= declaring
    for script in _scripts():
        if script.name not in declaring:
            continue
        text = ENDPOINT.sub("", script.read_text(encoding="utf-8"))
        assert "/api/v1" not in text, f"{script.name} calls the API outside its declared endpoints"


@pytest.mark.parametrize(("script", "method", "path"), _declared_endpoints(), ids=lambda v: str(v))
def test_api_calls_the_scripts_make_exist(app, script, method, path):
    """Each endpoint a script declares is a route of the API, with that method."""
    concrete = re.sub(r"\{\w+\}", str(uuid.uuid4()), path)
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(concrete, method=method)
    except MethodNotAllowed:
        pytest.fail(f"{script}: {path} does not take {method}")
    except NotFound:
        pytest.fail(f"{script}: no route {method} {path}")
    assert not endpoint.startswith("pages."), (script, path)


def test_navigation_marks_the_roles_each_entry_is_for(client):
    """app.js hides the entries whose API the signed-in role may not use (the API refuses it anyway)."""
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/conflicts"[^>]*data-roles="admin dispatcher"', html)
    assert re.search(r'href="/stock"[^>]*data-roles="admin warehouse dispatcher"', html)
    assert not re.search(r'href="/technicians"[^>]*data-roles', html)


def test_the_technicians_page_offers_on_call_editing_to_the_roles_the_api_lets_set_it(client):
    """The on-call form (hidden until the script shows it) names the roles that may add and remove duty;
    they are exactly the roles the API accepts, and every other role still reads the duty it lists."""
    from datetime import timedelta

    from server.accounts.models import Role
    from server.db import utcnow
    from tests import factories as f

    html = client.get("/technicians").get_data(as_text=True)
    form = re.search(r'<form id="on-call-form"[^>]*>', html).group(0)
    assert " hidden" in form
    editors = set(re.search(r'data-roles="([^"]*)"', form).group(1).split())
    assert editors == {"admin", "dispatcher"}
    tech = f.technician(name="Sun")
    now = utcnow()
    body = {"starts_at": (now + timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(hours=9)).isoformat()}
    for role in Role:
        headers = f.login_as(client, tech if role is Role.technician else f.user(role))
        created = client.post(f"/api/v1/technicians/{tech.id}/on-call", headers=headers, json=body)
        assert created.status_code == (201 if role.value in editors else 403), (role, created.get_json())
        listed = client.get(f"/api/v1/technicians/{tech.id}/on-call", headers=headers)
        assert listed.status_code == 200 and len(listed.get_json()["items"]) >= 1, role
        if role.value in editors:
            period = created.get_json()["id"]
            assert client.delete(f"/api/v1/technicians/{tech.id}/on-call/{period}",
                                 headers=headers).status_code == 204
            assert client.post(f"/api/v1/technicians/{tech.id}/on-call", headers=headers,
                               json=body).status_code == 201  # left for the readers below
        else:
            period = listed.get_json()["items"][0]["id"]
            assert client.delete(f"/api/v1/technicians/{tech.id}/on-call/{period}",
                                 headers=headers).status_code == 403
