"""User accounts: created, disabled and reset by administrators."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from schemas.users import (
    PasswordResetSchema,
    UserCreateSchema,
    UserPageSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from server.accounts import users
from server.accounts.models import Role, User
from server.api.lookup import like, visible_or_404
from server.api.security import current_principal, requires
from server.db import utcnow
from server.extensions import db
from server.pagination import paginate

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="User accounts (admin)")


@blp.route("")
class Users(MethodView):
    @requires(Role.admin)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List user accounts by username."""
        stmt = select(User).options(selectinload(User.technician))
        if "role" in args:
            stmt = stmt.where(User.role == args["role"])
        if "active" in args:
            stmt = stmt.where(User.active.is_(args["active"]))
        if "q" in args:
            pattern = like(args["q"])
            stmt = stmt.where(or_(User.username.ilike(pattern, escape="\\"),
                                  User.display_name.ilike(pattern, escape="\\")))
        return paginate(db.session, stmt, order_by=[User.username, User.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(Role.admin)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create an account with a role (the password is stored only as an Argon2id hash)."""
        user = users.create_user(db.session, data)
        db.session.commit()
        return user


@blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @requires(Role.admin)
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One account."""
        return visible_or_404(User, user_id, None, "user")

    @requires(Role.admin)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        """Rename, change role, disable (revokes every token) or re-enable an account."""
        user = visible_or_404(User, user_id, None, "user")
        users.update_user(db.session, user, data, acting_user_id=current_principal().user_id, now=utcnow())
        db.session.commit()
        return user


@blp.route("/<uuid:user_id>/password")
class UserPassword(MethodView):
    @requires(Role.admin)
    @blp.arguments(PasswordResetSchema)
    @blp.response(204)
    def put(self, data, user_id):
        """Reset a password; every token the account holds is revoked."""
        user = visible_or_404(User, user_id, None, "user")
        users.reset_password(db.session, user, data["password"], now=utcnow())
        db.session.commit()
