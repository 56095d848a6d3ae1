"""The stock REST resources through the real HTTP stack, on both databases:
who may do what, validation in the one error format, and the warehouse's
day (purchase request to reconciliation) end to end."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.stock import ledger
from server.stock.models import LocationKind
from tests import factories as f
from tests.test_errors import assert_error

API = "/api/v1/stock"


@pytest.fixture
def warehouse(app):
    return f.location(LocationKind.regional_warehouse, code="WH-1", name="Regional 1")


@pytest.fixture
def staff(client):
    return f.login_as(client, f.user(Role.warehouse))


@pytest.fixture
def manager(client):
    return f.login_as(client, f.user(Role.admin))


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


def stock_up(client, headers, manager, location, part, quantity: int) -> None:
    """Purchase request, approval, receipt and inspection, all over HTTP."""
    pr = client.post(f"{API}/purchase-requests", headers=headers, json={
        "department": "After-sales", "requested_by_name": "Li Wei", "destination_location_id": str(location.id),
        "lines": [{"part_id": str(part.id), "quantity": quantity}], "remarks": "for warranty repairs"})
    assert pr.status_code == 201, pr.get_json()
    approved = client.post(f"{API}/purchase-requests/{pr.get_json()['id']}/decision", headers=manager,
                           json={"approve": True})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    receipt = client.post(f"{API}/receipts", headers=headers, json={
        "location_id": str(location.id), "purchase_request_id": pr.get_json()["id"], "supplier": "ACME",
        "lines": [{"part_id": str(part.id), "quantity": quantity}]})
    assert receipt.status_code == 201, receipt.get_json()
    line = receipt.get_json()["lines"][0]
    inspected = client.post(f"{API}/receipts/{receipt.get_json()['id']}/inspection", headers=headers,
                            json={"results": [{"line_id": line["id"], "passed_quantity": quantity}]})
    assert inspected.status_code == 200 and inspected.get_json()["lines"][0]["inspection"] == "passed"


def level(client, headers, location, part) -> dict:
    response = client.get(f"{API}/levels", headers=headers,
                          query_string={"location_id": str(location.id), "part_id": str(part.id)})
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    return items[0] if items else {}


def test_roles_are_enforced(client, warehouse, staff, dispatcher):
    tech = f.technician()
    tech_headers = f.login_as(client, tech)
    part = f.part()
    body = {"from_location_id": str(warehouse.id), "to_location_id": str(tech.van_location_id),
            "lines": [{"part_id": str(part.id), "quantity": 1}]}
    assert_error(client.post(f"{API}/transfers", json=body, headers=tech_headers), 403, "role_forbidden")
    assert_error(client.post(f"{API}/transfers", json=body, headers=dispatcher), 403, "role_forbidden")
    assert_error(client.get(f"{API}/levels", query_string={"location_id": str(warehouse.id)}, headers=tech_headers),
                 403, "not_your_van")
    assert_error(client.get(f"{API}/reconciliation", headers=tech_headers, query_string={
        "location": str(warehouse.id), "from": "2026-11-01T00:00:00Z", "to": "2026-11-08T00:00:00Z"}),
        403, "not_your_van")
    # A warehouse clerk files a request; only a manager (admin) approves it, and never their own.
    pr = client.post(f"{API}/purchase-requests", headers=staff, json={
        "department": "Stores", "requested_by_name": "Wang", "destination_location_id": str(warehouse.id),
        "lines": [{"part_id": str(part.id), "quantity": 1}]}).get_json()
    assert_error(client.post(f"{API}/purchase-requests/{pr['id']}/decision", json={"approve": True},
                             headers=staff), 403, "role_forbidden")
    admin = f.user(Role.admin)
    own = client.post(f"{API}/purchase-requests", headers=f.login_as(client, admin), json={
        "department": "Stores", "requested_by_name": "Boss", "destination_location_id": str(warehouse.id),
        "lines": [{"part_id": str(part.id), "quantity": 1}]}).get_json()
    assert_error(client.post(f"{API}/purchase-requests/{own['id']}/decision", json={"approve": True},
                             headers=f.login_as(client, admin)), 403, "self_approval")
    assert_error(client.get(f"{API}/movements"), 401, "missing_token")
    # Reading is fine for dispatchers; a technician sees their own van without naming it.
    assert client.get(f"{API}/levels", query_string={"part_id": str(part.id)}, headers=dispatcher).status_code == 200
    own_van = client.get(f"{API}/locations", headers=tech_headers).get_json()["items"]
    assert [loc["id"] for loc in own_van] == [str(tech.van_location_id)]
    assert client.get(f"{API}/movements", headers=tech_headers).status_code == 200
    # Another location's transfer does not exist for a technician.
    elsewhere = f.location(code="WH-ELSE")
    transfer = client.post(f"{API}/transfers", headers=staff, json={
        "from_location_id": str(warehouse.id), "to_location_id": str(elsewhere.id),
        "lines": [{"part_id": str(part.id), "quantity": 1}]}).get_json()
    assert client.get(f"{API}/transfers/{transfer['id']}", headers=dispatcher).status_code == 200
    assert_error(client.get(f"{API}/transfers/{transfer['id']}", headers=tech_headers), 404, "not_found")
    assert client.get(f"{API}/transfers", headers=tech_headers).get_json()["items"] == []


def test_validation_errors_use_the_one_format(client, warehouse, staff, dispatcher):
    part = f.part()
    body = assert_error(client.post(f"{API}/transfers", json={"from_location_id": str(warehouse.id),
                                                              "colour": "red"}, headers=staff),
                        422, "validation_error")
    assert {"colour", "to_location_id", "lines"} <= set(body["fields"]["json"])
    body = assert_error(client.post(f"{API}/issues", headers=staff, json={
        "from_location_id": str(warehouse.id), "van_id": str(warehouse.id),
        "lines": [{"part_id": str(part.id), "quantity": 0}]}), 422, "validation_error")
    assert "lines" in body["fields"]["json"]
    assert_error(client.post(f"{API}/transfers", headers=staff, json={
        "from_location_id": str(warehouse.id), "to_location_id": str(warehouse.id),
        "lines": [{"part_id": str(part.id), "quantity": 1}]}), 422, "same_location")
    assert_error(client.post(f"{API}/returns", headers=staff, json={
        "to_location_id": str(warehouse.id), "part_id": str(part.id), "quantity": 1, "defective": True}),
        422, "reason_required")
    assert_error(client.get(f"{API}/reconciliation", headers=dispatcher, query_string={
        "location": str(warehouse.id), "from": "2026-11-08T00:00:00Z", "to": "2026-11-01T00:00:00Z"}),
        422, "invalid_period")
    body = assert_error(client.get(f"{API}/reconciliation", headers=dispatcher,
                                   query_string={"from": "yesterday"}), 422, "validation_error")
    assert {"location", "from", "to"} <= set(body["fields"]["query"])
    assert_error(client.get(f"{API}/levels", headers=dispatcher), 422, "validation_error")
    assert_error(client.post(f"{API}/transfers", headers=staff, json={
        "from_location_id": str(warehouse.id), "to_location_id": str(uuid.uuid4()),
        "lines": [{"part_id": str(part.id), "quantity": 1}]}), 404, "not_found")
    assert_error(client.get(f"{API}/movements", headers=dispatcher, query_string={"cursor": "garbage"}),
                 422, "invalid_cursor")


def test_a_warehouse_day_end_to_end(client, warehouse, staff, manager, dispatcher):
    tech = f.technician(name="Chen Jie")
    van = db.session.get(f.StockLocation, tech.van_location_id)
    station = f.location(LocationKind.service_station, code="ST-1")
    part = f.part("P-PUMP", unit_cost=40.0)
    start = utcnow() - timedelta(minutes=1)
    stock_up(client, staff, manager, warehouse, part, 12)
    assert level(client, dispatcher, warehouse, part)["available"] == 12

    # Transfer to a service station: in transit between ship and receive.
    transfer = client.post(f"{API}/transfers", headers=staff, json={
        "from_location_id": str(warehouse.id), "to_location_id": str(station.id),
        "lines": [{"part_id": str(part.id), "quantity": 5}]}).get_json()
    assert transfer["status"] == "planned" and transfer["is_issue"] is False
    shipped = client.post(f"{API}/transfers/{transfer['id']}/ship", headers=staff)
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "shipped"
    assert level(client, dispatcher, station, part)["in_transit"] == 5
    received = client.post(f"{API}/transfers/{transfer['id']}/receive", headers=staff, json={
        "lines": [{"line_id": transfer["lines"][0]["id"], "received_quantity": 4}]})
    assert received.status_code == 200
    assert (level(client, dispatcher, station, part)["on_hand"],
            level(client, dispatcher, station, part)["in_transit"]) == (4, 0)
    assert_error(client.post(f"{API}/transfers/{transfer['id']}/ship", headers=staff), 409, "invalid_transition")

    # Issue 4 to the van; the technician sees it; 10 more is more than the warehouse has.
    issue = client.post(f"{API}/issues", headers=staff, json={
        "from_location_id": str(warehouse.id), "van_id": str(van.id),
        "lines": [{"part_id": str(part.id), "quantity": 4}]})
    assert issue.status_code == 201 and issue.get_json()["is_issue"] is True
    body = assert_error(client.post(f"{API}/issues", headers=staff, json={
        "from_location_id": str(warehouse.id), "van_id": str(van.id),
        "lines": [{"part_id": str(part.id), "quantity": 10}]}), 409, "insufficient_stock")
    assert body["details"]["available"] == 3
    tech_headers = f.login_as(client, tech)
    assert level(client, tech_headers, van, part)["on_hand"] == 4

    # The field uses 6 (through the sync's call): 2 short, a discrepancy.
    job = f.job(tech=tech)
    ledger.record_field_consumption(db.session, usage_id=uuid.uuid4(), job_id=job.id, part_id=part.id,
                                    location_id=van.id, quantity=6, at=utcnow())
    db.session.commit()
    discrepancies = client.get(f"{API}/discrepancies", headers=dispatcher,
                               query_string={"location_id": str(van.id)}).get_json()["items"]
    assert [(d["kind"], d["quantity"], d["job_id"]) for d in discrepancies] == [
        ("negative_balance", -2, str(job.id))]

    # One back unused; then the van is counted: 0 found.
    back = client.post(f"{API}/returns", headers=staff, json={
        "from_location_id": str(van.id), "to_location_id": str(warehouse.id), "part_id": str(part.id),
        "quantity": 1, "reason": "unused"})
    assert back.status_code == 201 and [m["quantity"] for m in back.get_json()["movements"]] == [-1, 1]
    count = client.post(f"{API}/counts", headers=staff, json={"location_id": str(van.id)}).get_json()
    client.post(f"{API}/counts/{count['id']}/lines", headers=staff,
                json={"lines": [{"part_id": str(part.id), "counted_quantity": 0}]})
    closed = client.post(f"{API}/counts/{count['id']}/close", headers=staff).get_json()
    assert closed["differences"] == [{"part_id": str(part.id), "expected": -3, "counted": 0, "difference": 3}]
    assert closed["count"]["status"] == "closed"

    resolved = client.post(f"{API}/discrepancies/{discrepancies[0]['id']}/resolve", headers=staff,
                           json={"note": "two taken from the customer's own spares"})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"

    end = utcnow() + timedelta(minutes=1)
    period = {"location": str(van.id), "from": start.isoformat(), "to": end.isoformat()}
    report = client.get(f"{API}/reconciliation", headers=tech_headers, query_string=period)
    assert report.status_code == 200, report.get_json()
    line = report.get_json()["lines"][0]
    # 0 + 4 issued - 6 used - 1 returned = -3 expected; counted 0: +3.
    assert (line["opening"], line["issued_in"], line["consumed"], line["returned_out"], line["expected_closing"],
            line["adjusted"], line["closing"], line["counted"]) == (0, 4, 6, 1, -3, 3, 0, 0)
    used = report.get_json()["consumption"][0]
    # No warranty on the job's asset: the customer is charged 6 x 40.
    assert (used["technician_name"], used["chargeable"], used["charge"]) == ("Chen Jie", True, 240.0)

    as_csv = client.get(f"{API}/reconciliation", headers=dispatcher, query_string={**period, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    part_row = next(r for r in rows if r["section"] == "part")
    assert (part_row["part_number"], part_row["expected_closing"], part_row["counted"]) == ("P-PUMP", "-3", "0")
    negotiated = client.get(f"{API}/reconciliation", query_string=period,
                            headers={**dispatcher, "Accept": "text/csv"})
    assert negotiated.mimetype == "text/csv" and negotiated.get_data() == as_csv.get_data()

    summary = client.get(f"{API}/reconciliation/summary", headers=dispatcher,
                         query_string={"from": start.isoformat(), "to": end.isoformat()}).get_json()
    # The van: 2 short on the job, 1 more returned than the books held, 3 counted: 6 pumps at 40.
    # The station: 1 lost in transit.
    assert [(row["code"], row["discrepancy_value"], row["discrepancies"]) for row in summary["locations"][:2]] == [
        (van.code, 240.0, 3), ("ST-1", 40.0, 1)]

    # The ledger, newest first, paged by keyset cursors.
    first = client.get(f"{API}/movements", headers=dispatcher, query_string={"limit": 3}).get_json()
    second = client.get(f"{API}/movements", headers=dispatcher,
                        query_string={"limit": 3, "cursor": first["next_cursor"]}).get_json()
    ids = [m["id"] for m in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6


def test_restock_and_spare_units_over_http(client, staff, dispatcher):
    van = f.location(LocationKind.van, latitude=31.23, longitude=121.47)
    near = f.location(code="WH-NEAR", latitude=31.30, longitude=120.58)
    f.location(code="WH-FAR", latitude=39.90, longitude=116.40)
    part = f.part()
    ledger.record_movement(db.session, kind=ledger.MovementKind.received, location_id=near.id, part_id=part.id,
                           quantity=5, at=datetime(2026, 11, 1, tzinfo=UTC))
    db.session.commit()
    planned = client.post(f"{API}/vans/{van.id}/restock", headers=staff,
                          json={"lines": [{"part_id": str(part.id), "quantity": 2}], "ship": True})
    assert planned.status_code == 201, planned.get_json()
    [transfer] = planned.get_json()["transfers"]
    assert transfer["from_location_id"] == str(near.id) and transfer["status"] == "shipped"
    assert "WH-NEAR" in transfer["explanation"]

    unit = f.spare_unit(near, serial_number="SU-HTTP-1")
    job = f.job()
    # A loan goes through transit to the site, never straight there from a warehouse.
    assert_error(client.post(f"{API}/spare-units/{unit.id}/actions", headers=staff,
                             json={"action": "loan", "job_id": str(job.id)}), 409, "spare_unit_not_at_site")
    shipped = client.post(f"{API}/spare-units/{unit.id}/actions", headers=staff,
                          json={"action": "ship_to_site", "job_id": str(job.id)})
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "in_transit"
    loaned = client.post(f"{API}/spare-units/{unit.id}/actions", headers=staff,
                         json={"action": "loan", "job_id": str(job.id)})
    assert loaned.status_code == 200 and loaned.get_json()["status"] == "loaned"
    assert_error(client.post(f"{API}/spare-units/{unit.id}/actions", headers=staff, json={"action": "repaired"}),
                 409, "invalid_transition")
    assert_error(client.post(f"{API}/spare-units/{unit.id}/actions", headers=staff, json={"action": "fly"}),
                 422, "validation_error")
    client.post(f"{API}/spare-units/{unit.id}/actions", headers=staff,
                json={"action": "return", "location_id": str(near.id), "defective": True})
    history = client.get(f"{API}/serials/SU-HTTP-1/history", headers=dispatcher).get_json()
    assert [(e["event"], e["status"]) for e in history["events"]] == [
        ("ship_to_site", "in_transit"), ("loan", "loaned"), ("return", "defective")]
    held = client.get(f"{API}/reservations", headers=dispatcher, query_string={"job_id": str(job.id)}).get_json()
    assert held["items"] == []  # lent without a reservation
    units = client.get(f"{API}/spare-units", headers=dispatcher, query_string={"status": "defective"}).get_json()
    assert [u["serial_number"] for u in units["items"]] == ["SU-HTTP-1"]
    assert_error(client.get(f"{API}/serials/NOPE/history", headers=dispatcher), 404, "not_found")


def test_levels_page_by_keyset_and_reservations_show_preemption(client, warehouse, staff, dispatcher):
    parts = [f.part(f"P-{i}") for i in range(5)]
    for p in parts:
        ledger.record_movement(db.session, kind=ledger.MovementKind.received, location_id=warehouse.id,
                               part_id=p.id, quantity=1, at=utcnow())
    paying = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=parts[0].id, quantity=1,
                                 under_warranty=False)
    winner = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=parts[0].id, quantity=1,
                                 under_warranty=True)
    db.session.commit()
    seen, cursor = [], None
    while True:
        query = {"location_id": str(warehouse.id), "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/levels", headers=dispatcher, query_string=query).get_json()
        seen += [item["part_number"] for item in page["items"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(p.part_number for p in parts) and len(seen) == 5
    held = client.get(f"{API}/reservations", headers=dispatcher,
                      query_string={"part_id": str(parts[0].id)}).get_json()["items"]
    assert {(r["id"], r["status"], r["preempted_by_id"]) for r in held} == {
        (str(paying.id), "preempted", str(winner.id)), (str(winner.id), "active", None)}
