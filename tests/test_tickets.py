"""Tickets: due times from the contract or the defaults, the state machine,
escalation of breaches."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.accounts.models import Role
from server.customers.models import ServiceContract
from server.db import utcnow
from server.exceptions import InvalidTransition
from server.extensions import db
from server.tickets import clocks
from server.tickets.models import Ticket, TicketEvent, TicketStatus
from server.tickets.states import ALLOWED, can_transition, transition
from tests import factories as f
from tests.test_errors import assert_error

DEFAULTS = clocks.ClockPolicy(2, 24, 72, "default")
RECEIVED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


# ---- clocks, without a database ----


def test_due_times_from_the_defaults():
    due = clocks.due_times(RECEIVED, clocks.policy_for(None, DEFAULTS, RECEIVED.date()))
    assert due.response_due_at == RECEIVED + timedelta(hours=2)
    assert due.on_site_due_at == RECEIVED + timedelta(hours=24)
    assert due.resolve_due_at == RECEIVED + timedelta(hours=72)


def test_due_times_from_a_contract_that_covers_the_day():
    gold = ServiceContract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), response_hours=0.5,
                           on_site_hours=8, resolve_hours=24)
    policy = clocks.policy_for(gold, DEFAULTS, RECEIVED.date())
    assert policy.source == "contract"
    due = clocks.due_times(RECEIVED, policy)
    assert due.response_due_at == RECEIVED + timedelta(minutes=30)
    assert due.on_site_due_at == RECEIVED + timedelta(hours=8)
    assert due.resolve_due_at == RECEIVED + timedelta(hours=24)


@pytest.mark.parametrize(("starts", "ends"), [(date(2026, 3, 2), None), (date(2025, 1, 1), date(2026, 2, 28))])
def test_a_contract_not_running_that_day_leaves_the_defaults(starts, ends):
    contract = ServiceContract(starts_on=starts, ends_on=ends, response_hours=1, on_site_hours=4, resolve_hours=8)
    assert clocks.policy_for(contract, DEFAULTS, RECEIVED.date()) is DEFAULTS


def test_breached_clocks():
    ticket = Ticket(received_at=RECEIVED, **vars(clocks.due_times(RECEIVED, DEFAULTS)))
    assert clocks.breached_clocks(ticket, RECEIVED + timedelta(hours=1)) == []
    assert clocks.breached_clocks(ticket, RECEIVED + timedelta(hours=3)) == ["response"]
    ticket.responded_at = RECEIVED + timedelta(hours=1)
    assert clocks.breached_clocks(ticket, RECEIVED + timedelta(hours=25)) == ["on_site"]
    ticket.on_site_at = RECEIVED + timedelta(hours=30)  # late: stays breached once reached
    assert clocks.breached_clocks(ticket, RECEIVED + timedelta(hours=73)) == ["on_site", "resolve"]


# ---- the state machine ----


def test_every_pair_of_states_is_allowed_or_refused_as_the_table_says():
    for current in TicketStatus:
        for target in TicketStatus:
            ticket = Ticket(status=current, version=1)
            if can_transition(current, target):
                transition(ticket, target, at=RECEIVED)
                assert ticket.status is target and ticket.version == 2
                assert ticket.events[-1].from_status == current.value
            else:
                with pytest.raises(InvalidTransition):
                    transition(ticket, target, at=RECEIVED)
                assert ticket.status is current and ticket.version == 1
    assert ALLOWED[TicketStatus.closed] == ALLOWED[TicketStatus.cancelled] == frozenset()


def test_stamps_are_set_once_and_reopening_clears_resolved():
    ticket = Ticket(status=TicketStatus.new, version=1)
    t = [RECEIVED + timedelta(hours=h) for h in range(8)]
    transition(ticket, TicketStatus.acknowledged, at=t[1])
    transition(ticket, TicketStatus.dispatched, at=t[2])
    assert ticket.responded_at == t[1]
    transition(ticket, TicketStatus.on_site, at=t[3])
    transition(ticket, TicketStatus.resolved, at=t[4])
    transition(ticket, TicketStatus.acknowledged, at=t[5])  # the fix did not hold
    assert ticket.resolved_at is None and ticket.on_site_at == t[3]
    transition(ticket, TicketStatus.dispatched, at=t[6])
    transition(ticket, TicketStatus.resolved, at=t[6])
    transition(ticket, TicketStatus.closed, at=t[7])
    assert (ticket.resolved_at, ticket.closed_at) == (t[6], t[7])


# ---- through the API ----


@pytest.fixture
def headers(client):
    return f.login_as(client, f.user(Role.dispatcher))


def _open(client, headers, site, **extra):
    body = {"customer_id": str(site.customer_id), "site_id": str(site.id), "channel": "phone",
            "category": "repair", "summary": "不制冷", "received_at": "2026-03-01T09:30:00Z", **extra}
    return client.post("/api/v1/tickets", json=body, headers=headers)


def test_open_without_a_contract_uses_the_defaults(client, headers):
    r = _open(client, headers, f.site())
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert (t["response_due_at"], t["on_site_due_at"], t["resolve_due_at"]) == (
        "2026-03-01T11:30:00+00:00", "2026-03-02T09:30:00+00:00", "2026-03-04T09:30:00+00:00")
    assert t["contract_id"] is None and t["status"] == "new"
    assert t["events"][0]["to_status"] == "new"


def test_open_under_a_contract_uses_its_clocks(client, headers):
    customer = f.customer()
    contract = f.contract(customer, response=1, on_site=8, resolve=24, starts_on=date(2026, 1, 1))
    r = _open(client, headers, f.site(customer))
    t = r.get_json()
    assert t["contract_id"] == str(contract.id)
    assert (t["response_due_at"], t["on_site_due_at"], t["resolve_due_at"]) == (
        "2026-03-01T10:30:00+00:00", "2026-03-01T17:30:00+00:00", "2026-03-02T09:30:00+00:00")


def test_open_refuses_inconsistent_input(client, headers):
    site = f.site()
    other = f.site()
    assert_error(_open(client, headers, site, site_id=str(other.id)), 422, "invalid")
    assert_error(_open(client, headers, site, category="complaint"), 422, "invalid")
    assert_error(_open(client, headers, site, complaint_class="quality"), 422, "invalid")
    assert _open(client, headers, site, category="complaint", complaint_class="non_quality").status_code == 201
    foreign = f.contract(f.customer())
    assert_error(_open(client, headers, site, contract_id=str(foreign.id)), 422, "invalid")
    assert_error(_open(client, headers, site, received_at="2026-03-01T09:30:00"), 422, "validation_error")
    assert_error(_open(client, headers, site, channel="pigeon"), 422, "validation_error")


def test_owner_is_whoever_took_it_and_transitions_through_the_api(client, headers):
    me = client.get("/api/v1/auth/me", headers=headers).get_json()
    t = _open(client, headers, f.site()).get_json()
    assert t["owner_id"] == me["user_id"]
    for target in ("acknowledged", "dispatched", "on_site", "resolved", "closed"):
        r = client.post(f"/api/v1/tickets/{t['id']}/transitions", json={"to": target, "note": "好"},
                        headers=headers)
        assert r.status_code == 200, r.get_json()
    final = client.get(f"/api/v1/tickets/{t['id']}", headers=headers).get_json()
    assert final["status"] == "closed"
    assert all(final[k] for k in ("responded_at", "on_site_at", "resolved_at", "closed_at"))
    assert [e["to_status"] for e in final["events"]] == ["new", "acknowledged", "dispatched", "on_site",
                                                         "resolved", "closed"]
    assert_error(client.post(f"/api/v1/tickets/{t['id']}/transitions", json={"to": "new"}, headers=headers),
                 409, "invalid_transition")


def test_list_filters(client, headers):
    complaint = f.ticket(category="complaint", complaint_class="quality", priority="urgent")
    f.ticket(received_at=utcnow() - timedelta(hours=30))
    f.ticket()
    items = client.get("/api/v1/tickets?category=complaint", headers=headers).get_json()["items"]
    assert [i["id"] for i in items] == [str(complaint.id)]
    assert len(client.get("/api/v1/tickets?priority=urgent", headers=headers).get_json()["items"]) == 1
    assert len(client.get("/api/v1/tickets?overdue=true", headers=headers).get_json()["items"]) == 1
    assert len(client.get("/api/v1/tickets?status=new&status=closed", headers=headers).get_json()["items"]) == 3
    assert_error(client.get("/api/v1/tickets?status=lost", headers=headers), 422, "validation_error")


def test_escalate_breaches_through_the_cli(app, runner):
    now = utcnow()
    late = f.ticket(received_at=now - timedelta(hours=30))  # missed response and on site
    fine = f.ticket(received_at=now - timedelta(minutes=10))
    done = f.ticket(received_at=now - timedelta(hours=100), status=TicketStatus.closed)

    result = runner.invoke(args=["escalate-breaches"])
    assert result.exit_code == 0, result.output
    assert "escalated 1 ticket(s)" in result.output
    db.session.expire_all()
    assert db.session.get(Ticket, late.id).escalation_level == 2
    assert db.session.get(Ticket, fine.id).escalation_level == 0
    assert db.session.get(Ticket, done.id).escalation_level == 0
    notes = db.session.scalars(select(TicketEvent.note).where(TicketEvent.ticket_id == late.id,
                                                              TicketEvent.kind == "escalation")).all()
    assert notes == ["missed: response, on_site"]

    # Nothing new missed: running again escalates nothing.
    assert "escalated 0 ticket(s)" in runner.invoke(args=["escalate-breaches"]).output
