"""Opening tickets, moving them through their states, escalating breaches. Never commits."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import Role
from server.customers.models import Asset, Customer, ServiceContract, Site
from server.exceptions import InvalidInput, InvalidTransition, NotFound
from server.notifications import events
from server.stock.models import Part
from server.tickets import clocks, history
from server.tickets.models import (
    Category,
    Channel,
    ContactKind,
    Ticket,
    TicketContact,
    TicketEvent,
    TicketPart,
    TicketStatus,
)
from server.tickets.states import transition

RECEPTION_CLOCK_SKEW = timedelta(minutes=2)  # an office PC's clock a little ahead is not "the future"
CHANNEL_CONTACT = {Channel.phone: ContactKind.call, Channel.visit: ContactKind.visit,
                   Channel.letter: ContactKind.letter, Channel.email: ContactKind.email,
                   Channel.app: ContactKind.message}
OWNER_ROLES = (Role.admin, Role.dispatcher)  # who may own a ticket (首问负责制)
OPEN_STATUSES = (TicketStatus.new, TicketStatus.acknowledged, TicketStatus.dispatched, TicketStatus.on_site)


def new_reference(now: datetime) -> str:
    return f"FS-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _active_contract(session: Session, customer_id, on_day) -> ServiceContract | None:
    return session.scalars(
        select(ServiceContract)
        .where(ServiceContract.customer_id == customer_id, ServiceContract.starts_on <= on_day,
               or_(ServiceContract.ends_on.is_(None), ServiceContract.ends_on >= on_day))
        .order_by(ServiceContract.starts_on.desc())
    ).first()


def open_ticket(session: Session, data: dict, *, owner_id: uuid.UUID, defaults: clocks.ClockPolicy,
                now: datetime) -> Ticket:
    """Open a ticket from a customer's report; its owner is whoever took it."""
    customer = session.get(Customer, data["customer_id"])
    if customer is None:
        raise NotFound("no such customer", details={"fields": {"json": {"customer_id": ["Unknown customer."]}}})
    site = session.get(Site, data["site_id"])
    if site is None or site.customer_id != customer.id:
        raise InvalidInput("the site does not belong to this customer",
                           details={"fields": {"json": {"site_id": ["Not a site of this customer."]}}})
    asset = None
    if data.get("asset_id"):
        asset = session.get(Asset, data["asset_id"])
        if asset is None or asset.site_id != site.id:
            raise InvalidInput("the asset is not at this site",
                               details={"fields": {"json": {"asset_id": ["Not an asset at this site."]}}})
    category = Category(data["category"])
    if (category is Category.complaint) != bool(data.get("complaint_class")):
        raise InvalidInput("complaint_class is required for complaints and only for them",
                           details={"fields": {"json": {"complaint_class": ["Required for complaints only."]}}})

    received_at = data.get("received_at") or now
    if received_at > now + RECEPTION_CLOCK_SKEW:
        # The clocks start at the reception: one in the future would give the ticket time it never had.
        raise InvalidInput("the reception time cannot lie in the future", code="received_in_future",
                           details={"fields": {"json": {"received_at": ["Cannot lie in the future."]}}})
    contract = None
    if data.get("contract_id"):
        contract = session.get(ServiceContract, data["contract_id"])
        if contract is None or contract.customer_id != customer.id:
            raise InvalidInput("the contract is not this customer's",
                               details={"fields": {"json": {"contract_id": ["Not a contract of this customer."]}}})
    else:
        contract = _active_contract(session, customer.id, received_at.date())
    policy = clocks.policy_for(contract, defaults, received_at.date())
    due = clocks.due_times(received_at, policy)

    ticket = Ticket(
        id=data.get("id") or uuid.uuid4(),
        reference=new_reference(now),
        customer_id=customer.id, site_id=site.id, asset_id=asset.id if asset else None,
        contract_id=contract.id if contract and policy.source == "contract" else None,
        channel=data["channel"], category=category, complaint_class=data.get("complaint_class"),
        priority=data.get("priority", "normal"), summary=data["summary"], description=data.get("description"),
        owner_id=owner_id, status=TicketStatus.new, received_at=received_at, version=1,
        response_due_at=due.response_due_at, on_site_due_at=due.on_site_due_at, resolve_due_at=due.resolve_due_at,
    )
    for need in data.get("needed_parts", []):
        if session.get(Part, need["part_id"]) is None:
            raise InvalidInput("unknown part in needed_parts",
                               details={"fields": {"json": {"needed_parts": [f"Unknown part {need['part_id']}."]}}})
        ticket.needed_parts.append(TicketPart(part_id=need["part_id"], quantity=need.get("quantity", 1)))
    ticket.events.append(TicketEvent(kind="transition", from_status=None, to_status=TicketStatus.new.value,
                                     at=now, by_user_id=owner_id, **history.columns(history.note("opened"))))
    session.add(ticket)
    contact = data.get("contact")
    if contact:  # the report itself is the first entry of the contact log
        session.add(TicketContact(ticket_id=ticket.id, kind=CHANNEL_CONTACT.get(ticket.channel, ContactKind.call),
                                  inbound=True, person=contact.get("person"), phone=contact.get("phone"),
                                  note=contact.get("note") or data["summary"], at=received_at, by_user_id=owner_id))
    events.ticket_opened(session, ticket, now=now)
    return ticket


