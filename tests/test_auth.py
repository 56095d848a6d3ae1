"""Logging in, tokens, devices: expiry, revocation, device binding, and what
is stored (hashes only)."""

import hashlib
from datetime import timedelta

from sqlalchemy import select

from server.accounts.models import AuthToken, Device, Role, User
from server.db import utcnow
from server.extensions import db
from tests import factories as f
from tests.test_errors import assert_error


def _token(client, username, password=f.PASSWORD, **extra):
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password, **extra})
    return r


def test_login_returns_an_expiring_bearer_token(app, client):
    account = f.user(Role.dispatcher)
    r = _token(client, account.username)
    assert r.status_code == 201
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["role"] == "dispatcher" and body["device_id"] is None
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).get_json()
    assert me["username"] == account.username


def test_wrong_password_and_unknown_user_look_the_same(client):
    account = f.user(Role.dispatcher)
    a = assert_error(_token(client, account.username, "wrong"), 401, "invalid_credentials")
    b = assert_error(_token(client, "nobody-here", "wrong"), 401, "invalid_credentials")
    assert a["message"] == b["message"]


def test_expired_token_is_refused(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    for token in db.session.scalars(select(AuthToken)):
        token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_error(client.get("/api/v1/auth/me", headers=headers), 401, "token_expired")


def test_logout_revokes_the_token(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers=headers), 401, "token_revoked")


def test_disabled_account_cannot_log_in(client):
    account = f.user(Role.dispatcher, active=False)
    assert_error(_token(client, account.username), 401, "invalid_credentials")


def test_technician_must_name_a_device(client):
    tech = f.technician()
    username = db.session.get(User, tech.user_id).username
    body = assert_error(_token(client, username), 422, "device_required")
    assert "device_id" in body["fields"]
    r = _token(client, username, device_id="handheld-7", app_version="2.3.1")
    assert r.status_code == 201 and r.get_json()["technician_id"] == str(tech.id)
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.get_json()['access_token']}"})
    assert me.get_json()["device_id"] == r.get_json()["device_id"]


def test_device_binding_and_admin_revocation(client):
    tech = f.technician()
    username = db.session.get(User, tech.user_id).username
    first = f.login_as(client, tech, device_id="handheld-A")
    again = f.login_as(client, tech, device_id="handheld-A")  # same device: same registration
    other = f.login_as(client, tech, device_id="handheld-B")
    devices = db.session.scalars(select(Device).where(Device.user_id == tech.user_id)).all()
    assert sorted(d.device_key for d in devices) == ["handheld-A", "handheld-B"]

    admin = f.login_as(client, f.user(Role.admin))
    listed = client.get(f"/api/v1/devices?username={username}", headers=admin).get_json()["items"]
    device_a = next(d for d in listed if d["device_key"] == "handheld-A")
    r = client.post(f"/api/v1/devices/{device_a['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.get_json()["revoked_at"]

    for headers in (first, again):
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.get("/api/v1/auth/me", headers=other).status_code == 200
    assert_error(_token(client, username, device_id="handheld-A"), 403, "device_revoked")
    revoked = client.get("/api/v1/devices?revoked=true", headers=admin).get_json()["items"]
    assert [d["device_key"] for d in revoked] == ["handheld-A"]


def test_passwords_are_argon2id_and_tokens_stored_only_hashed(client):
    admin = f.login_as(client, f.user(Role.admin))
    client.post("/api/v1/users", json={"username": "zhao.lei", "display_name": "赵磊", "role": "warehouse",
                                       "password": "a-long-enough-password"}, headers=admin)
    stored = db.session.scalar(select(User).where(User.username == "zhao.lei"))
    assert stored.password_hash.startswith("$argon2id$")
    assert "a-long-enough-password" not in stored.password_hash

    token = _token(client, "zhao.lei", "a-long-enough-password").get_json()["access_token"]
    rows = db.session.scalars(select(AuthToken).where(AuthToken.user_id == stored.id)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    for row in rows:
        assert token not in repr(vars(row).values())
