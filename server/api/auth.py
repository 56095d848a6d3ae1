"""Tokens and devices."""

from __future__ import annotations

import uuid

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from schemas.accounts import (
    DevicePageSchema,
    DeviceQuerySchema,
    DeviceSchema,
    MeSchema,
    TokenRequestSchema,
    TokenSchema,
)
from server.accounts import service
from server.accounts.app_versions import APP_VERSION_HEADER, APP_VERSION_PARAMETER
from server.accounts.models import Device, Role, User
from server.api.security import current_principal, requires
from server.db import utcnow
from server.exceptions import AuthenticationFailed
from server.extensions import db
from server.pagination import paginate

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication and devices")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="Wrong credentials.")
    @blp.alt_response(429, description="Too many failed logins.")
    @blp.alt_response(426, description="A handheld app older than the server's minimum version "
                      "(`app_update_required`; `details.minimum` names it).")
    @blp.doc(parameters=[APP_VERSION_PARAMETER])
    def post(self, payload):
        """Log in: trade a username and password for a bearer token."""
        config = current_app.config
        try:
            issued = service.login(
                db.session,
                username=payload["username"],
                password=payload["password"],
                device_key=payload.get("device_id"),
                app_version=payload.get("app_version") or request.headers.get(APP_VERSION_HEADER),
                min_app_version=config["MIN_APP_VERSION"],
                remote_addr=request.remote_addr,
                now=utcnow(),
                ttl_seconds=config["TOKEN_TTL_SECONDS"],
                max_failures=config["LOGIN_MAX_FAILURES"],
                max_failures_per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                window_seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"],
            )
        except AuthenticationFailed:
            db.session.commit()  # the failure itself must be kept, for the rate limit
            raise
        db.session.commit()
        technician = issued.user.technician
        return {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at,
            "role": issued.user.role.value,
            "user_id": issued.user.id,
            "technician_id": technician.id if technician else None,
            "device_id": issued.device.id if issued.device else None,
        }

    @requires()
    @blp.response(204)
    def delete(self):
        """Log out: revoke the token this request carries."""
        service.revoke_token(db.session, current_principal().token_id, now=utcnow())
        db.session.commit()


@blp.route("/auth/me")
class Me(MethodView):
    @requires()
    @blp.response(200, MeSchema)
    def get(self):
        """Who this token belongs to."""
        p = current_principal()
        return {"user_id": p.user_id, "username": p.username, "role": p.role.value,
                "technician_id": p.technician_id, "device_id": p.device_id}


@blp.route("/devices")
class Devices(MethodView):
    @requires(Role.admin)
    @blp.arguments(DeviceQuerySchema, location="query")
    @blp.response(200, DevicePageSchema)
    def get(self, args):
        """List registered handhelds."""
        stmt = select(Device).join(User, Device.user_id == User.id)
        if "username" in args:
            stmt = stmt.where(User.username == args["username"])
        if "revoked" in args:
            stmt = stmt.where(Device.revoked_at.is_not(None) if args["revoked"] else Device.revoked_at.is_(None))
        return paginate(db.session, stmt, order_by=[Device.registered_at, Device.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/devices/<uuid:device_id>/revoke")
class RevokeDevice(MethodView):
    @requires(Role.admin)
    @blp.response(200, DeviceSchema)
    def post(self, device_id: uuid.UUID):
        """Revoke a handheld: its tokens stop working and it cannot log in again."""
        device = service.revoke_device(db.session, device_id, now=utcnow())
        db.session.commit()
        return device
