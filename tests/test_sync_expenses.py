"""Job expenses (cost inputs: travel, transport, lodging, meals, other) recorded
on the handheld and synced: protocol 1 and WatermelonDB, scoped to the
technician's own jobs, exactly once, each refused amount refused alone, and
what lands feeds the monthly statistics (issue 15, "Costs need their inputs
recorded where they happen")."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from server.accounts.models import Role
from server.extensions import db
from server.reports.models import ExpenseKind, JobExpense
from tests import factories as f
from tests.syncing import Handheld, op

PULL, PUSH = "/api/v1/sync/watermelon/pull", "/api/v1/sync/watermelon/push"
NOVEMBER = "2026-11-20T02:00:00Z"  # 10:00 in Shanghai


def expense(job_id, kind="travel", amount=35.5, record_id=None, **fields) -> dict:
    return op("job_expenses", record_id or uuid.uuid4(), "create",
              {"job_id": str(job_id), "kind": kind, "amount": amount, **fields})


def _expenses() -> list[JobExpense]:
    db.session.expire_all()
    return db.session.scalars(select(JobExpense).order_by(JobExpense.amount)).all()


def _monthly(client, month="2026-11") -> dict:
    auth = f.login(client, f.user(Role.dispatcher).username)
    body = client.get(f"/api/v1/statistics/monthly?month={month}", headers=auth)
    assert body.status_code == 200, body.get_data(as_text=True)
    (total,) = body.get_json()["groups"]
    return total["figures"]


def test_an_expense_pushed_twice_lands_once_and_feeds_the_month(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    ops = [expense(job.id, "travel", 35.5, travel_minutes=None, distance_km=18.5, note="高铁 上海-苏州",
                   incurred_at=NOVEMBER),
           expense(job.id, "transport", 120.0, note="顺丰 配件", incurred_at=NOVEMBER)]
    first = device.push(ops)["results"]
    assert [r["status"] for r in first] == ["applied", "applied"], first
    again = device.push(ops)["results"]  # the answer was lost: the same ops again
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert [r["outcome"]["status"] for r in again] == ["applied", "applied"]

    rows = _expenses()
    assert [(r.kind, r.amount) for r in rows] == [(ExpenseKind.travel, 35.5), (ExpenseKind.transport, 120.0)]
    travel = rows[0]
    assert str(travel.id) == ops[0]["id"]  # the device's own id
    assert travel.recorded_by_user_id == tech.user_id and travel.distance_km == 18.5
    assert travel.incurred_at.isoformat().startswith("2026-11-20T02:00:00") and travel.recorded_at is not None
    # The office sees it on the job (REST) and in the month's cost inputs.
    auth = f.login(client, f.user(Role.dispatcher).username)
    listed = client.get(f"/api/v1/jobs/{job.id}/expenses", headers=auth).get_json()["items"]
    assert {e["id"] for e in listed} == {ops[0]["id"], ops[1]["id"]}
    figures = _monthly(client)
    assert figures["transport_cost"] == 120.0
    assert figures["service_cost"] == 35.5


def test_bad_amounts_and_kinds_are_refused_one_by_one(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    good = expense(job.id, "meals", 0.07)  # fen precision: 0.07 is 7 fen, not a float's 0.07000000000000001
    bad = [expense(job.id, amount=-1), expense(job.id, amount=12.345), expense(job.id, amount="12.50"),
           expense(job.id, amount=None), expense(job.id, amount=10_000_000.01), expense(job.id, amount=True)]
    no_amount = op("job_expenses", uuid.uuid4(), "create", {"job_id": str(job.id), "kind": "travel"})
    bad_kind = expense(job.id, kind="bribe")
    bad_minutes = expense(job.id, travel_minutes=1.5)
    results = device.push([bad[0], good, *bad[1:], no_amount, bad_kind, bad_minutes])["results"]
    statuses = [r["status"] for r in results]
    assert statuses == ["rejected", "applied"] + ["rejected"] * 8, results
    for r in results[:1] + results[2:8]:
        assert r["error"]["code"] == "validation_error" and "amount" in r["error"]["fields"], r
    assert "kind" in results[8]["error"]["fields"] and "travel_minutes" in results[9]["error"]["fields"]
    assert [(r.kind, r.amount) for r in _expenses()] == [(ExpenseKind.meals, 0.07)]


def test_only_their_own_jobs_and_facts_only_add(client):
    tech, other = f.technician(), f.technician()
    mine, theirs = f.job(tech=tech), f.job(tech=other)
    device = Handheld(client, tech)
    created = expense(mine.id, amount=50)
    results = device.push([expense(theirs.id), expense(uuid.uuid4()), created])["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "applied"]
    # Another technician's job answers exactly as an unknown one.
    assert results[0]["error"] == results[1]["error"] == {"code": "not_found", "message": "no such job",
                                                           "fields": {"job_id": ["Unknown job."]}}
    # Once synced it is the office's: a device neither edits nor deletes it.
    edit = op("job_expenses", created["id"], "update", {"amount": 5000}, base_version=1)
    drop = op("job_expenses", created["id"], "delete", base_version=1)
    assert [r["error"]["code"] for r in device.push([edit, drop])["results"]] == ["action_not_allowed"] * 2
    assert [r.amount for r in _expenses()] == [50.0]


def test_expenses_are_pulled_with_their_job_only(client):
    tech, other = f.technician(), f.technician()
    mine, theirs = f.job(tech=tech), f.job(tech=other)
    office = f.login(client, f.user(Role.dispatcher).username)
    recorded = client.post(f"/api/v1/jobs/{mine.id}/expenses", headers=office,
                           json={"kind": "lodging", "amount": 280.5, "note": "宾馆"}).get_json()
    client.post(f"/api/v1/jobs/{theirs.id}/expenses", headers=office, json={"kind": "meals", "amount": 30})
    # The office's form takes yuan to the fen as the handheld does.
    refused = client.post(f"/api/v1/jobs/{mine.id}/expenses", headers=office, json={"kind": "meals", "amount": 1.005})
    assert refused.status_code == 422 and "amount" in refused.get_data(as_text=True)
    device = Handheld(client, tech)
    device.pull()
    pulled = {rid: fields for (table, rid), fields in device.copy.items() if table == "job_expenses"}
    assert list(pulled) == [recorded["id"]]
    assert pulled[recorded["id"]]["amount"] == 280.5 and pulled[recorded["id"]]["kind"] == "lodging"
    # The job changes hands: the expense goes with it.
    db.session.get(type(mine), mine.id).technician_id = other.id
    db.session.commit()
    device.pull()
    assert not [k for k in device.copy if k[0] == "job_expenses"]
    newcomer = Handheld(client, other, device_id="handheld-2")
    newcomer.pull()
    assert len([k for k in newcomer.copy if k[0] == "job_expenses"]) == 2


def _wm_pull(client, headers, last_pulled_at=None, schema_version=3, migration=None):
    query = {"schema_version": schema_version, "last_pulled_at": "null" if last_pulled_at is None else last_pulled_at}
    if migration is not None:
        query["migration"] = json.dumps(migration)
    response = client.get(PULL, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _wm_push(client, headers, changes, last_pulled_at):
    response = client.post(PUSH, query_string={"last_pulled_at": last_pulled_at}, data=json.dumps(changes),
                           headers={**headers, "Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_watermelon_push_is_exactly_once_and_refuses_bad_amounts_by_record(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    first = _wm_pull(client, headers)
    assert first["changes"]["job_expenses"] == {"created": [], "updated": [], "deleted": []}
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    raw = {"job_id": str(job.id), "kind": "travel", "travel_minutes": 45, "distance_km": 20.5,
           "incurred_at": 1_795_140_000_000, "note": "出租车", "_status": "created", "_changed": ""}
    changes = {"job_expenses": {"created": [{"id": good, "amount": 68.8, **raw}, {"id": bad, "amount": 1.001, **raw}],
                                "updated": [], "deleted": []}}
    answer = _wm_push(client, headers, changes, first["timestamp"])
    assert answer["experimentalRejectedIds"] == {"job_expenses": [bad]}
    assert answer["rejected"][0]["fields"] == {"amount": ["at most two decimals (fen)"]}
    # The same push again (its answer lost), then the good one again from a later pull: still one row.
    assert _wm_push(client, headers, changes, first["timestamp"])["experimentalRejectedIds"] == {"job_expenses": [bad]}
    later = _wm_pull(client, headers, first["timestamp"])
    assert later["changes"]["job_expenses"]["created"] == []  # its own write does not come back
    only_good = {"job_expenses": {"created": [{"id": good, "amount": 68.8, **raw}], "updated": [], "deleted": []}}
    assert _wm_push(client, headers, only_good, later["timestamp"])["experimentalRejectedIds"] == {}
    (row,) = _expenses()
    assert str(row.id) == good and row.amount == 68.8 and row.travel_minutes == 45
    assert int(row.incurred_at.timestamp() * 1000) == 1_795_140_000_000
    # A fresh device gets it, with date-times as WatermelonDB's milliseconds.
    (pulled,) = _wm_pull(client, f.login_as(client, tech, device_id="handheld-2"))["changes"]["job_expenses"]["created"]
    assert pulled["id"] == good and pulled["incurred_at"] == 1_795_140_000_000 and pulled["amount"] == 68.8


def test_an_app_on_schema_2_is_not_sent_expenses_until_it_migrates(client):
    tech = f.technician()
    job = f.job(tech=tech)
    office = f.login(client, f.user(Role.dispatcher).username)
    recorded = client.post(f"/api/v1/jobs/{job.id}/expenses", headers=office,
                           json={"kind": "other", "amount": 9.9}).get_json()
    headers = f.login_as(client, tech)
    old = _wm_pull(client, headers, schema_version=2)
    assert "job_expenses" not in old["changes"]
    migrated = _wm_pull(client, headers, old["timestamp"], schema_version=3,
                        migration={"from": 2, "tables": ["job_expenses"], "columns": []})
    assert [r["id"] for r in migrated["changes"]["job_expenses"]["created"]] == [recorded["id"]]
    assert db.session.scalar(select(func.count()).select_from(JobExpense)) == 1


def test_an_expense_edited_after_a_lost_answer_comes_back_as_the_server_holds_it(client):
    """Pushed, the answer lost, edited on the device, pushed again as created: a fact is written
    once, so the first amount stands, and the device's next pull puts it back (never silently apart)."""
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    first = _wm_pull(client, headers)
    expense_id = str(uuid.uuid4())
    raw = {"id": expense_id, "job_id": str(job.id), "kind": "meals", "note": "午餐", "incurred_at": 1_795_140_000_000,
           "_status": "created", "_changed": ""}
    _wm_push(client, headers, {"job_expenses": {"created": [{**raw, "amount": 28}], "updated": [], "deleted": []}},
             first["timestamp"])
    after = _wm_pull(client, headers, first["timestamp"])
    assert after["changes"]["job_expenses"]["created"] == []  # its own write: not sent back
    # The same record retried unedited: done, nothing sent back either.
    _wm_push(client, headers, {"job_expenses": {"created": [{**raw, "amount": 28}], "updated": [], "deleted": []}},
             after["timestamp"])
    unchanged = _wm_pull(client, headers, after["timestamp"])
    assert unchanged["changes"]["job_expenses"]["created"] == []
    edited = _wm_push(client, headers, {"job_expenses": {"created": [{**raw, "amount": 30.5}], "updated": [],
                                                         "deleted": []}}, unchanged["timestamp"])
    assert edited["experimentalRejectedIds"] == {}
    (row,) = _expenses()
    assert row.amount == 28.0
    back = _wm_pull(client, headers, unchanged["timestamp"])["changes"]["job_expenses"]
    assert [(r["id"], r["amount"]) for r in back["created"] + back["updated"]] == [(expense_id, 28.0)]
