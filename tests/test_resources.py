"""The REST resources: create, read, change, filter; bad input is a clear 4xx."""

import uuid
from datetime import date, timedelta

import pytest

from server.accounts.models import Role
from server.stock.models import LocationKind
from tests import factories as f
from tests.test_errors import assert_error


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


@pytest.fixture
def warehouse(client):
    return f.login_as(client, f.user(Role.warehouse))


@pytest.fixture
def admin(client):
    return f.login_as(client, f.user(Role.admin))


def test_customer_site_asset_contract_lifecycle(client, dispatcher):
    r = client.post("/api/v1/customers", json={"name": "上海华东制冷设备有限公司", "contact_name": "王伟",
                                               "phone": "+86 21 5555 0101", "email": "wang@example.cn",
                                               "address": "上海市浦东新区世纪大道100号"}, headers=dispatcher)
    assert r.status_code == 201, r.get_json()
    customer = r.get_json()
    assert customer["version"] == 1 and customer["sites"] == []

    r = client.post("/api/v1/sites", json={"customer_id": customer["id"], "name": "浦东工厂",
                                           "address": "上海市浦东新区张江路88号", "city": "Shanghai",
                                           "latitude": 31.2304, "longitude": 121.4737}, headers=dispatcher)
    assert r.status_code == 201, r.get_json()
    site = r.get_json()

    warranty_end = (date.today() + timedelta(days=100)).isoformat()
    r = client.post("/api/v1/assets", json={"site_id": site["id"], "product_line": "chiller", "model": "CH-200",
                                            "serial_number": "CH200-0001", "install_date": "2025-01-10",
                                            "warranty_end": warranty_end}, headers=dispatcher)
    assert r.status_code == 201, r.get_json()
    asset = r.get_json()
    assert asset["under_warranty"] is True and asset["customer_id"] == customer["id"]

    r = client.post("/api/v1/contracts", json={"customer_id": customer["id"], "name": "金牌服务",
                                               "starts_on": "2026-01-01", "response_hours": 1,
                                               "on_site_hours": 8, "resolve_hours": 24}, headers=dispatcher)
    assert r.status_code == 201, r.get_json()

    r = client.get(f"/api/v1/customers/{customer['id']}", headers=dispatcher)
    assert [s["name"] for s in r.get_json()["sites"]] == ["浦东工厂"]

    r = client.patch(f"/api/v1/customers/{customer['id']}", json={"phone": "021-1234"}, headers=dispatcher)
    assert r.get_json()["phone"] == "021-1234" and r.get_json()["version"] == 2

    assert client.get("/api/v1/customers?q=华东", headers=dispatcher).get_json()["items"][0]["id"] == customer["id"]
    assert len(client.get("/api/v1/customers?city=Shanghai", headers=dispatcher).get_json()["items"]) == 1
    assert client.get("/api/v1/customers?city=Beijing", headers=dispatcher).get_json()["items"] == []
    assets = client.get(f"/api/v1/assets?customer_id={customer['id']}&under_warranty=true",
                        headers=dispatcher).get_json()["items"]
    assert [a["serial_number"] for a in assets] == ["CH200-0001"]
    assert client.get("/api/v1/assets?under_warranty=false", headers=dispatcher).get_json()["items"] == []
    contracts = client.get(f"/api/v1/contracts?customer_id={customer['id']}&active_on=2026-06-01",
                           headers=dispatcher).get_json()["items"]
    assert len(contracts) == 1


def test_client_made_ids_are_kept_and_not_reused(client, dispatcher):
    own = str(uuid.uuid4())
    r = client.post("/api/v1/customers", json={"id": own, "name": "A"}, headers=dispatcher)
    assert r.get_json()["id"] == own
    assert_error(client.post("/api/v1/customers", json={"id": own, "name": "B"}, headers=dispatcher), 409, "duplicate")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/customers", {"name": ""}, "name"),
    ("/api/v1/customers", {"name": "x", "email": "not-an-email"}, "email"),
    ("/api/v1/customers", {"name": "x", "favourite_colour": "red"}, "favourite_colour"),
    ("/api/v1/sites", {"customer_id": "nope", "name": "x", "address": "y"}, "customer_id"),
    ("/api/v1/sites", {"customer_id": str(uuid.uuid4()), "name": "x", "address": "y", "latitude": 91}, "latitude"),
    ("/api/v1/contracts", {"customer_id": str(uuid.uuid4()), "name": "x", "starts_on": "2026-01-01",
                           "response_hours": 0, "on_site_hours": 8, "resolve_hours": 24}, "response_hours"),
])
def test_schema_refusals_name_the_field(client, dispatcher, path, body, field):
    error = assert_error(client.post(path, json=body, headers=dispatcher), 422, "validation_error")
    assert field in error["fields"]["json"]


