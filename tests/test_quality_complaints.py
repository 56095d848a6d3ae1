"""Complaints to closure: steps in order with who, when and what; no closing
(neither the complaint nor its ticket) before the follow-up; the first
responder accountable until an explicit handover."""

from __future__ import annotations

from server.accounts.models import Role
from tests import factories as f


def _open_complaint(client, headers):
    site = f.site(f.customer("投诉客户"))
    asset = f.asset(site)
    r = client.post("/api/v1/tickets", json={
        "customer_id": str(site.customer_id), "site_id": str(site.id), "asset_id": str(asset.id), "channel": "phone",
        "category": "complaint", "complaint_class": "quality", "summary": "维修后仍漏水"}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _step(client, headers, ticket_id, step, **fields):
    return client.post(f"/api/v1/quality/complaints/{ticket_id}/steps", json={"step": step, **fields},
                       headers=headers)


def test_complaint_runs_to_closure_in_order(client):
    first = f.user(Role.dispatcher, display_name="张客服")
    other = f.user(Role.dispatcher, display_name="刘主管")
    a, b = f.login_as(client, first), f.login_as(client, other)
    ticket_id = _open_complaint(client, a)

    view = client.get(f"/api/v1/quality/complaints/{ticket_id}", headers=b).get_json()
    assert (view["stage"], view["next_step"], view["accountable_name"]) == ("received", "confirmed", "张客服")
    listed = client.get("/api/v1/quality/complaints?open=true", headers=a).get_json()["items"]
    assert [c["ticket_id"] for c in listed] == [ticket_id]

    # Out of order, and closing early, are refused.
    early = _step(client, a, ticket_id, "analysed", note="x", cause="y")
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "complaint_out_of_order"
    closing = _step(client, a, ticket_id, "closed", note="客户不再追究")
    assert closing.status_code == 409 and closing.get_json()["error"]["code"] == "complaint_not_followed_up"
    # Nor can the ticket itself be closed before the follow-up.
    for target in ("dispatched", "resolved"):
        assert client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": target},
                           headers=a).status_code == 200
    refused = client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "closed"}, headers=a)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "complaint_not_followed_up"

    # 首问负责: someone else cannot hand it over; the accountable person can, explicitly.
    grab = client.post(f"/api/v1/quality/complaints/{ticket_id}/handover",
                       json={"to_user_id": str(other.id), "note": "我来"}, headers=b)
    assert grab.status_code == 403
    # Taking steps does not make anyone else accountable.
    assert _step(client, b, ticket_id, "confirmed", note="已与客户确认漏水").status_code == 201
    still = client.get(f"/api/v1/quality/complaints/{ticket_id}", headers=a).get_json()
    assert still["accountable_name"] == "张客服"
    handed = client.post(f"/api/v1/quality/complaints/{ticket_id}/handover",
                         json={"to_user_id": str(other.id), "note": "转质量主管处理"}, headers=a)
    assert handed.status_code == 201
    assert handed.get_json()["accountable_name"] == "刘主管"
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=a).get_json()["owner_id"] == str(other.id)

    missing = _step(client, b, ticket_id, "analysed", note="查原因")
    assert missing.status_code == 422 and "cause" in missing.get_json()["error"]["fields"]["json"]
    assert _step(client, b, ticket_id, "analysed", note="查原因", cause="密封圈型号错误").status_code == 201
    assert _step(client, b, ticket_id, "responsibility", note="定责", responsible_department="安装部",
                 responsible_person="王师傅").status_code == 201
    assert _step(client, b, ticket_id, "remedy_agreed", note="客户同意",
                 remedy="免费更换密封圈并延保半年").status_code == 201
    assert _step(client, b, ticket_id, "followed_up", note="一周后回访",
                 follow_up_result="已不漏水，客户满意").status_code == 201
    done = _step(client, b, ticket_id, "closed", note="结案")
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["stage"] == "closed" and body["next_step"] is None and body["closed_at"]
    assert (body["cause"], body["responsible_department"], body["responsible_person"], body["remedy"],
            body["follow_up_result"]) == ("密封圈型号错误", "安装部", "王师傅", "免费更换密封圈并延保半年",
                                          "已不漏水，客户满意")
    assert [(s["step"], s["by_name"]) for s in body["steps"]] == [
        ("confirmed", "刘主管"), ("handed_over", "张客服"), ("analysed", "刘主管"), ("responsibility", "刘主管"),
        ("remedy_agreed", "刘主管"), ("followed_up", "刘主管"), ("closed", "刘主管")]
    assert body["steps"][1]["to_name"] == "刘主管" and all(s["at"] for s in body["steps"])
    # The resolved ticket closed with its complaint.
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=a).get_json()["status"] == "closed"
    assert client.get("/api/v1/quality/complaints?open=true", headers=a).get_json()["items"] == []
    assert _step(client, b, ticket_id, "closed", note="again").status_code == 409


def test_only_complaints_have_a_complaint_process(client):
    a = f.login_as(client, f.user(Role.dispatcher))
    repair = f.ticket()
    assert client.get(f"/api/v1/quality/complaints/{repair.id}", headers=a).status_code == 404
    ticket_id = _open_complaint(client, a)
    bad = client.post(f"/api/v1/quality/complaints/{ticket_id}/handover",
                      json={"to_user_id": str(f.technician().user_id), "note": "x"}, headers=a)
    assert bad.status_code == 422
    odd = _step(client, a, ticket_id, "received", note="x")
    assert odd.status_code == 422


def test_a_complaint_is_handed_to_exactly_the_tickets_handover_candidates(client):
    """One hand-over rule: the people a complaint can be handed to are those the tickets' paginated
    picker lists (GET /api/v1/tickets/handover-candidates); the complaint's own list is gone."""
    from server.extensions import db

    admin = f.user(Role.admin, display_name="系统管理员")
    a = f.login_as(client, admin)
    ticket_id = _open_complaint(client, a)
    eligible = [f.user(Role.dispatcher, display_name=f"客服{n:02d}") for n in range(25)]
    inactive = f.user(Role.dispatcher, display_name="离职客服")
    inactive.active = False
    outsiders = [inactive, f.user(Role.warehouse, display_name="仓库主管"),
                 db.session.get(type(admin), f.technician().user_id)]
    db.session.commit()

    listed, cursor = [], None
    for _ in range(10):  # bounded: 27 people at 10 a page
        page = client.get("/api/v1/tickets/handover-candidates", headers=a,
                          query_string={"limit": 10, **({"cursor": cursor} if cursor else {})}).get_json()
        listed += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(listed) == {str(u.id) for u in [admin, *eligible]} and len(listed) == len(set(listed))
    assert client.get("/api/v1/quality/complaints/handover-candidates", headers=a).status_code in (404, 405)

    for user in outsiders:  # refused by the shared rule, whoever asks
        r = client.post(f"/api/v1/quality/complaints/{ticket_id}/handover",
                        json={"to_user_id": str(user.id), "note": "转交"}, headers=a)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_eligible_owner", user.display_name
    unknown = client.post(f"/api/v1/quality/complaints/{ticket_id}/handover",
                          json={"to_user_id": "00000000-0000-4000-8000-000000000000", "note": "转交"}, headers=a)
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "not_eligible_owner"
    for user in eligible[:3] + [eligible[-1]]:  # accepted, from any page of the list
        r = client.post(f"/api/v1/quality/complaints/{ticket_id}/handover",
                        json={"to_user_id": str(user.id), "note": "转交"}, headers=a)
        assert r.status_code == 201 and r.get_json()["accountable_name"] == user.display_name
