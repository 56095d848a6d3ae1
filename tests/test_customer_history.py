"""客户360 service history (GET /api/v1/customers/{id}/service-history) and the
ticket hand-over picker (GET /api/v1/tickets/handover-candidates): what they
answer, to whom, in the one pagination scheme, without N+1 queries; and the
two pages that use them, rendered in both languages."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from media.models import Signature
from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import CustomerRating, JobStatus, NoSignatureReason, PartUsage
from server.tickets.models import TicketEvent
from tests import factories as f

pytestmark = pytest.mark.usefixtures("fresh_media")
STROKES = [[{"x": 0, "y": 0, "t": 0}, {"x": 50, "y": 30, "t": 10}]]
T0 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


@contextmanager
def counted_queries():
    seen = []

    def count(*_args):
        seen.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def completed(ticket, tech, at, part=None, signed_by=None, **kwargs):
    job = f.job(ticket, tech, status=JobStatus.completed, arrived_at=at - timedelta(hours=2),
                departed_at=at, completed_at=at, **kwargs)
    if part is not None:
        db.session.add(PartUsage(job_id=job.id, part_id=part.id, quantity=2, under_warranty=True))
    if signed_by:
        db.session.add(Signature(job_id=job.id, signer_name=signed_by, strokes=STROKES, report_sha256="0" * 64,
                                 received_at=at + timedelta(minutes=5)))
    db.session.commit()
    return job


def test_a_customers_history_has_each_ticket_with_its_completed_visits(client, dispatcher):
    customer = f.customer("上海第一人民医院")
    site = f.site(customer)
    chiller, boiler = f.asset(site, serial_number="SN-CH-1"), f.asset(site, product_line="boiler", serial_number="SN-B")
    tech = f.technician(name="李师傅 Li")
    valve = f.part("P-VALVE", name="膨胀阀")
    old = f.ticket(st=site, ast=chiller, summary="冷机不制冷", received_at=T0)
    first = completed(old, tech, T0 + timedelta(days=1), part=valve, signed_by="王经理", fault_cause="膨胀阀卡死",
                      solution="更换膨胀阀", work_done="试机正常", customer_rating=CustomerRating.satisfied)
    f.job(old, tech, status=JobStatus.cancelled)  # not a visit
    db.session.add_all([  # dispatched twice (a first visit left incomplete): the visit's is the latest before it
        TicketEvent(ticket_id=old.id, kind="transition", from_status="new", to_status="dispatched",
                    at=T0 + timedelta(hours=1)),
        TicketEvent(ticket_id=old.id, kind="transition", from_status="on_site", to_status="dispatched",
                    at=T0 + timedelta(hours=9)),
        TicketEvent(ticket_id=old.id, kind="transition", from_status="dispatched", to_status="acknowledged",
                    at=T0 + timedelta(hours=10)),
        TicketEvent(ticket_id=old.id, kind="transition", from_status="acknowledged", to_status="dispatched",
                    at=T0 + timedelta(days=2))])  # after this visit: not its dispatch
    db.session.commit()
    newer = f.ticket(st=site, ast=chiller, summary="冷机噪音", received_at=T0 + timedelta(days=5))
    unsigned = completed(newer, tech, T0 + timedelta(days=6), no_signature_reason=NoSignatureReason.refused)
    f.job(newer, tech, status=JobStatus.on_site)  # still on site: not in the history
    boiler_ticket = f.ticket(st=site, ast=boiler, summary="锅炉漏水", received_at=T0 + timedelta(days=2))
    f.ticket(summary="别的客户")  # another customer's
    customer_id = customer.id
    ids = {"old": str(old.id), "newer": str(newer.id), "boiler": str(boiler_ticket.id)}
    first_id, unsigned_id, chiller_id = str(first.id), str(unsigned.id), str(chiller.id)

    body = client.get(f"/api/v1/customers/{customer_id}/service-history", headers=dispatcher).get_json()
    assert [e["ticket_id"] for e in body["items"]] == [ids["newer"], ids["boiler"], ids["old"]]  # newest first
    assert not body["has_more"]
    entry = body["items"][2]
    assert (entry["reference"], entry["summary"], entry["asset_id"], entry["status"]) == (
        old.reference, "冷机不制冷", chiller_id, "new")
    [visit] = entry["visits"]
    assert visit["job_id"] == first_id and visit["technician_name"] == "李师傅 Li"
    assert (visit["fault_cause"], visit["solution"], visit["work_done"]) == ("膨胀阀卡死", "更换膨胀阀", "试机正常")
    assert visit["parts"] == [{"part_number": "P-VALVE", "name": "膨胀阀", "quantity": 2}]
    assert visit["customer_rating"] == "satisfied" and visit["signer_name"] == "王经理"
    assert visit["signed_at"].startswith("2026-10-02T01:05")
    assert visit["arrived_at"].startswith("2026-10-01T23:00") and visit["completed_at"].startswith("2026-10-02T01:00")
    assert visit["dispatched_at"].startswith("2026-10-01T10:00")
    [later] = body["items"][0]["visits"]
    assert later["job_id"] == unsigned_id and later["signed_at"] is None and later["no_signature_reason"] == "refused"
    assert later["dispatched_at"] is None  # no dispatch recorded, and the job was entered after the visit
    assert body["items"][1]["visits"] == []

    # One asset's, and the one pagination scheme.
    mine = client.get(f"/api/v1/customers/{customer_id}/service-history", headers=dispatcher,
                      query_string={"asset_id": chiller_id, "limit": 1}).get_json()
    assert [e["ticket_id"] for e in mine["items"]] == [ids["newer"]] and mine["has_more"]
    rest = client.get(f"/api/v1/customers/{customer_id}/service-history", headers=dispatcher,
                      query_string={"asset_id": chiller_id, "limit": 1, "cursor": mine["next_cursor"]}).get_json()
    assert [e["ticket_id"] for e in rest["items"]] == [ids["old"]] and not rest["has_more"]

    # The visits are the asset visits' own: the same jobs.
    visits = client.get(f"/api/v1/assets/{chiller_id}/visits", headers=dispatcher).get_json()
    assert [v["job_id"] for v in visits["items"]] == [unsigned_id, first_id]

    # The signed report of a visit in the history is there as a PDF.
    pdf = client.get(f"/api/v1/jobs/{first_id}/report.pdf", headers=dispatcher)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_the_history_and_the_picker_answer_only_office_staff(client):
    customer = f.customer()
    f.ticket(st=f.site(customer))
    tech = f.technician()
    for headers in (f.login_as(client, tech), f.login_as(client, f.user(Role.warehouse))):
        assert client.get(f"/api/v1/customers/{customer.id}/service-history", headers=headers).status_code == 403
        assert client.get("/api/v1/tickets/handover-candidates", headers=headers).status_code == 403
    assert client.get(f"/api/v1/customers/{customer.id}/service-history").status_code == 401
    admin = f.login_as(client, f.user(Role.admin))
    missing = client.get(f"/api/v1/customers/{uuid.uuid4()}/service-history", headers=admin)
    assert missing.status_code == 404
    bad = client.get(f"/api/v1/customers/{customer.id}/service-history?cursor=zzz", headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_cursor"


def test_a_page_of_history_costs_the_same_queries_for_two_tickets_as_for_twelve(client, dispatcher):
    tech = f.technician()
    valve = f.part()

    def customer_with(n):
        customer = f.customer()
        site = f.site(customer)
        for i in range(n):
            ticket = f.ticket(st=site, ast=f.asset(site), received_at=T0 + timedelta(hours=i))
            completed(ticket, tech, T0 + timedelta(hours=i, minutes=30), part=valve, signed_by="客户")
            completed(ticket, tech, T0 + timedelta(hours=i, minutes=40), part=valve)
        return customer.id

    small, large = customer_with(2), customer_with(12)
    counts = []
    for customer_id, n in ((small, 2), (large, 12)):
        with counted_queries() as seen:
            body = client.get(f"/api/v1/customers/{customer_id}/service-history", headers=dispatcher).get_json()
        assert len(body["items"]) == n and all(len(e["visits"]) == 2 and e["visits"][0]["parts"] for e in body["items"])
        counts.append(len(seen))
    # Tickets, visits, their tickets and technicians, dispatches, parts, signatures (and the token): not one per
    # ticket.
    assert counts[0] == counts[1] and counts[0] >= 8, counts


def test_the_handover_picker_finds_office_users_by_part_of_a_name(client, dispatcher):
    f.user(Role.dispatcher, username="zhang.wei", display_name="张伟 客服")
    f.user(Role.admin, username="admin.liu", display_name="刘主管")
    f.user(Role.dispatcher, username="gone", display_name="张离职", active=False)
    f.user(Role.warehouse, username="zhang.store", display_name="张仓管")
    f.technician(username="zhang.tech", name="张师傅")
    f.user(Role.dispatcher, username="per%cent", display_name="百分")

    def usernames(**query):
        body = client.get("/api/v1/tickets/handover-candidates", headers=dispatcher, query_string=query).get_json()
        return [u["username"] for u in body["items"]], body

    found, body = usernames(q="张")
    assert found == ["zhang.wei"]  # office staff only, active only
    assert body["items"][0] == {"id": body["items"][0]["id"], "username": "zhang.wei", "display_name": "张伟 客服",
                                "role": "dispatcher"}
    assert usernames(q="LIU")[0] == ["admin.liu"]  # by username, any case
    assert usernames(q="%")[0] == ["per%cent"]  # wildcards taken literally
    everyone, _ = usernames()
    assert "admin.liu" in everyone and "zhang.wei" in everyone and "gone" not in everyone
    first, page = usernames(limit=1)
    rest, _ = usernames(limit=50, cursor=page["next_cursor"])
    assert page["has_more"] and first[0] not in rest and set(first + rest) == set(everyone)
    too_long = client.get("/api/v1/tickets/handover-candidates", headers=dispatcher, query_string={"q": "x" * 65})
    assert too_long.status_code == 422


def test_handing_over_to_an_unknown_or_ineligible_user_says_which(client, dispatcher):
    ticket = f.ticket()
    f.user(Role.warehouse, username="store")
    f.user(Role.dispatcher, username="left", active=False)
    f.user(Role.dispatcher, username="colleague", display_name="同事")
    url = f"/api/v1/tickets/{ticket.id}/handover"
    unknown = client.post(url, headers=dispatcher, json={"to_username": "nobody", "reason": "shift ends"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_user"
    for name in ("store", "left"):
        refused = client.post(url, headers=dispatcher, json={"to_username": name, "reason": "shift ends"})
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "not_eligible_owner"
    handed = client.post(url, headers=dispatcher, json={"to_username": "colleague", "reason": "shift ends"})
    assert handed.status_code == 200 and handed.get_json()["owner_name"] == "同事"
    assert handed.get_json()["events"][-1]["kind"] == "handover"


@pytest.mark.parametrize("lang,words", [("zh-CN", ["服务历史", "加载更早的服务记录"]),
                                        ("en", ["Service history by asset", "Load earlier service"])])
def test_the_customer_page_has_the_timeline_in_both_languages(client, lang, words):
    customer = f.customer()
    html = client.get(f"/customers/{customer.id}?lang={lang}").get_data(as_text=True)
    assert 'id="c-timeline"' in html and 'id="c-more"' in html and "customer.js" in html
    for word in words:
        assert word in html


@pytest.mark.parametrize("lang,words", [("zh-CN", ["移交给", "按姓名或用户名搜索"]),
                                        ("en", ["Hand over to", "Search by name or username"])])
def test_the_ticket_page_has_the_handover_picker_in_both_languages(client, lang, words):
    ticket = f.ticket()
    html = client.get(f"/tickets/{ticket.id}?lang={lang}").get_data(as_text=True)
    assert 'id="h-search"' in html and 'id="h-candidates"' in html and 'id="h-user"' in html
    for word in words:
        assert word in html
