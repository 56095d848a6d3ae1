"""The office web pages render, hold the elements their scripts fill, and
load nothing from outside the server."""

import json
import re
import uuid

import pytest

from server.pages import PAGES

EXPECTED = {
    "/login": ['id="login-form"', 'id="username"', 'id="password"', "login.js"],
    "/": ['id="board"', 'id="filters"', 'id="f-status"', 'id="f-category"', 'id="f-overdue"', 'id="f-mine"', "board.js",
          "响应 Response", "到场 On site", "解决 Resolve"],
    "/technicians": ['id="technicians"', 'id="f-product-line"', "technicians.js"],
    "/customers": ['id="customers"', 'id="f-city"', "customers.js"],
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
            assert page.title in html


@pytest.mark.parametrize("path", ["/login", "/", "/technicians", "/customers", f"/tickets/{uuid.uuid4()}"])
def test_pages_load_only_local_assets(client, path):
    html = client.get(path).get_data(as_text=True)
    assert not re.search(r"(src|href)\s*=\s*\"(https?:)?//", html)
    for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html):
        r = client.get(asset)
        assert r.status_code == 200, asset
        assert not re.search(rb"https?://", r.data), f"{asset} names an external URL"
