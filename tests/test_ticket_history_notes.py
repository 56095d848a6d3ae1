"""The notes the server writes in a ticket's history ("assigned to …",
"reassigned …", "job cancelled: …") read in the reader's language: stored as a
catalogue key with its values, written out when read; the API's ``note`` keeps
its English text; a note stored before (plain text) reads as stored. Through
the real HTTP stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.tickets import history
from server.tickets.models import Ticket, TicketEvent, TicketStatus
from server.tickets.service import escalate_breaches
from tests import factories as f


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


def events_of(ticket_id):
    db.session.expire_all()
    return sorted(db.session.get(Ticket, ticket_id).events, key=lambda e: (e.at, e.kind))


def test_the_same_reassignment_reads_in_chinese_and_in_english(client, dispatcher):
    first, second = f.technician(name="钱师傅"), f.technician(name="周师傅")
    job = f.job(tech=first)
    response = client.post(f"/api/v1/jobs/{job.id}/reassign", headers=dispatcher,
                           json={"technician_id": str(second.id), "reason": "钱师傅生病"})
    assert response.status_code == 200, response.get_json()

    event = events_of(job.ticket_id)[-1]
    assert history.text(event, "zh-CN") == "由 钱师傅 改派给 周师傅：钱师傅生病"
    assert history.text(event, "en") == "reassigned from 钱师傅 to 周师傅: 钱师傅生病"
    # The API: the same English note as always, and the key and values to write it in any language.
    (shown,) = [e for e in client.get(f"/api/v1/tickets/{job.ticket_id}", headers=dispatcher).get_json()["events"]
                if e["kind"] == "job_reassign"]
    assert shown["note"] == "reassigned from 钱师傅 to 周师傅: 钱师傅生病"
    assert shown["note_key"] == "reassigned_reason"
    assert shown["note_params"] == {"former": "钱师傅", "to": "周师傅", "reason": "钱师傅生病", "override": ""}


def test_assignment_cancellation_and_the_opening_read_in_both_languages(client, dispatcher):
    tech = f.technician(name="Sun")
    ticket = f.ticket()
    ticket_id = ticket.id
    response = client.post(f"/api/v1/tickets/{ticket_id}/assign", headers=dispatcher,
                           json={"technician_id": str(tech.id)})
    assert response.status_code == 201, response.get_json()
    response = client.post(f"/api/v1/tickets/{ticket_id}/transitions", headers=dispatcher,
                           json={"to": "cancelled"})
    assert response.status_code == 200, response.get_json()

    notes = {e.note_key: e for e in events_of(ticket_id) if e.note_key}
    assert history.text(notes["assigned"], "zh-CN") == "派给 Sun"
    assert history.text(notes["assigned"], "en") == "assigned to Sun"
    # the ticket cancelled without a reason: its job's cancellation says so, in either language
    assert history.text(notes["job_cancelled_ticket"], "zh-CN") == "任务已取消：工单已取消"
    assert history.text(notes["job_cancelled_ticket"], "en") == notes["job_cancelled_ticket"].note \
        == "job cancelled: ticket cancelled"
    # the person's own words (none here) stay theirs: the cancel transition has no key
    (cancel,) = [e for e in events_of(ticket_id) if e.to_status == TicketStatus.cancelled.value]
    assert cancel.note_key is None


def test_an_override_and_an_escalation_name_their_codes_by_their_labels(client, dispatcher):
    tech = f.technician(name="Sun")
    ticket = f.ticket()
    event = TicketEvent(ticket_id=ticket.id, kind="transition", at=utcnow(), **history.columns(history.note(
        "assigned", name="Sun", override=history.note("override_reason", flags=["late", "overtime"],
                                                      reason="周日加班"))))
    db.session.add(event)
    db.session.commit()
    assert event.note == "assigned to Sun (override: late, overtime; reason: 周日加班)"  # the API's note, as before
    assert history.text(event, "zh-CN") == "派给 Sun（越权：无法按时到场、需加班；理由：周日加班）"
    assert history.text(event, "en") == "assigned to Sun (override: Cannot arrive in time, Overtime; reason: 周日加班)"

    late = f.ticket(received_at=utcnow() - timedelta(days=3))
    late_id = late.id
    assert escalate_breaches(db.session, now=utcnow())
    db.session.commit()
    (escalation,) = [e for e in events_of(late_id) if e.kind == "escalation"]
    assert escalation.note == "missed: response, on_site, resolve"
    assert history.text(escalation, "zh-CN") == "超时：响应、到场、解决"
    assert history.text(escalation, "en") == "missed: Response, On site, Resolve"
    del tech


def test_a_note_stored_before_reads_as_stored(app):
    ticket = f.ticket()
    old = TicketEvent(ticket_id=ticket.id, kind="job_reassign", at=utcnow(), note="reassigned from A to B: ill")
    unknown = TicketEvent(ticket_id=ticket.id, kind="job_reassign", at=utcnow(), note="as stored",
                          note_key="no_such_note", note_params={})
    db.session.add_all([old, unknown])
    db.session.commit()
    for locale in ("zh-CN", "en"):
        assert history.text(old, locale) == "reassigned from A to B: ill"
        assert history.text(unknown, locale) == "as stored"

