"""Complaints to closure (售后服务管理制度): confirm, analyse the cause, name
who is responsible, agree the remedy with the customer, follow up, close:
in that order, each step with who, when and what. The first responder stays
accountable (首问负责) unless the complaint is handed over explicitly. Plain
functions; never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from server.accounts.models import Role, User
from server.exceptions import InvalidInput, InvalidTransition, PermissionDenied
from server.quality.models import Complaint, ComplaintStage, ComplaintStep
from server.records import field_error
from server.tickets import history
from server.tickets.models import Category, Ticket, TicketStatus
from server.tickets.states import transition

ORDER = list(ComplaintStage)
# What each step must record besides its note.
REQUIRED = {
    ComplaintStage.analysed: ("cause",),
    ComplaintStage.responsibility: ("responsible_department",),
    ComplaintStage.remedy_agreed: ("remedy",),
    ComplaintStage.followed_up: ("follow_up_result",),
}


def complaint_for(session: Session, ticket: Ticket, *, now: datetime) -> Complaint:
    """The ticket's complaint record, made on first use. Its accountable
    person is the ticket's owner: who took the report, until handed over."""
    if ticket.category is not Category.complaint:
        raise InvalidInput("this ticket is not a complaint", code="not_a_complaint")
    complaint = session.get(Complaint, ticket.id)
    if complaint is None:
        complaint = Complaint(ticket_id=ticket.id, stage=ComplaintStage.received, created_at=now)
        session.add(complaint)
        session.flush()
    return complaint


def next_stage(complaint: Complaint) -> ComplaintStage | None:
    i = ORDER.index(complaint.stage)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def take_step(session: Session, ticket: Ticket, data: dict, *, by_user_id, now: datetime) -> Complaint:
    """Record the next step. Steps go in order, none skipped: closing before
    the follow-up is refused. Closing also closes the ticket when its repair
    is resolved (a complaint ticket closes no other way before its follow-up)."""
    complaint = complaint_for(session, ticket, now=now)
    step = ComplaintStage(data["step"])
    expected = next_stage(complaint)
    if step is not expected:
        if step is ComplaintStage.closed:
            raise InvalidTransition("a complaint cannot close before its follow-up", code="complaint_not_followed_up",
                                    details={"stage": complaint.stage.value,
                                             "next": expected.value if expected else None})
        raise InvalidTransition(f"the next step of this complaint is {expected.value if expected else 'none'}",
                                code="complaint_out_of_order",
                                details={"stage": complaint.stage.value, "next": expected.value if expected else None})
    for name in REQUIRED.get(step, ()):
        if not (data.get(name) or "").strip():
            raise InvalidInput(f"{name} is required for the {step.value} step",
                               details=field_error(name, f"Required for the {step.value} step."))
    for name in ("cause", "responsible_department", "responsible_person", "remedy", "follow_up_result"):
        if data.get(name):
            setattr(complaint, name, data[name])
    complaint.stage = step
    complaint.steps.append(ComplaintStep(step=step.value, at=now, by_user_id=by_user_id, note=data["note"]))
    if step is ComplaintStage.closed:
        complaint.closed_at = now
        if ticket.status is TicketStatus.resolved:
            transition(ticket, TicketStatus.closed, at=now, by_user_id=by_user_id,
                       note=history.note("complaint_closed"))
    session.flush()
    return complaint


def hand_over(session: Session, ticket: Ticket, *, to_user_id, note: str, by_user, now: datetime) -> Complaint:
    """Hand the complaint (its ticket) to someone else, explicitly: only the
    accountable person or an admin may; the ticket's own handover records it
    on the ticket, and the complaint's steps record it too."""
    from server.tickets.service import eligible_owner
    from server.tickets.service import hand_over as hand_ticket_over

    complaint = complaint_for(session, ticket, now=now)
    if complaint.stage is ComplaintStage.closed:
        raise InvalidTransition("this complaint is closed", code="complaint_closed")
    if by_user.id != ticket.owner_id and by_user.role is not Role.admin:
        raise PermissionDenied("only the accountable person (or an admin) can hand this complaint over",
                               code="not_accountable")
    target = session.get(User, to_user_id)
    if not eligible_owner(target):  # the tickets' rule: the same people GET /tickets/handover-candidates lists
        raise InvalidInput("a complaint is handed over only to an active office user (admin or dispatcher)",
                           code="not_eligible_owner", details=field_error("to_user_id", "Not an active office user."))
    if target.id == ticket.owner_id:
        raise InvalidInput("this person is already accountable",
                           details=field_error("to_user_id", "Already accountable."))
    hand_ticket_over(session, ticket, to_username=target.username, reason=note, by_user_id=by_user.id, now=now)
    complaint.steps.append(ComplaintStep(step="handed_over", at=now, by_user_id=by_user.id, note=note,
                                         to_user_id=target.id))
    session.flush()
    return complaint


def check_ticket_may_close(session: Session, ticket: Ticket) -> None:
    """A complaint ticket closes only after its complaint was followed up."""
    if ticket.category is not Category.complaint:
        return
    complaint = session.get(Complaint, ticket.id)
    stage = complaint.stage if complaint else ComplaintStage.received
    if ORDER.index(stage) < ORDER.index(ComplaintStage.followed_up):
        raise InvalidTransition("a complaint cannot close before its follow-up", code="complaint_not_followed_up",
                                details={"stage": stage.value})
