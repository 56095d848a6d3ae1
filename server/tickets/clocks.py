"""Service clocks: when a ticket must be answered, reached and resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.customers.models import ServiceContract


@dataclass(frozen=True)
class ClockPolicy:
    response_hours: float
    on_site_hours: float
    resolve_hours: float
    source: str  # "default" or "contract"


@dataclass(frozen=True)
class DueTimes:
    response_due_at: datetime
    on_site_due_at: datetime
    resolve_due_at: datetime


def policy_for(contract: ServiceContract | None, defaults: ClockPolicy, on_day) -> ClockPolicy:
    """The contract's clocks when it covers the day the report came in, else the defaults."""
    if contract is not None and contract.covers(on_day):
        return ClockPolicy(contract.response_hours, contract.on_site_hours, contract.resolve_hours, "contract")
    return defaults


def due_times(received_at: datetime, policy: ClockPolicy) -> DueTimes:
    return DueTimes(
        response_due_at=received_at + timedelta(hours=policy.response_hours),
        on_site_due_at=received_at + timedelta(hours=policy.on_site_hours),
        resolve_due_at=received_at + timedelta(hours=policy.resolve_hours),
    )


def breached_clocks(ticket, now: datetime) -> list[str]:
    """Names of the clocks this ticket has missed as of ``now`` (or as of its
    closing: a cancelled ticket's clocks stop when it is cancelled)."""
    missed = []
    now = min(now, ticket.closed_at) if ticket.closed_at else now
    checks = (
        ("response", ticket.response_due_at, ticket.responded_at),
        ("on_site", ticket.on_site_due_at, ticket.on_site_at),
        ("resolve", ticket.resolve_due_at, ticket.resolved_at),
    )
    for name, due, done in checks:
        if (done or now) > due:
            missed.append(name)
    return missed
