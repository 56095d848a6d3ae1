"""The notification outbox for the office: what was sent to whom, each
delivery's attempts, redelivery; and the webhook endpoints (admin)."""

from __future__ import annotations

import secrets

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from schemas.base import PageArgsSchema
from schemas.notifications import (
    DeliverySchema,
    NotificationPageSchema,
    NotificationQuerySchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)
from server.accounts.models import Role
from server.api.security import requires
from server.db import utcnow
from server.extensions import db
from server.notifications import delivery as deliveries
from server.notifications.models import Delivery, DeliveryStatus, Notification, WebhookEndpoint
from server.pagination import paginate
from server.records import get_or_404, update_record

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="The notification outbox (email, signed webhooks) and webhook endpoints")

OFFICE = (Role.admin, Role.dispatcher)


@blp.route("")
class Notifications(MethodView):
    @requires(*OFFICE)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """Notifications, latest first, each with its deliveries and their attempts."""
        stmt = select(Notification).options(
            selectinload(Notification.deliveries).selectinload(Delivery.attempt_log),
            selectinload(Notification.deliveries).selectinload(Delivery.endpoint))
        if "kind" in args:
            stmt = stmt.where(Notification.kind == args["kind"])
        if "audience" in args:
            stmt = stmt.where(Notification.audience == args["audience"])
        if args.get("undelivered"):
            stmt = stmt.where(Notification.id.in_(select(Delivery.notification_id).where(
                Delivery.status != DeliveryStatus.delivered)))
        return paginate(db.session, stmt, order_by=[Notification.created_at, Notification.id], descending=True,
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/deliveries/<uuid:delivery_id>/redeliver")
class Redeliver(MethodView):
    @requires(*OFFICE)
    @blp.response(200, DeliverySchema)
    def post(self, delivery_id):
        """Send a delivery again (the worker picks it up at once); its earlier attempts stay in the log."""
        delivery = get_or_404(db.session, Delivery, delivery_id, "delivery")
        deliveries.redeliver(delivery, now=utcnow())
        db.session.commit()
        return delivery


@blp.route("/webhooks")
class Webhooks(MethodView):
    @requires(Role.admin)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, WebhookPageSchema)
    def get(self, args):
        """The webhook endpoints (their secrets are not shown again)."""
        return paginate(db.session, select(WebhookEndpoint), order_by=[WebhookEndpoint.created_at, WebhookEndpoint.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(Role.admin)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookCreatedSchema)
    def post(self, data):
        """Connect a receiver (an SMS or WeChat gateway, an ERP, a CRM). Every body it gets is signed:
        `X-FieldSync-Signature: sha256=<HMAC-SHA256 of the body with the secret>`."""
        data.setdefault("secret", secrets.token_urlsafe(32))
        endpoint = WebhookEndpoint(created_at=utcnow(), active=True, **data)
        db.session.add(endpoint)
        db.session.commit()
        return endpoint


@blp.route("/webhooks/<uuid:endpoint_id>")
class WebhookById(MethodView):
    @requires(Role.admin)
    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, data, endpoint_id):
        """Change an endpoint, or switch it off (`active: false`): nothing new is queued for it."""
        endpoint = get_or_404(db.session, WebhookEndpoint, endpoint_id, "webhook endpoint")
        update_record(endpoint, data)
        db.session.commit()
        return endpoint