def add_contact(session: Session, ticket: Ticket, data: dict, *, by_user_id, now: datetime) -> TicketContact:
    """One entry of the ticket's contact log (a call, visit, message, or an internal note)."""
    at = data.get("at") or now
    if at > now + RECEPTION_CLOCK_SKEW:
        raise InvalidInput("a contact cannot lie in the future", code="contact_in_future",
                           details={"fields": {"json": {"at": ["Cannot lie in the future."]}}})
    contact = TicketContact(ticket_id=ticket.id, kind=ContactKind(data["kind"]), inbound=data.get("inbound", True),
                            person=data.get("person"), phone=data.get("phone"), note=data["note"], at=at,
                            by_user_id=by_user_id)
    session.add(contact)
    session.flush()
    return contact


def eligible_owner(user) -> bool:
    """The one hand-over rule (首问负责制): a ticket, a complaint included, is owned only by an active office
    user (admin or dispatcher). :func:`handover_candidates` lists the same people."""
    return user is not None and bool(user.active) and user.role in OWNER_ROLES


def handover_candidates(pattern: str | None = None):
    """Whom a ticket can be handed to: the active office users (customer
    service works as dispatchers; admins too), those whose username or name
    matches the LIKE ``pattern`` (escaped with a backslash) when given. A
    statement for the one pagination scheme."""
    from server.accounts.models import User

    stmt = select(User).where(User.active.is_(True), User.role.in_(OWNER_ROLES))
    if pattern is not None:
        stmt = stmt.where(or_(User.username.ilike(pattern, escape="\\"),
                              User.display_name.ilike(pattern, escape="\\")))
    return stmt


def hand_over(session: Session, ticket: Ticket, *, to_username: str, reason: str, by_user_id, now: datetime):
    """首问负责制: the owner stays until an explicit, recorded hand-over to another office user."""
    from server.accounts.models import User

    target = session.scalar(select(User).where(User.username == to_username))
    if target is None:
        raise InvalidInput("no such user", code="unknown_user",
                           details={"fields": {"json": {"to_username": ["Unknown user."]}}})
    if not eligible_owner(target):
        raise InvalidInput("a ticket is handed over only to an active office user (admin or dispatcher)",
                           code="not_eligible_owner",
                           details={"fields": {"json": {"to_username": ["Inactive or not office staff."]}}})
    if target.id == ticket.owner_id:
        raise InvalidInput("this user owns the ticket already", code="already_owner",
                           details={"fields": {"json": {"to_username": ["Already the owner."]}}})
    if ticket.status in (TicketStatus.closed, TicketStatus.cancelled):
        raise InvalidTransition(f"a {ticket.status.value} ticket is not handed over",
                                details={"status": ticket.status.value})
    former = session.get(User, ticket.owner_id)
    ticket.owner_id = target.id
    ticket.version += 1
    ticket.events.append(TicketEvent(kind="handover", at=now, by_user_id=by_user_id, **history.columns(
        history.note("handover", former=former.display_name if former else None, to=target.display_name,
                     reason=reason))))
    session.flush()
    return ticket


