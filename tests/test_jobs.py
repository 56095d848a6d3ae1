"""Jobs: listed and read by dispatchers and their own technician; rescheduled
by dispatchers with optimistic concurrency (ETag / If-Match)."""

import pytest

from server.accounts.models import Role
from server.jobs.models import JobStatus
from tests import factories as f
from tests.test_errors import assert_error


@pytest.fixture
def headers(client):
    return f.login_as(client, f.user(Role.dispatcher))


def test_list_and_filter(client, headers):
    tech = f.technician()
    ticket = f.ticket()
    mine = f.job(ticket, tech)
    f.job(status=JobStatus.completed)
    ids = lambda url: [j["id"] for j in client.get(url, headers=headers).get_json()["items"]]  # noqa: E731
    assert ids(f"/api/v1/jobs?technician_id={tech.id}") == [str(mine.id)]
    assert ids(f"/api/v1/jobs?ticket_id={ticket.id}") == [str(mine.id)]
    assert len(ids("/api/v1/jobs?status=completed")) == 1
    assert len(ids("/api/v1/jobs?status=assigned&status=completed")) == 2


def test_read_carries_the_version_as_etag(client, headers):
    job = f.job()
    r = client.get(f"/api/v1/jobs/{job.id}", headers=headers)
    assert r.headers["ETag"] == '"1"' and r.get_json()["adjustments"] == []


def test_reschedule_with_if_match(client, headers):
    job = f.job()
    body = {"planned_start": "2026-12-01T01:00:00Z", "planned_end": "2026-12-01T12:00:00+08:00",
            "priority": "urgent", "instructions": "带上压缩机 🔧"}
    r = client.patch(f"/api/v1/jobs/{job.id}", json=body, headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 200, r.get_json()
    assert r.headers["ETag"] == '"2"'
    assert r.get_json()["planned_end"] == "2026-12-01T04:00:00+00:00"
    # The copy read before that change is stale now.
    assert_error(client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "low"},
                              headers={**headers, "If-Match": '"1"'}), 412, "precondition_failed")
    assert client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "low"},
                        headers={**headers, "If-Match": "*"}).status_code == 200


def test_reschedule_refuses_a_window_that_ends_before_it_starts(client, headers):
    job = f.job()
    r = client.patch(f"/api/v1/jobs/{job.id}", json={"planned_start": "2026-12-01T05:00:00Z",
                                                     "planned_end": "2026-12-01T04:00:00Z"}, headers=headers)
    assert "planned_end" in assert_error(r, 422, "invalid")["fields"]["json"]


def test_on_site_facts_are_not_editable_here(client, headers):
    job = f.job()
    r = client.patch(f"/api/v1/jobs/{job.id}", json={"work_done": "x", "status": "completed"}, headers=headers)
    fields = assert_error(r, 422, "validation_error")["fields"]["json"]
    assert {"work_done", "status"} <= set(fields)


def test_ticket_patch_bumps_version(client, headers):
    ticket = f.ticket()
    r = client.patch(f"/api/v1/tickets/{ticket.id}", json={"priority": "urgent", "summary": "漏水严重"},
                     headers=headers)
    assert (r.get_json()["priority"], r.get_json()["summary"], r.get_json()["version"]) == ("urgent", "漏水严重", 2)
    assert_error(client.patch(f"/api/v1/tickets/{ticket.id}", json={"owner_id": None}, headers=headers),
                 422, "validation_error")
