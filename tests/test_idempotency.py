"""Idempotency-Key on office POSTs that create things: a retry after a lost
answer gets the first answer and creates nothing twice; on both databases,
through the real HTTP stack."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.stock import ledger
from server.stock.models import LocationKind, MovementKind, StockLevel, Transfer
from tests import factories as f
from tests.test_errors import assert_error

ISSUES = "/api/v1/stock/issues"


def _world(quantity=10):
    warehouse = f.location(LocationKind.regional_warehouse)
    van = f.location(LocationKind.van)
    part = f.part()
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=warehouse.id, part_id=part.id,
                           quantity=quantity, at=utcnow())
    db.session.commit()
    return warehouse, van, part


def _issue(warehouse, van, part, quantity=2):
    return {"from_location_id": str(warehouse.id), "van_id": str(van.id),
            "lines": [{"part_id": str(part.id), "quantity": quantity}]}


def _on_hand(location, part) -> int:
    db.session.expire_all()
    level = db.session.get(StockLevel, (location.id, part.id))
    return level.on_hand if level else 0


def _transfers() -> int:
    return db.session.scalar(select(func.count()).select_from(Transfer))


def test_a_retry_with_the_same_key_gets_the_first_answer_and_moves_stock_once(client):
    warehouse, van, part = _world()
    staff = f.login_as(client, f.user(Role.warehouse))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part))
    again = client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part))
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _transfers() == 1 and (_on_hand(warehouse, part), _on_hand(van, part)) == (8, 2)
    # Without a key, two posts are two issues.
    client.post(ISSUES, headers=staff, json=_issue(warehouse, van, part))
    client.post(ISSUES, headers=staff, json=_issue(warehouse, van, part))
    assert _transfers() == 3 and _on_hand(van, part) == 6


def test_the_same_key_for_another_request_is_refused_and_changes_nothing(client):
    warehouse, van, part = _world()
    staff = f.login_as(client, f.user(Role.warehouse))
    key = {"Idempotency-Key": "order-7"}
    assert client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part, 2)).status_code == 201
    assert_error(client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part, 3)),
                 422, "idempotency_key_reused")
    assert_error(client.post("/api/v1/stock/counts", headers={**staff, **key},
                             json={"location_id": str(warehouse.id)}), 422, "idempotency_key_reused")
    assert _transfers() == 1 and _on_hand(van, part) == 2


def test_keys_belong_to_their_user(client):
    warehouse, van, part = _world()
    key = {"Idempotency-Key": "same-key"}
    for _ in range(2):
        staff = f.login_as(client, f.user(Role.warehouse))
        assert client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part)).status_code == 201
    assert _transfers() == 2


def test_a_refused_request_keeps_no_answer_so_its_retry_runs(client):
    warehouse, van, part = _world(quantity=1)
    staff = f.login_as(client, f.user(Role.warehouse))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert_error(client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part, 2)),
                 409, "insufficient_stock")
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=warehouse.id, part_id=part.id,
                           quantity=5, at=utcnow())
    db.session.commit()
    retried = client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part, 2))
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert _on_hand(van, part) == 2


def test_a_malformed_key_is_a_400(client):
    warehouse, van, part = _world()
    staff = f.login_as(client, f.user(Role.warehouse))
    for bad in ("", "x" * 256, "has space", "密钥"):
        response = client.post(ISSUES, headers={**staff, "Idempotency-Key": bad}, json=_issue(warehouse, van, part))
        assert_error(response, 400, "invalid_idempotency_key")
    assert _transfers() == 0


def test_an_expired_key_is_a_new_request(app, client, monkeypatch):
    warehouse, van, part = _world()
    staff = f.login_as(client, f.user(Role.warehouse))
    monkeypatch.setitem(app.config, "IDEMPOTENCY_KEY_TTL_HOURS", 0)
    key = {"Idempotency-Key": "daily-restock"}
    for _ in range(2):
        response = client.post(ISSUES, headers={**staff, **key}, json=_issue(warehouse, van, part))
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert _transfers() == 2


def test_a_ticket_posted_twice_with_one_key_is_one_ticket(client):
    dispatcher = f.login_as(client, f.user(Role.dispatcher))
    site = f.site()
    asset = f.asset(site)
    body = {"customer_id": str(site.customer_id), "site_id": str(site.id), "asset_id": str(asset.id),
            "channel": "phone", "category": "repair", "summary": "Chiller alarm E4"}
    headers = {**dispatcher, "Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/tickets", headers=headers, json=body)
    again = client.post("/api/v1/tickets", headers=headers, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    listed = client.get("/api/v1/tickets", headers=dispatcher).get_json()["items"]
    assert [t["id"] for t in listed] == [first.get_json()["id"]]


def test_two_retries_at_once_create_once(app):
    warehouse, van, part = _world()
    clients = [app.test_client(), app.test_client()]
    staff = f.login_as(clients[0], f.user(Role.warehouse))
    headers = {**staff, "Idempotency-Key": str(uuid.uuid4())}
    body = _issue(warehouse, van, part)
    db.session.rollback()  # hold no lock while the two requests race
    barrier = threading.Barrier(2)
    answers = [None, None]

    def run(i):
        with app.app_context():
            barrier.wait()
            answers[i] = clients[i].post(ISSUES, headers=headers, json=body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(a.status_code for a in answers)
    # The loser either waited and got the first answer again, or was told the first is still running.
    assert statuses in ([201, 201], [201, 409])
    if statuses == [201, 409]:
        assert next(a for a in answers if a.status_code == 409).get_json()["error"]["code"] == "request_in_progress"
    else:
        assert answers[0].get_json() == answers[1].get_json()
    assert _transfers() == 1 and _on_hand(van, part) == 2


def test_the_openapi_document_names_the_header(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/stock/issues"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    assert "409" in operation["responses"] and "422" in operation["responses"]