def test_domain_refusals_name_the_field(client, dispatcher):
    customer = f.customer()
    r = client.post("/api/v1/sites", json={"customer_id": str(uuid.uuid4()), "name": "x", "address": "y"},
                    headers=dispatcher)
    assert "customer_id" in assert_error(r, 422, "unknown_reference")["fields"]["json"]
    r = client.post("/api/v1/sites", json={"customer_id": str(customer.id), "name": "x", "address": "y",
                                           "latitude": 30.0}, headers=dispatcher)
    assert "longitude" in assert_error(r, 422, "invalid")["fields"]["json"]
    r = client.post("/api/v1/contracts", json={"customer_id": str(customer.id), "name": "x",
                                               "starts_on": "2026-01-01", "response_hours": 10,
                                               "on_site_hours": 8, "resolve_hours": 24}, headers=dispatcher)
    assert_error(r, 422, "invalid")
    site = f.site(customer)
    f.asset(site, serial_number="DUP-1")
    r = client.post("/api/v1/assets", json={"site_id": str(site.id), "product_line": "chiller", "model": "m",
                                            "serial_number": "DUP-1"}, headers=dispatcher)
    assert "serial_number" in assert_error(r, 409, "duplicate")["fields"]["json"]
    r = client.post("/api/v1/assets", json={"site_id": str(site.id), "product_line": "chiller", "model": "m",
                                            "serial_number": "W-1", "install_date": "2025-01-01",
                                            "warranty_end": "2024-01-01"}, headers=dispatcher)
    assert_error(r, 422, "invalid")


def test_technician_profile_certifications_shifts_leave(client, dispatcher):
    account = f.user(Role.technician, username="zhang.wei")
    van = f.location(LocationKind.van)
    body = {"user_id": str(account.id), "name": "张伟", "home_latitude": 39.9042, "home_longitude": 116.4074,
            "van_location_id": str(van.id), "max_open_jobs": 4,
            "certifications": [{"product_line": "chiller", "certified_on": "2025-01-01", "expires_on": "2030-01-01"},
                               {"product_line": "boiler", "certified_on": "2020-01-01", "expires_on": "2021-01-01"}],
            "shifts": [{"weekday": d, "starts": "08:00:00", "ends": "17:00:00"} for d in range(5)]}
    r = client.post("/api/v1/technicians", json=body, headers=dispatcher)
    assert r.status_code == 201, r.get_json()
    tech = r.get_json()
    assert tech["username"] == "zhang.wei" and tech["last_position_at"] is None
    assert {c["product_line"]: c["valid"] for c in tech["certifications"]} == {"chiller": True, "boiler": False}
    tid = tech["id"]

    # Only valid certifications count when filtering by product line.
    assert [t["id"] for t in client.get("/api/v1/technicians?product_line=chiller",
                                        headers=dispatcher).get_json()["items"]] == [tid]
    assert client.get("/api/v1/technicians?product_line=boiler", headers=dispatcher).get_json()["items"] == []

    r = client.post(f"/api/v1/technicians/{tid}/certifications",
                    json={"product_line": "boiler", "certified_on": "2026-01-01", "expires_on": "2029-01-01"},
                    headers=dispatcher)
    assert r.status_code == 201
    assert len(client.get("/api/v1/technicians?product_line=boiler", headers=dispatcher).get_json()["items"]) == 1
    assert client.delete(f"/api/v1/technicians/{tid}/certifications/{r.get_json()['id']}",
                         headers=dispatcher).status_code == 204

    r = client.put(f"/api/v1/technicians/{tid}/shifts", json={"slots": [
        {"weekday": 5, "starts": "09:00:00", "ends": "12:00:00"}]}, headers=dispatcher)
    assert r.get_json()["slots"] == [{"weekday": 5, "starts": "09:00:00", "ends": "12:00:00"}]
    r = client.put(f"/api/v1/technicians/{tid}/shifts", json={"slots": [
        {"weekday": 1, "starts": "09:00:00", "ends": "12:00:00"},
        {"weekday": 1, "starts": "11:00:00", "ends": "13:00:00"}]}, headers=dispatcher)
    assert_error(r, 422, "invalid")
    r = client.put(f"/api/v1/technicians/{tid}/shifts", json={"slots": [
        {"weekday": 7, "starts": "09:00:00", "ends": "12:00:00"}]}, headers=dispatcher)
    assert_error(r, 422, "validation_error")

    r = client.post(f"/api/v1/technicians/{tid}/leave", json={
        "kind": "leave", "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-05T00:00:00Z", "note": "年假"},
        headers=dispatcher)
    assert r.status_code == 201, r.get_json()
    leave_id = r.get_json()["id"]
    assert_error(client.post(f"/api/v1/technicians/{tid}/leave", json={
        "starts_at": "2026-12-01T00:00:00", "ends_at": "2026-12-05T00:00:00Z"}, headers=dispatcher),
        422, "validation_error")  # naive time refused
    detail = client.get(f"/api/v1/technicians/{tid}", headers=dispatcher).get_json()
    assert [lv["note"] for lv in detail["leave"]] == ["年假"]
    assert client.delete(f"/api/v1/technicians/{tid}/leave/{leave_id}", headers=dispatcher).status_code == 204

    r = client.patch(f"/api/v1/technicians/{tid}", json={"max_open_jobs": 2, "active": False}, headers=dispatcher)
    assert r.get_json()["max_open_jobs"] == 2
    # Position comes only from the devices.
    r = client.patch(f"/api/v1/technicians/{tid}", json={"last_latitude": 1.0}, headers=dispatcher)
    assert "last_latitude" in assert_error(r, 422, "validation_error")["fields"]["json"]


