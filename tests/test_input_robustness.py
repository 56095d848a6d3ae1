"""Bad input of every shape is a clear 4xx in the one error format, never a 500."""

import json

import pytest

from server.accounts.models import Role
from tests import factories as f
from tests.test_access import ANY, api_routes

BAD_BODIES = [
    "[]", '"text"', "123", "null", "true",
    '{"id": "not-a-uuid"}', '{"name": null}', '{"name": 5}', '{"name": ["a"]}', '{"name": {"a": 1}}',
    '{"name": "\\u0000"}', '{"summary": "x\\u0000y", "q": "\\u0000"}',
    '{"latitude": NaN, "longitude": Infinity}', '{"home_latitude": 1e400}',
    '{"max_open_jobs": 100000000000000000000000000000}', '{"quantity": -1}',
    '{"starts_on": "0000-01-01", "install_date": "2026-02-30"}',
    '{"received_at": "9999-12-31T23:59:59-05:00", "starts_at": "9999-12-31T23:59:59-05:00",'
    ' "ends_at": "0001-01-01T00:00:00+05:00", "planned_start": "9999-12-31T23:59:59-12:00"}',
    '{"slots": [{"weekday": 1.5, "starts": "25:00", "ends": "x"}]}',
    '{"to": "closed", "note": 7}', '{"password": ""}', '{"role": "emperor"}',
    '{"certifications": "all", "shifts": {}}', '{"product_lines": [null, 1]}', '{"needed_parts": [{"part_id": 1}]}',
    '{"' + "k" * 5000 + '": 1}', json.dumps({"name": "名" * 100_000}),
]

BAD_QUERIES = ["?limit=-1", "?limit=1e3", "?cursor=%00", "?q=%00", "?q=" + "x" * 500, "?status=lost",
               "?customer_id=nope", "?active=maybe", "?active_on=yesterday", "?kind=moon", "?ends_after=soon",
               "?under_warranty=2", "?serialised=[]"]


@pytest.fixture
def admin(client):
    return f.login_as(client, f.user(Role.admin))


def _check(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.get_json()["error"]["code"]


def test_bad_bodies_are_4xx(app, client, admin, subtests):
    for method, path in [(m, p) for m, p in api_routes(app) if m in ("POST", "PUT", "PATCH")]:
        with subtests.test(f"{method} {path}"):
            for body in BAD_BODIES:
                _check(client.open(path, method=method, data=body, content_type="application/json", headers=admin))


def test_bad_queries_are_4xx(app, client, admin, subtests):
    # Every list (a GET route without path arguments).
    for path in [p for m, p in api_routes(app) if m == "GET" and "<" not in p and ANY not in p and "a" * 64 not in p]:
        with subtests.test(path):
            for query in BAD_QUERIES:
                _check(client.get(path + query, headers=admin))


def test_unknown_query_arguments_are_refused(client, admin):
    for path in ("/api/v1/customers", "/api/v1/technicians", "/api/v1/parts", "/api/v1/tickets"):
        _check(client.get(path + "?colour=red", headers=admin))


def test_bad_login_bodies_are_4xx(client):
    for body in BAD_BODIES + ['{"username": "admin\\u0000", "password": "x"}']:
        _check(client.post("/api/v1/auth/token", data=body, content_type="application/json"))


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z",
                                    "2026-03-01T09:30:00"])
def test_times_far_out_of_range_or_naive_are_422(client, admin, moment):
    """Valid requests but for one time: refused by the schema, never an overflow later."""
    tech, job, site = f.technician(), f.job(), f.site()
    requests = [
        ("POST", f"/api/v1/technicians/{tech.id}/leave", {"starts_at": moment, "ends_at": "2026-12-01T00:00:00Z"}),
        ("PATCH", f"/api/v1/jobs/{job.id}", {"planned_start": moment}),
        ("POST", "/api/v1/tickets", {"customer_id": str(site.customer_id), "site_id": str(site.id),
                                     "channel": "phone", "category": "repair", "summary": "x",
                                     "received_at": moment}),
    ]
    for method, path, body in requests:
        r = client.open(path, method=method, json=body, headers=admin)
        assert r.status_code == 422, (path, r.get_json())
    r = client.get(f"/api/v1/technicians/{tech.id}/leave?ends_after={moment.replace('+', '%2B')}", headers=admin)
    assert r.status_code == 422
