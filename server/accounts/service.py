"""Logging in, bearer tokens, devices. Plain functions over a session; never commit."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from server.accounts.app_versions import check_app_version
from server.accounts.models import AuthToken, Device, LoginFailure, Role, User
from server.accounts.passwords import dummy_hash, verify_password
from server.bulk import CompiledQuery
from server.exceptions import AuthenticationFailed, InvalidInput, PermissionDenied, RateLimited


@dataclass(frozen=True)
class Principal:
    """Who is calling: what every permission check looks at."""

    user_id: uuid.UUID
    username: str
    role: Role
    token_id: uuid.UUID
    device_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    # The technician's van (stock their part usages come from), read with the token.
    van_location_id: uuid.UUID | None = None

    @property
    def is_technician(self) -> bool:
        return self.role is Role.technician


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User
    device: Device | None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_rate_limit(session: Session, username: str, remote_addr: str | None, *, now: datetime, max_failures: int,
                     max_failures_per_address: int, window_seconds: int) -> None:
    """Refuse a login after too many recent failures for this username (guessing
    one account's password) or from this address (spraying many accounts)."""
    since = now - timedelta(seconds=window_seconds)
    checks = [(LoginFailure.username == username, max_failures, "for this user")]
    if remote_addr:
        checks.append((LoginFailure.remote_addr == remote_addr, max_failures_per_address, "from this address"))
    for condition, limit, whose in checks:
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(condition, LoginFailure.at > since)).one()
        if count >= limit:
            retry_after = max(1, int((oldest + timedelta(seconds=window_seconds) - now).total_seconds()) + 1)
            raise RateLimited(f"too many failed logins {whose}; try again later", retry_after=retry_after)


def login(
    session: Session,
    *,
    username: str,
    password: str,
    device_key: str | None,
    app_version: str | None,
    min_app_version: str | None = None,
    remote_addr: str | None,
    now: datetime,
    ttl_seconds: int,
    max_failures: int,
    max_failures_per_address: int,
    window_seconds: int,
) -> IssuedToken:
    """Check the credentials and issue a token. A technician must name the
    device; the device is registered on first use and refused once revoked,
    and its app must be at least ``min_app_version`` (when one is set)."""
    check_rate_limit(session, username, remote_addr, now=now, max_failures=max_failures,
                     max_failures_per_address=max_failures_per_address, window_seconds=window_seconds)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else dummy_hash(), password) and user is not None
    if not ok or not user.active:
        session.add(LoginFailure(username=username, remote_addr=remote_addr, at=now))
        raise AuthenticationFailed("wrong username or password", code="invalid_credentials")
    # Only this username's failures: clearing the address's would let one valid account reset a spray.
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))

    device = None
    if user.role is Role.technician:
        if not device_key:
            raise InvalidInput("a technician logs in from a handheld: device_id is required",
                               code="device_required", details={"fields": {"device_id": ["Required for technicians."]}})
        device = session.scalar(select(Device).where(Device.user_id == user.id, Device.device_key == device_key))
        if device is None:
            device = Device(user_id=user.id, device_key=device_key, registered_at=now)
            session.add(device)
        elif device.revoked_at is not None:
            raise PermissionDenied("this device has been revoked by an administrator", code="device_revoked")
        check_app_version(app_version, min_app_version)
        device.last_seen_at = now
        device.app_version = app_version or device.app_version
        session.flush()

    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(AuthToken(token_hash=token_digest(token), user_id=user.id,
                          device_id=device.id if device else None, created_at=now, expires_at=expires_at))
    return IssuedToken(token=token, expires_at=expires_at, user=user, device=device)


def _token_principal(_dialect):
    from server.technicians.models import Technician

    return (select(AuthToken.id, AuthToken.revoked_at, AuthToken.expires_at, User.id, User.username, User.role,
                   User.active, Device.id, Device.revoked_at, Technician.id, Technician.van_location_id)
            .join(User, AuthToken.user_id == User.id)
            .outerjoin(Device, AuthToken.device_id == Device.id)
            .outerjoin(Technician, Technician.user_id == User.id)
            .where(AuthToken.token_hash == bindparam("digest")))


_TOKEN_PRINCIPAL = CompiledQuery(_token_principal)


def resolve_token(session: Session, token: str, *, now: datetime) -> Principal:
    """The principal behind a bearer token, or :class:`AuthenticationFailed`."""
    # One round trip, a statement compiled once: every authenticated request
    # (each sync push and pull) pays for it. Plain columns: nothing to track.
    rows = _TOKEN_PRINCIPAL.rows(session.connection(), digest=token_digest(token))
    row = rows[0] if rows else None
    if row is None:
        raise AuthenticationFailed("unknown token", code="invalid_token")
    (token_id, token_revoked_at, expires_at, user_id, username, role, active, device_id, device_revoked_at,
     profile_id, van_location_id) = row
    # Revoking a device revokes its tokens too: name the cause the client can act on.
    if device_id is not None and device_revoked_at is not None:
        raise AuthenticationFailed("this device has been revoked", code="device_revoked")
    if token_revoked_at is not None:
        raise AuthenticationFailed("this token has been revoked", code="token_revoked")
    if expires_at <= now:
        raise AuthenticationFailed("this token has expired", code="token_expired")
    if not active:
        raise AuthenticationFailed("this account is disabled", code="account_disabled")
    is_technician = role is Role.technician
    return Principal(user_id=user_id, username=username, role=role, token_id=token_id, device_id=device_id,
                     technician_id=profile_id if is_technician else None,
                     van_location_id=van_location_id if is_technician else None)


def revoke_token(session: Session, token_id: uuid.UUID, *, now: datetime) -> None:
    token = session.get(AuthToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = now


def revoke_device(session: Session, device_id: uuid.UUID, *, now: datetime) -> Device:
    from server.exceptions import NotFound

    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("no such device")
    if device.revoked_at is None:
        device.revoked_at = now
        for token in session.scalars(select(AuthToken).where(AuthToken.device_id == device.id,
                                                             AuthToken.revoked_at.is_(None))):
            token.revoked_at = now
        end_signing_links(session, device.user_id, now=now)
    return device


def end_signing_links(session: Session, user_id: uuid.UUID, *, now: datetime) -> None:
    """Expire the unused signing links this user made. The customer signs on
    the technician's handheld, so a revoked handheld (or a disabled account)
    must not keep a way to sign in the customer's name. Links do not record
    the device that made them: every one of the user's links ends."""
    from sqlalchemy import update

    from media.models import SigningLink

    session.execute(update(SigningLink).where(SigningLink.created_by_id == user_id, SigningLink.used_at.is_(None),
                                              SigningLink.expires_at > now).values(expires_at=now))
