"""Customer service on a ticket through the real HTTP stack, on SQLite and
PostgreSQL: reception time never in the future, the contact person as the
first entry of the contact log, the log itself, first-responder ownership
with an explicit recorded hand-over, and what the ticket's page reads."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from server.accounts.models import Role
from server.db import utcnow
from tests import factories as f


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher, username="first_taker"))


def new_ticket(client, headers, site, **extra):
    body = {"customer_id": str(site.customer_id), "site_id": str(site.id), "channel": "phone",
            "category": "repair", "summary": "冷机不制冷", **extra}
    return client.post("/api/v1/tickets", headers=headers, json=body)


def test_the_reception_time_cannot_lie_in_the_future(client, dispatcher):
    site = f.site()
    response = new_ticket(client, dispatcher, site, received_at=(utcnow() + timedelta(hours=1)).isoformat())
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "received_in_future"
    earlier = utcnow() - timedelta(hours=3)
    ok = new_ticket(client, dispatcher, site, received_at=earlier.isoformat())
    assert ok.status_code == 201
    # The clocks start at the reception, not at the typing.
    body = ok.get_json()
    assert body["on_site_due_at"].startswith((earlier + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"))


def test_the_contact_person_opens_the_contact_log_and_calls_follow(client, dispatcher):
    site = f.site()
    created = new_ticket(client, dispatcher, site, contact={"person": "王经理", "phone": "13800000000"}).get_json()
    log = client.get(f"/api/v1/tickets/{created['id']}/contacts", headers=dispatcher).get_json()["items"]
    assert [(c["kind"], c["person"], c["phone"], c["note"]) for c in log] == \
        [("call", "王经理", "13800000000", "冷机不制冷")]
    added = client.post(f"/api/v1/tickets/{created['id']}/contacts", headers=dispatcher,
                        json={"kind": "call", "inbound": False, "person": "王经理",
                              "note": "called back: technician arrives at 3 pm"})
    assert added.status_code == 201 and added.get_json()["by_name"]
    log = client.get(f"/api/v1/tickets/{created['id']}/contacts", headers=dispatcher).get_json()["items"]
    assert [c["inbound"] for c in log] == [True, False]
    future = client.post(f"/api/v1/tickets/{created['id']}/contacts", headers=dispatcher,
                         json={"kind": "visit", "note": "x", "at": (utcnow() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422


def test_the_first_responder_owns_until_an_explicit_recorded_handover(client, dispatcher):
    site = f.site()
    created = new_ticket(client, dispatcher, site).get_json()
    colleague = f.user(Role.dispatcher, username="colleague")
    assert created["owner_name"]
    refused = client.post(f"/api/v1/tickets/{created['id']}/handover", headers=dispatcher,
                          json={"to_username": "colleague"})
    assert refused.status_code == 422  # a reason is required
    handed = client.post(f"/api/v1/tickets/{created['id']}/handover", headers=dispatcher,
                         json={"to_username": "colleague", "reason": "my shift ends"})
    assert handed.status_code == 200, handed.get_json()
    body = handed.get_json()
    assert body["owner_id"] == str(colleague.id)
    assert body["events"][-1]["kind"] == "handover" and "my shift ends" in body["events"][-1]["note"]
    technician = f.technician()
    nobody = client.post(f"/api/v1/tickets/{created['id']}/handover", headers=dispatcher,
                         json={"to_username": technician.user.username, "reason": "not office staff"})
    assert nobody.status_code == 422 and nobody.get_json()["error"]["code"] == "not_eligible_owner"


def test_the_ticket_reads_contact_address_asset_serial_and_warranty(client, dispatcher):
    customer = f.customer("上海某医院", contact_name="李工", phone="021-5555")
    site = f.site(customer, address="浦东新区1号", city="上海")
    asset = f.asset(site, serial_number="CH-SN-1", warranty_end=date.today() + timedelta(days=30))
    created = new_ticket(client, dispatcher, site, asset_id=str(asset.id)).get_json()
    body = client.get(f"/api/v1/tickets/{created['id']}", headers=dispatcher).get_json()
    assert body["customer"] == {"name": "上海某医院", "contact_name": "李工", "phone": "021-5555", "email": None}
    assert body["site"]["address"] == "浦东新区1号"
    assert body["asset"]["serial_number"] == "CH-SN-1" and body["asset"]["under_warranty"] is True
    assert body["events"][0]["by_name"]


def test_customers_are_found_by_address_and_tickets_by_asset_serial_and_product_line(client, dispatcher):
    customer = f.customer("华东制冷", address="浦东新区张江路1号")
    site = f.site(customer, address="徐汇区漕溪路88号")
    chiller = f.asset(site, product_line="chiller", serial_number="SN-CH-1")
    boiler = f.asset(site, product_line="boiler", serial_number="SN-BO-1")
    f.customer("别的客户")
    for address in ("张江路", "漕溪路"):
        found = client.get("/api/v1/customers", headers=dispatcher, query_string={"q": address}).get_json()
        assert [c["name"] for c in found["items"]] == ["华东制冷"], address
    first = new_ticket(client, dispatcher, site, asset_id=str(chiller.id)).get_json()
    second = new_ticket(client, dispatcher, site, asset_id=str(boiler.id), category="complaint",
                        complaint_class="quality").get_json()

    def ids(**query):
        body = client.get("/api/v1/tickets", headers=dispatcher, query_string=query).get_json()
        return [t["id"] for t in body["items"]]

    assert ids(serial_number="SN-CH-1") == [first["id"]]
    assert ids(product_line="boiler") == [second["id"]]
    assert ids(asset_id=str(chiller.id)) == [first["id"]]
    assert ids(customer_id=str(customer.id), complaint_class="quality") == [second["id"]]
