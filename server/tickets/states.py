"""The ticket state machine: which transitions are allowed, and what each stamps."""

from __future__ import annotations

from datetime import datetime

from server.exceptions import InvalidTransition
from server.tickets.models import Ticket, TicketEvent, TicketStatus

S = TicketStatus

ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.new: frozenset({S.acknowledged, S.dispatched, S.cancelled}),
    S.acknowledged: frozenset({S.dispatched, S.cancelled}),
    S.dispatched: frozenset({S.on_site, S.acknowledged, S.cancelled, S.resolved}),
    S.on_site: frozenset({S.resolved, S.dispatched}),
    S.resolved: frozenset({S.closed, S.acknowledged}),  # reopened if the fix did not hold
    S.closed: frozenset(),
    S.cancelled: frozenset(),
}

# The first time a ticket reaches these states sets the matching clock stamp.
_STAMPS = {
    S.acknowledged: "responded_at",
    S.dispatched: "responded_at",
    S.on_site: "on_site_at",
    S.resolved: "resolved_at",
    S.closed: "closed_at",
    S.cancelled: "closed_at",  # a cancelled ticket is closed: its clocks stop there
}


def can_transition(current: TicketStatus, target: TicketStatus) -> bool:
    return target in ALLOWED[current]


def transition(ticket: Ticket, target: TicketStatus, *, at: datetime, by_user_id=None, note=None) -> TicketEvent:
    """Move ``ticket`` to ``target``, stamping its clocks; never commits. ``note``: a person's words, or a
    :class:`server.tickets.history.Note` the server writes (shown in the reader's language)."""
    current = ticket.status
    if not can_transition(current, target):
        raise InvalidTransition(
            f"a ticket cannot go from {current.value} to {target.value}",
            details={"from": current.value, "to": target.value,
                     "allowed": sorted(s.value for s in ALLOWED[current])},
        )
    stamp = _STAMPS.get(target)
    if stamp and getattr(ticket, stamp) is None:
        setattr(ticket, stamp, at)
    if target is S.acknowledged and current is S.resolved:
        ticket.resolved_at = None
    ticket.status = target
    ticket.version += 1
    from server.tickets import history

    event = TicketEvent(kind="transition", from_status=current.value, to_status=target.value,
                        at=at, by_user_id=by_user_id, **history.columns(note))
    ticket.events.append(event)
    return event
