"""Every endpoint checks the role; a technician sees only their own jobs and
what those jobs need (anything else is a 404, as if it did not exist)."""

import uuid

import pytest

from server.accounts.models import Role
from server.stock.models import LocationKind
from tests import factories as f
from tests.test_errors import assert_error

ANY = str(uuid.uuid4())

# Every route, with a method; each must refuse a request without a token.
ENDPOINTS = [
    ("GET", "/api/v1/auth/me"), ("DELETE", "/api/v1/auth/token"),
    ("GET", "/api/v1/devices"), ("POST", f"/api/v1/devices/{ANY}/revoke"),
    ("GET", "/api/v1/tickets"), ("POST", "/api/v1/tickets"), ("GET", f"/api/v1/tickets/{ANY}"),
    ("PATCH", f"/api/v1/tickets/{ANY}"), ("POST", f"/api/v1/tickets/{ANY}/transitions"),
    ("GET", "/api/v1/jobs"), ("GET", f"/api/v1/jobs/{ANY}"), ("PATCH", f"/api/v1/jobs/{ANY}"),
    ("GET", "/api/v1/customers"), ("POST", "/api/v1/customers"), ("GET", f"/api/v1/customers/{ANY}"),
    ("PATCH", f"/api/v1/customers/{ANY}"),
    ("GET", "/api/v1/sites"), ("POST", "/api/v1/sites"), ("GET", f"/api/v1/sites/{ANY}"),
    ("PATCH", f"/api/v1/sites/{ANY}"),
    ("GET", "/api/v1/assets"), ("POST", "/api/v1/assets"), ("GET", f"/api/v1/assets/{ANY}"),
    ("PATCH", f"/api/v1/assets/{ANY}"),
    ("GET", "/api/v1/contracts"), ("POST", "/api/v1/contracts"), ("GET", f"/api/v1/contracts/{ANY}"),
    ("PATCH", f"/api/v1/contracts/{ANY}"),
    ("GET", "/api/v1/technicians"), ("POST", "/api/v1/technicians"), ("GET", f"/api/v1/technicians/{ANY}"),
    ("PATCH", f"/api/v1/technicians/{ANY}"), ("POST", f"/api/v1/technicians/{ANY}/certifications"),
    ("DELETE", f"/api/v1/technicians/{ANY}/certifications/{ANY}"), ("GET", f"/api/v1/technicians/{ANY}/shifts"),
    ("PUT", f"/api/v1/technicians/{ANY}/shifts"), ("GET", f"/api/v1/technicians/{ANY}/leave"),
    ("POST", f"/api/v1/technicians/{ANY}/leave"), ("DELETE", f"/api/v1/technicians/{ANY}/leave/{ANY}"),
    ("GET", "/api/v1/locations"), ("POST", "/api/v1/locations"), ("GET", f"/api/v1/locations/{ANY}"),
    ("PATCH", f"/api/v1/locations/{ANY}"), ("DELETE", f"/api/v1/locations/{ANY}"),
    ("GET", "/api/v1/parts"), ("POST", "/api/v1/parts"), ("GET", f"/api/v1/parts/{ANY}"),
    ("PATCH", f"/api/v1/parts/{ANY}"), ("DELETE", f"/api/v1/parts/{ANY}"),
    ("GET", "/api/v1/spare-units"), ("POST", "/api/v1/spare-units"), ("GET", f"/api/v1/spare-units/{ANY}"),
    ("PATCH", f"/api/v1/spare-units/{ANY}"), ("DELETE", f"/api/v1/spare-units/{ANY}"),
    ("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("GET", f"/api/v1/users/{ANY}"),
    ("PATCH", f"/api/v1/users/{ANY}"), ("PUT", f"/api/v1/users/{ANY}/password"),
]


def test_401_without_token(client, subtests):
    for method, path in ENDPOINTS:  # one test per backend: the database is emptied once
        with subtests.test(f"{method} {path}"):
            response = client.open(path, method=method, json={} if method in ("POST", "PUT", "PATCH") else None)
            assert_error(response, 401, "missing_token")


def test_every_route_of_these_resources_is_in_the_list(app):
    """A new route in one of these blueprints must be added above (and so be
    shown to refuse anonymous calls); other packages' blueprints test their own."""
    blueprints = {"auth", "tickets", "jobs", "customers", "technicians", "catalogue", "users"}
    listed = {(m, p.replace(ANY, "X")) for m, p in ENDPOINTS} | {("POST", "/api/v1/auth/token")}
    missing = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in blueprints:
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<uuid:{name}>", "X")
        missing |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}} - listed
    assert missing == set()


