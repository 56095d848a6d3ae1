"""Minimum app version (MIN_APP_VERSION): an older handheld app gets one clear
426 naming the minimum, at login and on every sync endpoint of both
protocols; a sync protocol newer than the server's is not told to update the
app; a revoked device's tokens say so."""

import pytest

from server.accounts.app_versions import parse_version
from server.accounts.models import Role, User
from server.extensions import db
from tests import factories as f
from tests.test_errors import assert_error

SYNC_CALLS = [
    ("post", "/api/v1/sync/push", {"json": {"protocol": 1, "ops": []}}),
    ("get", "/api/v1/sync/pull", {"query_string": {"protocol": 1}}),
    ("get", "/api/v1/sync/watermelon/pull", {}),
    ("post", "/api/v1/sync/watermelon/push", {"json": {"changes": {}}}),
]


def _login(client, username, headers=None, **body):
    return client.post("/api/v1/auth/token", json={"username": username, "password": f.PASSWORD, **body},
                       headers=headers or {})


@pytest.fixture
def minimum(app, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_APP_VERSION", "2.4")
    return "2.4"


def test_versions_compare_as_numbers():
    assert parse_version("2.10.0") > parse_version("2.9.9")
    assert parse_version("2.4") == parse_version("2.4.0") == parse_version("v2.4.0-beta+7")
    assert parse_version("") is None and parse_version("beta") is None and parse_version(None) is None


def test_an_older_app_cannot_log_in_and_is_told_the_minimum(client, minimum):
    tech = f.technician()
    username = db.session.get(User, tech.user_id).username
    for stated in ("2.3.9", "1", "unknown", None):
        body = {"device_id": "handheld-1"} | ({"app_version": stated} if stated else {})
        error = assert_error(_login(client, username, **body), 426, "app_update_required")
        assert error["details"]["minimum"] == "2.4" and "2.4" in error["message"]
    assert _login(client, username, device_id="handheld-1", app_version="2.4.0").status_code == 201
    assert _login(client, username, device_id="handheld-1", app_version="2.10").status_code == 201
    # The header states it as well as the body does.
    assert _login(client, username, {"X-App-Version": "3.0.1"}, device_id="handheld-1").status_code == 201
    # Office accounts log in from a browser, not the app: no version asked.
    assert _login(client, f.user(Role.dispatcher).username).status_code == 201


def test_an_older_app_cannot_sync_on_either_protocol(client, app, minimum):
    tech = f.technician()
    username = db.session.get(User, tech.user_id).username
    token = _login(client, username, device_id="handheld-1", app_version="2.4.1").get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for method, path, kwargs in SYNC_CALLS:
        for stated in (None, "2.3", "x"):
            headers = bearer | ({"X-App-Version": stated} if stated else {})
            error = assert_error(getattr(client, method)(path, headers=headers, **kwargs), 426, "app_update_required")
            assert error["details"] == {"minimum": "2.4", "received": stated}
        r = getattr(client, method)(path, headers=bearer | {"X-App-Version": "2.4.1"}, **kwargs)
        assert r.status_code == 200, (path, r.get_data(as_text=True))
    # No minimum set (the default): nothing is asked of the app.
    app.config["MIN_APP_VERSION"] = None
    for method, path, kwargs in SYNC_CALLS:
        assert getattr(client, method)(path, headers=bearer, **kwargs).status_code == 200


def test_a_newer_protocol_is_not_told_to_update_the_app(client):
    headers = f.login_as(client, f.technician())
    newer = assert_error(client.post("/api/v1/sync/push", json={"protocol": 2, "ops": []}, headers=headers),
                         400, "protocol_unsupported")
    assert "update the app" not in newer["message"] and newer["details"]["update"] == "server"
    newer_pull = assert_error(client.get("/api/v1/sync/pull?protocol=9", headers=headers), 400, "protocol_unsupported")
    assert "update the app" not in newer_pull["message"]
    older = assert_error(client.post("/api/v1/sync/push", json={"protocol": 0, "ops": []}, headers=headers),
                         400, "protocol_unsupported")
    assert "update the app" in older["message"] and older["details"]["update"] == "app"


def test_a_revoked_devices_tokens_answer_device_revoked(client):
    tech = f.technician()
    headers = f.login_as(client, tech, device_id="handheld-A")
    admin = f.login_as(client, f.user(Role.admin))
    device_id = client.get("/api/v1/auth/me", headers=headers).get_json()["device_id"]
    assert client.post(f"/api/v1/devices/{device_id}/revoke", headers=admin).status_code == 200
    assert_error(client.get("/api/v1/auth/me", headers=headers), 401, "device_revoked")
    assert_error(client.get("/api/v1/sync/pull?protocol=1", headers=headers), 401, "device_revoked")