def update_ticket(session: Session, ticket: Ticket, data: dict) -> Ticket:
    """Change a ticket's priority or wording, or correct where the fault is:
    its site and asset (the customer follows the site). Only while the ticket
    is open. The technicians of its jobs get the new site, asset and customer
    on their next pull, and lose the old ones their other jobs do not need
    (``sync.scope``). Due times stay as given; a contract of another
    customer is dropped."""
    place = {k: data.pop(k) for k in ("site_id", "asset_id") if k in data}
    if place:
        if ticket.status not in OPEN_STATUSES:
            raise InvalidTransition(f"a {ticket.status.value} ticket's site or asset cannot change",
                                    details={"status": ticket.status.value})
        site = ticket.site
        if "site_id" in place:
            site = session.get(Site, place["site_id"])
            if site is None:
                raise InvalidInput("no such site", details={"fields": {"json": {"site_id": ["Unknown site."]}}})
        asset_id = place.get("asset_id", ticket.asset_id)
        if asset_id is not None:
            asset = session.get(Asset, asset_id)
            if asset is None or asset.site_id != site.id:
                field = "asset_id" if "asset_id" in place else "site_id"
                raise InvalidInput("the asset is not at this site",
                                   details={"fields": {"json": {field: ["The ticket's asset is not at this site: "
                                                                        "give asset_id (or null) too."
                                                                        if field == "site_id" else
                                                                        "Not an asset at this site."]}}})
        if site.customer_id != ticket.customer_id and ticket.contract_id is not None:
            ticket.contract_id = None
        ticket.site_id, ticket.customer_id, ticket.asset_id = site.id, site.customer_id, asset_id
    for name, value in data.items():
        setattr(ticket, name, value)
    if data or place:
        ticket.version += 1
    session.flush()
    return ticket


def change_status(session: Session, ticket: Ticket, target: TicketStatus, *, by_user_id, note, now) -> Ticket:
    """Move a ticket along its state machine. Cancelling it cancels its open
    jobs too, so their reserved stock goes back and their devices learn it."""
    if target is TicketStatus.closed:
        from server.quality.complaints import check_ticket_may_close

        check_ticket_may_close(session, ticket)
    before = ticket.status.value
    transition(ticket, target, at=now, by_user_id=by_user_id, note=note)
    events.ticket_status_changed(session, ticket, before, now=now)
    if target is TicketStatus.cancelled:
        from server.jobs.service import TICKET_CANCELLED, cancel_open_jobs

        cancel_open_jobs(session, ticket.id, reason=note or TICKET_CANCELLED, now=now, by_user_id=by_user_id)
    return ticket


def escalate_breaches(session: Session, *, now: datetime) -> list[Ticket]:
    """Raise the escalation level of every open ticket that has missed one
    more clock than it was escalated for. Returns the tickets escalated."""
    candidates = session.scalars(
        select(Ticket).where(
            Ticket.status.in_(OPEN_STATUSES),
            or_(
                and_(Ticket.responded_at.is_(None), Ticket.response_due_at < now),
                and_(Ticket.on_site_at.is_(None), Ticket.on_site_due_at < now),
                Ticket.resolve_due_at < now,
            ),
        )
    ).all()
    escalated = []
    for ticket in candidates:
        missed = clocks.breached_clocks(ticket, now)
        if len(missed) > ticket.escalation_level:
            ticket.escalation_level = len(missed)
            ticket.version += 1
            ticket.events.append(TicketEvent(kind="escalation", at=now,
                                             **history.columns(history.note("escalation", clocks=missed))))
            events.clock_breached(session, ticket, missed, now=now)
            escalated.append(ticket)
    return escalated
