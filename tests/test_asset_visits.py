"""An asset's earlier visits (GET /api/v1/assets/{id}/visits): what the
handheld shows on a job, with the scope a technician has."""

from __future__ import annotations

from datetime import timedelta

from server.db import utcnow
from server.extensions import db
from server.jobs.models import JobStatus
from tests import factories as f


def test_earlier_visits_newest_first_for_a_technician_who_holds_the_asset(client):
    asset = f.asset(model="CH-200")
    li, wang = f.technician(name="李师傅 Li"), f.technician(name="王师傅 Wang")
    now = utcnow()
    first = f.job(f.ticket(ast=asset), wang, status=JobStatus.completed, completed_at=now - timedelta(days=90),
                  fault_cause="冷凝器脏堵", solution="清洗冷凝器")
    second = f.job(f.ticket(ast=asset), li, status=JobStatus.completed, completed_at=now - timedelta(days=10),
                   fault_cause="膨胀阀卡死", solution="更换膨胀阀", work_done="试机正常")
    f.job(f.ticket(ast=asset), wang, status=JobStatus.on_site)  # not a finished visit
    f.job(f.ticket(ast=asset), li)  # the job Li holds now: it gives Li the asset
    ids = (str(second.id), str(first.id))
    stranger = f.technician(name="赵师傅 Zhao")
    asset_id = asset.id
    db.session.commit()

    li_auth = f.login_as(client, li)
    body = client.get(f"/api/v1/assets/{asset_id}/visits", headers=li_auth).get_json()
    assert [v["job_id"] for v in body["items"]] == list(ids)
    assert body["items"][0]["technician_name"] == "李师傅 Li" and body["items"][0]["solution"] == "更换膨胀阀"
    assert body["items"][1]["technician_name"] == "王师傅 Wang"  # another technician's visit is shown too
    assert body["items"][0]["ticket_reference"].startswith("T-")
    # The one pagination scheme.
    page = client.get(f"/api/v1/assets/{asset_id}/visits?limit=1", headers=li_auth).get_json()
    assert [v["job_id"] for v in page["items"]] == [ids[0]] and page["has_more"]
    rest = client.get(f"/api/v1/assets/{asset_id}/visits?limit=1&cursor={page['next_cursor']}",
                      headers=li_auth).get_json()
    assert [v["job_id"] for v in rest["items"]] == [ids[1]] and not rest["has_more"]
    # Someone whose jobs do not name the asset does not see it.
    answer = client.get(f"/api/v1/assets/{asset_id}/visits", headers=f.login_as(client, stranger, "handheld-9"))
    assert answer.status_code == 404
    assert client.get(f"/api/v1/assets/{asset_id}/visits").status_code == 401
