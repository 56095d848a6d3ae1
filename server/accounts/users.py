"""Administering user accounts. Plain functions over a session; never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.accounts.models import AuthToken, Role, User
from server.accounts.passwords import hash_password
from server.exceptions import Conflict
from server.records import ensure_unique, field_error, flush_or_conflict, update_record
from server.technicians.models import Technician


def create_user(session: Session, data: dict, *, kdf_profile: str = "default") -> User:
    ensure_unique(session, User.username, data["username"], field="username")
    user = User(username=data["username"], display_name=data["display_name"], role=data["role"],
                password_hash=hash_password(data["password"], kdf_profile), active=True)
    session.add(user)
    flush_or_conflict(session, "the user could not be saved")
    return user


def revoke_all_tokens(session: Session, user: User, *, now: datetime) -> None:
    """End every session of the account: its tokens and its unused signing links."""
    from server.accounts.service import end_signing_links

    session.execute(update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    end_signing_links(session, user.id, now=now)


def update_user(session: Session, user: User, data: dict, *, acting_user_id, now: datetime) -> User:
    """Rename, change role, disable or re-enable. Disabling revokes every token;
    an admin cannot disable or demote themself (someone must stay admin)."""
    if user.id == acting_user_id and (data.get("active") is False or data.get("role", Role.admin) is not Role.admin):
        raise Conflict("you cannot disable or demote your own account", code="self_lockout")
    new_role = data.get("role", user.role)
    if new_role is not user.role:
        has_profile = session.scalar(select(Technician.id).where(Technician.user_id == user.id)) is not None
        if has_profile:
            raise Conflict("this account has a technician profile; it stays a technician",
                           code="role_locked", details=field_error("role", "The account has a technician profile."))
        revoke_all_tokens(session, user, now=now)  # a token carries the role it was issued for
    if data.get("active") is False and user.active:
        revoke_all_tokens(session, user, now=now)
    update_record(user, data)
    return user


def reset_password(session: Session, user: User, password: str, *, now: datetime) -> User:
    """Set a new password and end every session the old one opened."""
    user.password_hash = hash_password(password)
    user.updated_at = now
    revoke_all_tokens(session, user, now=now)
    return user
