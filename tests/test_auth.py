"""Logging in, tokens, devices: expiry, revocation, device binding, and what
is stored (hashes only)."""

import hashlib
from datetime import timedelta

from sqlalchemy import select

from server.accounts.models import AuthToken, Device, LoginFailure, Role, User
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


def _login_from(client, address, username, password="wrong", headers=None):  # noqa: S107  (a wrong guess)
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def test_one_address_spraying_many_usernames_is_rate_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 4)
    accounts = [f.user(Role.dispatcher) for _ in range(5)]
    # One wrong guess per account: no username reaches its own limit, the address does.
    for account in accounts[:4]:
        assert _login_from(client, "203.0.113.7", account.username).status_code == 401
    refused = _login_from(client, "203.0.113.7", accounts[4].username, f.PASSWORD)
    assert_error(refused, 429, "rate_limited")
    assert "address" in refused.get_json()["error"]["message"]
    assert int(refused.headers["Retry-After"]) > 0
    # Another address is not held back, and the right password there works.
    assert _login_from(client, "198.51.100.2", accounts[4].username, f.PASSWORD).status_code == 201
    # A success elsewhere does not wipe the sprayer's record.
    assert _login_from(client, "203.0.113.7", accounts[0].username, f.PASSWORD).status_code == 429


def test_forwarded_for_counts_only_behind_a_trusted_proxy(app, tmp_path):
    from server import create_app
    from tests.conftest import make_test_config

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    username = f.user(Role.dispatcher).username
    db.session.rollback()  # end this session's transaction: on SQLite it would hold the write lock
    direct = create_app(make_test_config(url, tmp_path / "direct"))
    # No proxy configured: a client naming its own address in X-Forwarded-For changes nothing.
    _login_from(direct.test_client(), "192.0.2.1", username, headers={"X-Forwarded-For": "203.0.113.9"})
    behind_proxy = create_app({**make_test_config(url, tmp_path / "proxied"), "TRUSTED_PROXY_HOPS": 1})
    _login_from(behind_proxy.test_client(), "192.0.2.1", username,
                headers={"X-Forwarded-For": "203.0.113.50"})
    addresses = [row.remote_addr for row in db.session.scalars(select(LoginFailure).order_by(LoginFailure.id))]
    assert addresses == ["192.0.2.1", "203.0.113.50"]