# (role, method, path, body): a role the endpoint does not admit.
WRONG_ROLE = [
    (Role.technician, "POST", "/api/v1/tickets", {}),
    (Role.warehouse, "POST", f"/api/v1/tickets/{ANY}/transitions", {}),
    (Role.warehouse, "GET", "/api/v1/jobs", None),
    (Role.technician, "PATCH", f"/api/v1/jobs/{ANY}", {}),
    (Role.technician, "GET", "/api/v1/devices", None),
    (Role.dispatcher, "POST", f"/api/v1/devices/{ANY}/revoke", None),
    (Role.warehouse, "POST", "/api/v1/customers", {}),
    (Role.technician, "PATCH", f"/api/v1/customers/{ANY}", {}),
    (Role.technician, "POST", "/api/v1/sites", {}),
    (Role.warehouse, "POST", "/api/v1/assets", {}),
    (Role.technician, "GET", "/api/v1/contracts", None),
    (Role.warehouse, "GET", f"/api/v1/contracts/{ANY}", None),
    (Role.warehouse, "POST", "/api/v1/technicians", {}),
    (Role.technician, "PATCH", f"/api/v1/technicians/{ANY}", {}),
    (Role.technician, "PUT", f"/api/v1/technicians/{ANY}/shifts", {}),
    (Role.warehouse, "POST", f"/api/v1/technicians/{ANY}/leave", {}),
    (Role.dispatcher, "POST", "/api/v1/locations", {}),
    (Role.technician, "PATCH", f"/api/v1/parts/{ANY}", {}),
    (Role.dispatcher, "POST", "/api/v1/spare-units", {}),
    (Role.technician, "DELETE", f"/api/v1/parts/{ANY}", None),
    (Role.dispatcher, "GET", "/api/v1/users", None),
    (Role.warehouse, "POST", "/api/v1/users", {}),
    (Role.technician, "PUT", f"/api/v1/users/{ANY}/password", {}),
]


def test_403_for_a_role_the_endpoint_does_not_admit(client, subtests):
    headers = {role: f.login_as(client, f.technician() if role is Role.technician else f.user(role))
               for role in Role}
    for role, method, path, body in WRONG_ROLE:
        with subtests.test(f"{role.value} {method} {path}"):
            response = client.open(path, method=method, json=body, headers=headers[role])
            assert_error(response, 403, "role_forbidden")


@pytest.fixture
def two_technicians(client):
    """Technicians A and B, each sent to a different customer's site."""
    world = {}
    for name in ("a", "b"):
        tech = f.technician()
        customer = f.customer(name=f"客户 {name}")
        site = f.site(customer)
        asset = f.asset(site)
        ticket = f.ticket(ast=asset)
        job = f.job(ticket, tech)
        unit = f.spare_unit(tech.van)
        world[name] = dict(tech=tech, customer=customer, site=site, asset=asset, ticket=ticket, job=job, unit=unit)
    world["a"]["headers"] = f.login_as(client, world["a"]["tech"])
    return world


SCOPED = [
    ("jobs", "job"), ("tickets", "ticket"), ("customers", "customer"), ("sites", "site"), ("assets", "asset"),
    ("technicians", "tech"), ("spare-units", "unit"),
]


@pytest.mark.parametrize(("collection", "key"), SCOPED)
def test_technician_reads_own_and_gets_404_for_another(client, two_technicians, collection, key):
    mine, theirs = two_technicians["a"][key], two_technicians["b"][key]
    headers = two_technicians["a"]["headers"]
    assert client.get(f"/api/v1/{collection}/{mine.id}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/{collection}/{theirs.id}", headers=headers), 404, "not_found")
    listed = {item["id"] for item in client.get(f"/api/v1/{collection}", headers=headers).get_json()["items"]}
    assert str(mine.id) in listed and str(theirs.id) not in listed


def test_technician_sees_warehouses_and_own_van_only(client, two_technicians):
    headers = two_technicians["a"]["headers"]
    warehouse = f.location(LocationKind.central_warehouse)
    own_van, other_van = two_technicians["a"]["tech"].van_location_id, two_technicians["b"]["tech"].van_location_id
    listed = {x["id"] for x in client.get("/api/v1/locations?limit=500", headers=headers).get_json()["items"]}
    assert {str(warehouse.id), str(own_van)} <= listed and str(other_van) not in listed
    assert_error(client.get(f"/api/v1/locations/{other_van}", headers=headers), 404, "not_found")


def test_technician_cannot_read_another_technicians_shifts_or_leave(client, two_technicians):
    headers = two_technicians["a"]["headers"]
    other = two_technicians["b"]["tech"].id
    assert_error(client.get(f"/api/v1/technicians/{other}/shifts", headers=headers), 404, "not_found")
    assert_error(client.get(f"/api/v1/technicians/{other}/leave", headers=headers), 404, "not_found")
    own = two_technicians["a"]["tech"].id
    assert client.get(f"/api/v1/technicians/{own}/shifts", headers=headers).status_code == 200


def test_office_roles_see_everything(client, two_technicians):
    headers = f.login_as(client, f.user(Role.dispatcher))
    for collection in ("jobs", "tickets", "customers", "sites", "assets", "technicians", "spare-units"):
        assert len(client.get(f"/api/v1/{collection}", headers=headers).get_json()["items"]) >= 2, collection