def test_technician_profile_rules(client, dispatcher):
    other = f.technician()
    dispatcher_account = f.user(Role.dispatcher)
    body = {"user_id": str(dispatcher_account.id), "name": "x", "home_latitude": 30, "home_longitude": 120}
    assert_error(client.post("/api/v1/technicians", json=body, headers=dispatcher), 422, "invalid")
    account = f.user(Role.technician)
    body["user_id"] = str(account.id)
    body["van_location_id"] = str(other.van_location_id)
    assert_error(client.post("/api/v1/technicians", json=body, headers=dispatcher), 409, "van_taken")
    body["van_location_id"] = str(f.location(LocationKind.central_warehouse).id)
    assert_error(client.post("/api/v1/technicians", json=body, headers=dispatcher), 422, "invalid")
    body["timezone"] = "Mars/Olympus"
    assert_error(client.post("/api/v1/technicians", json=body, headers=dispatcher), 422, "validation_error")


def test_catalogue(client, warehouse):
    r = client.post("/api/v1/locations", json={"code": "WH-SH-01", "name": "上海一级备件仓库",
                                               "kind": "central_warehouse", "latitude": 31.23,
                                               "longitude": 121.47}, headers=warehouse)
    assert r.status_code == 201, r.get_json()
    loc = r.get_json()
    assert_error(client.post("/api/v1/locations", json={"code": "WH-SH-01", "name": "x", "kind": "van",
                                                        "latitude": 0, "longitude": 0}, headers=warehouse),
                 409, "duplicate")
    assert_error(client.post("/api/v1/locations", json={"code": "bad code!", "name": "x", "kind": "moon",
                                                        "latitude": 0, "longitude": 0}, headers=warehouse),
                 422, "validation_error")
    assert [x["code"] for x in client.get("/api/v1/locations?kind=central_warehouse",
                                          headers=warehouse).get_json()["items"]] == ["WH-SH-01"]

    r = client.post("/api/v1/parts", json={"part_number": "CMP-100", "name": "压缩机", "unit_cost": 1200.5,
                                           "product_lines": ["chiller", "heat_pump", "chiller"]}, headers=warehouse)
    assert r.status_code == 201, r.get_json()
    part = r.get_json()
    assert part["product_lines"] == ["chiller", "heat_pump"]
    r = client.patch(f"/api/v1/parts/{part['id']}", json={"product_lines": ["boiler"]}, headers=warehouse)
    assert r.get_json()["product_lines"] == ["boiler"] and r.get_json()["version"] == 2
    assert client.get("/api/v1/parts?product_line=chiller", headers=warehouse).get_json()["items"] == []
    assert len(client.get("/api/v1/parts?q=压缩", headers=warehouse).get_json()["items"]) == 1

    r = client.post("/api/v1/spare-units", json={"model": "CH-200", "product_line": "chiller",
                                                 "serial_number": "SPARE-1", "location_id": loc["id"]},
                    headers=warehouse)
    assert r.status_code == 201, r.get_json()
    unit = r.get_json()
    assert unit["status"] == "available"
    r = client.patch(f"/api/v1/spare-units/{unit['id']}", json={"status": "defective"}, headers=warehouse)
    assert r.get_json()["status"] == "defective"
    r = client.patch(f"/api/v1/spare-units/{unit['id']}", json={"status": "loaned"}, headers=warehouse)
    assert_error(r, 422, "validation_error")
    r = client.patch(f"/api/v1/spare-units/{unit['id']}", json={"location_id": loc["id"]}, headers=warehouse)
    assert_error(r, 422, "validation_error")  # moving stock is a ledger movement, not an edit
    assert len(client.get("/api/v1/spare-units?status=defective&model=CH-200",
                          headers=warehouse).get_json()["items"]) == 1


