"""Every error status comes in the one JSON format, with a stable code."""

import pytest

from server import create_app
from server.accounts.models import Role
from tests import factories as f
from tests.conftest import make_test_config


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()["error"]
    assert body["status"] == status
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


@pytest.fixture
def dispatcher_headers(client):
    return f.login_as(client, f.user(Role.dispatcher))


def test_400_malformed_json(client, dispatcher_headers):
    response = client.post("/api/v1/tickets", data="{not json", headers=dispatcher_headers,
                           content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_401_without_token(client):
    body = assert_error(client.get("/api/v1/tickets"), 401, "missing_token")
    assert "Bearer" in client.get("/api/v1/tickets").headers["WWW-Authenticate"]
    assert body["message"]


def test_401_with_unknown_token(client):
    assert_error(client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"}), 401, "invalid_token")


def test_403_wrong_role(client):
    headers = f.login_as(client, f.user(Role.warehouse))
    assert_error(client.post("/api/v1/tickets", json={}, headers=headers), 403, "role_forbidden")


def test_404_unknown_route_and_record(client, dispatcher_headers):
    assert_error(client.get("/api/v1/nowhere"), 404, "not_found")
    assert_error(client.get("/api/v1/tickets/6f1c1b8e-1111-4f7a-9a51-2f0ac3c2ad10", headers=dispatcher_headers),
                 404, "not_found")


def test_405_wrong_method(client):
    response = client.put("/api/v1/auth/token", json={})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_409_invalid_transition(client, dispatcher_headers):
    ticket = f.ticket()
    response = client.post(f"/api/v1/tickets/{ticket.id}/transitions", json={"to": "closed"},
                           headers=dispatcher_headers)
    body = assert_error(response, 409, "invalid_transition")
    assert "acknowledged" in body["details"]["allowed"]


def test_412_stale_if_match(client, dispatcher_headers):
    job = f.job()
    response = client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "high"},
                            headers={**dispatcher_headers, "If-Match": '"99"'})
    body = assert_error(response, 412, "precondition_failed")
    assert body["details"]["current_version"] == 1


def test_413_oversized_body(app, client, dispatcher_headers):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post("/api/v1/tickets", data="x" * 4096, headers=dispatcher_headers,
                               content_type="application/json")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    assert_error(response, 413, "payload_too_large")


def test_415_wrong_content_type(client, dispatcher_headers):
    response = client.post("/api/v1/tickets", data="summary=x", headers=dispatcher_headers,
                           content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_422_unknown_and_missing_fields(client, dispatcher_headers):
    response = client.post("/api/v1/tickets", json={"summary": "x", "colour": "red"}, headers=dispatcher_headers)
    body = assert_error(response, 422, "validation_error")
    assert "colour" in body["fields"]["json"]
    assert "customer_id" in body["fields"]["json"]


def test_422_bad_query_argument(client, dispatcher_headers):
    body = assert_error(client.get("/api/v1/tickets?limit=0", headers=dispatcher_headers), 422, "validation_error")
    assert "limit" in body["fields"]["query"]


def test_429_after_repeated_failed_logins(app, client):
    account = f.user(Role.dispatcher)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/api/v1/auth/token", json={"username": account.username,
                                                        "password": "wrong"}).status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": account.username, "password": f.PASSWORD})
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_500_is_in_the_same_format(app, tmp_path):
    fresh = create_app(make_test_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path))

    @fresh.get("/api/v1/_boom")
    def boom():
        raise RuntimeError("kaput")

    body = assert_error(fresh.test_client().get("/api/v1/_boom"), 500, "internal_error")
    assert "kaput" not in body["message"]


def test_request_id_is_echoed_when_sane(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["X-Request-ID"]
    assert generated != "bad id!" and len(generated) == 32


def test_the_request_id_appears_in_the_structured_log(client):
    import io
    import json
    import logging

    from server.request_log import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("fieldsync.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the suite runs at WARNING
    try:
        response = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["request_id"] == response.headers["X-Request-ID"] == "trace-42"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
