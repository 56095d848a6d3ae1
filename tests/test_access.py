"""Every endpoint checks the role; a technician sees only their own jobs and
what those jobs need (anything else is a 404, as if it did not exist)."""

import uuid

import pytest

from server.accounts.models import Role
from server.stock.models import LocationKind
from tests import factories as f
from tests.test_errors import assert_error

ANY = str(uuid.uuid4())

# Routes anyone may call: logging in, and the customer's signing endpoints,
# which take a signing-link token instead of a bearer token.
PUBLIC = {("POST", "/api/v1/auth/token")}
SIGNING_TOKEN = "/api/v1/signing/"


def api_routes(app):
    """Every (method, path) under /api/v1, with path arguments filled in."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.startswith(("/api/v1/docs", "/api/v1/openapi")):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<uuid:{name}>", ANY).replace(f"<string:{name}>", "a" * 64)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) not in PUBLIC:
                yield method, path


def test_every_route_refuses_a_request_without_a_token(app, client):
    routes = list(api_routes(app))
    assert len(routes) > 60  # the walk found the API, not nothing
    for method, path in routes:
        response = client.open(path, method=method, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert response.status_code == 401, (method, path, response.get_data(as_text=True))
        body = response.get_json()["error"]
        assert body["status"] == 401 and body["code"], (method, path)
        if not path.startswith(SIGNING_TOKEN):
            assert body["code"] == "missing_token", (method, path, body)


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
