"""Tickets: open, list with their clocks, change status."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from schemas.tickets import (
    HandoverSchema,
    OwnerCandidatePageSchema,
    OwnerCandidateQuerySchema,
    TicketContactListSchema,
    TicketContactSchema,
    TicketCreateSchema,
    TicketDetailSchema,
    TicketPageSchema,
    TicketQuerySchema,
    TicketUpdateSchema,
    TransitionSchema,
)
from server.access import scope_tickets
from server.accounts.models import Role, User
from server.api.idempotency import idempotent
from server.api.lookup import like
from server.api.security import current_principal, requires
from server.customers.models import Asset
from server.db import utcnow
from server.exceptions import NotFound
from server.extensions import db
from server.pagination import paginate
from server.tickets import service
from server.tickets.clocks import ClockPolicy
from server.tickets.models import Ticket, TicketContact, TicketPart

blp = Blueprint("tickets", __name__, url_prefix="/api/v1/tickets", description="Tickets and their service clocks")

OFFICE = (Role.admin, Role.dispatcher)


def default_clocks() -> ClockPolicy:
    c = current_app.config
    return ClockPolicy(c["SLA_RESPONSE_HOURS"], c["SLA_ON_SITE_HOURS"], c["SLA_RESOLVE_HOURS"], "default")


def get_visible_ticket(ticket_id: uuid.UUID) -> Ticket:
    stmt = scope_tickets(select(Ticket).where(Ticket.id == ticket_id), current_principal())
    ticket = db.session.scalar(stmt)
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


@blp.route("")
class Tickets(MethodView):
    @requires(*OFFICE, Role.warehouse, Role.technician)
    @blp.arguments(TicketQuerySchema, location="query")
    @blp.response(200, TicketPageSchema)
    def get(self, args):
        """List tickets, soonest on-site deadline first."""
        stmt = scope_tickets(select(Ticket), current_principal()).options(
            selectinload(Ticket.customer), selectinload(Ticket.site),
            selectinload(Ticket.needed_parts).selectinload(TicketPart.part))
        if args.get("status"):
            stmt = stmt.where(Ticket.status.in_(args["status"]))
        for name in ("category", "complaint_class", "priority", "customer_id", "owner_id", "site_id", "asset_id"):
            if name in args:
                stmt = stmt.where(getattr(Ticket, name) == args[name])
        for name in ("serial_number", "product_line"):  # the asset's
            if name in args:
                stmt = stmt.where(Ticket.asset_id.in_(select(Asset.id).where(getattr(Asset, name) == args[name])))
        if args.get("overdue"):
            stmt = stmt.where(Ticket.on_site_at.is_(None), Ticket.on_site_due_at < utcnow(),
                              Ticket.status.in_(service.OPEN_STATUSES))
        if args.get("q"):
            pattern = like(args["q"])  # % and _ taken literally, as every other search does
            stmt = stmt.where(or_(Ticket.reference.ilike(pattern, escape="\\"),
                                  Ticket.summary.ilike(pattern, escape="\\")))
        return paginate(db.session, stmt, order_by=[Ticket.on_site_due_at, Ticket.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*OFFICE)
    @idempotent
    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketDetailSchema)
    def post(self, data):
        """Open a ticket from a customer's report; the caller owns it."""
        ticket = service.open_ticket(db.session, data, owner_id=current_principal().user_id,
                                     defaults=default_clocks(), now=utcnow())
        db.session.commit()
        return ticket


@blp.route("/<uuid:ticket_id>")
class TicketById(MethodView):
    @requires(*OFFICE, Role.warehouse, Role.technician)
    @blp.response(200, TicketDetailSchema)
    def get(self, ticket_id):
        """One ticket with its history."""
        return get_visible_ticket(ticket_id)

    @requires(*OFFICE)
    @blp.arguments(TicketUpdateSchema)
    @blp.response(200, TicketDetailSchema)
    def patch(self, data, ticket_id):
        """Change a ticket's priority or wording, or correct its site and asset while it is open (the customer
        follows the site; the technicians' devices follow on their next pull)."""
        ticket = get_visible_ticket(ticket_id)
        service.update_ticket(db.session, ticket, data)
        db.session.commit()
        return ticket


@blp.route("/<uuid:ticket_id>/transitions")
class TicketTransitions(MethodView):
    @requires(*OFFICE)
    @blp.arguments(TransitionSchema)
    @blp.response(200, TicketDetailSchema)
    def post(self, data, ticket_id):
        """Move a ticket to another status (the state machine decides what is allowed)."""
        ticket = get_visible_ticket(ticket_id)
        service.change_status(db.session, ticket, data["to"], by_user_id=current_principal().user_id,
                              note=data.get("note"), now=utcnow())
        db.session.commit()
        return ticket


@blp.route("/<uuid:ticket_id>/contacts")
class TicketContacts(MethodView):
    @requires(*OFFICE)
    @blp.response(200, TicketContactListSchema)
    def get(self, ticket_id):
        """The ticket's contact log (calls, visits, messages, notes), oldest first."""
        ticket = get_visible_ticket(ticket_id)
        return {"items": db.session.scalars(select(TicketContact).where(TicketContact.ticket_id == ticket.id)
                                            .order_by(TicketContact.at, TicketContact.id)).all()}

    @requires(*OFFICE)
    @blp.arguments(TicketContactSchema)
    @blp.response(201, TicketContactSchema)
    def post(self, data, ticket_id):
        """Log a contact with the customer (or an internal note): who, when, what."""
        ticket = get_visible_ticket(ticket_id)
        contact = service.add_contact(db.session, ticket, data, by_user_id=current_principal().user_id, now=utcnow())
        db.session.commit()
        return contact


@blp.route("/handover-candidates")
class HandoverCandidates(MethodView):
    @requires(*OFFICE)
    @blp.arguments(OwnerCandidateQuerySchema, location="query")
    @blp.response(200, OwnerCandidatePageSchema)
    def get(self, args):
        """Whom a ticket can be handed to: the active office users (admins and dispatchers), by name; `q` finds
        part of a username or name."""
        stmt = service.handover_candidates(like(args["q"]) if "q" in args else None)
        return paginate(db.session, stmt, order_by=[User.display_name, User.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/<uuid:ticket_id>/handover")
class TicketHandover(MethodView):
    @requires(*OFFICE)
    @blp.arguments(HandoverSchema)
    @blp.response(200, TicketDetailSchema)
    def post(self, data, ticket_id):
        """Hand the ticket over to another office user (首问负责制: explicit and recorded)."""
        ticket = get_visible_ticket(ticket_id)
        service.hand_over(db.session, ticket, to_username=data["to_username"], reason=data["reason"],
                          by_user_id=current_principal().user_id, now=utcnow())
        db.session.commit()
        return ticket