def test_users_admin(client, admin):
    r = client.post("/api/v1/users", json={"username": "li.na", "display_name": "李娜", "role": "dispatcher",
                                           "password": "a-long-enough-password"}, headers=admin)
    assert r.status_code == 201, r.get_json()
    account = r.get_json()
    assert "password" not in account and "password_hash" not in account
    assert_error(client.post("/api/v1/users", json={"username": "li.na", "display_name": "x", "role": "admin",
                                                    "password": "a-long-enough-password"}, headers=admin),
                 409, "duplicate")
    assert_error(client.post("/api/v1/users", json={"username": "x y", "display_name": "x", "role": "emperor",
                                                    "password": "short"}, headers=admin), 422, "validation_error")

    token = f.login(client, "li.na", "a-long-enough-password")
    assert client.get("/api/v1/auth/me", headers=token).status_code == 200

    r = client.put(f"/api/v1/users/{account['id']}/password", json={"password": "another-long-password"},
                   headers=admin)
    assert r.status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers=token), 401, "token_revoked")
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": "a-long-enough-password"}
                       ).status_code == 401
    token = f.login(client, "li.na", "another-long-password")

    r = client.patch(f"/api/v1/users/{account['id']}", json={"active": False}, headers=admin)
    assert r.get_json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=token).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": "another-long-password"}
                       ).status_code == 401
    assert [u["username"] for u in client.get("/api/v1/users?active=false", headers=admin).get_json()["items"]] \
        == ["li.na"]

    me = client.get("/api/v1/auth/me", headers=admin).get_json()
    assert_error(client.patch(f"/api/v1/users/{me['user_id']}", json={"active": False}, headers=admin),
                 409, "self_lockout")
    tech = f.technician()
    assert_error(client.patch(f"/api/v1/users/{tech.user_id}", json={"role": "dispatcher"}, headers=admin),
                 409, "role_locked")


def test_catalogue_deletes_only_what_nothing_refers_to(client, warehouse):
    from datetime import UTC, datetime

    from server.extensions import db
    from server.stock import ledger
    from server.stock.models import MovementKind

    unused_part, stocked_part = f.part(), f.part()
    store = f.location(LocationKind.regional_warehouse)
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=store.id, part_id=stocked_part.id,
                           quantity=3, at=datetime.now(UTC))
    db.session.commit()
    assert client.delete(f"/api/v1/parts/{unused_part.id}", headers=warehouse).status_code == 204
    assert_error(client.get(f"/api/v1/parts/{unused_part.id}", headers=warehouse), 404, "not_found")
    assert_error(client.delete(f"/api/v1/parts/{stocked_part.id}", headers=warehouse), 409, "in_use")
    assert client.get(f"/api/v1/parts/{stocked_part.id}", headers=warehouse).get_json()["product_lines"]

    van = f.technician().van_location_id
    assert_error(client.delete(f"/api/v1/locations/{van}", headers=warehouse), 409, "in_use")
    assert_error(client.delete(f"/api/v1/locations/{store.id}", headers=warehouse), 409, "in_use")
    empty = f.location()
    unit = f.spare_unit(empty)
    assert_error(client.delete(f"/api/v1/locations/{empty.id}", headers=warehouse), 409, "in_use")
    assert client.delete(f"/api/v1/spare-units/{unit.id}", headers=warehouse).status_code == 204
    assert client.delete(f"/api/v1/locations/{empty.id}", headers=warehouse).status_code == 204
