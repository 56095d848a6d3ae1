"""Health, the OpenAPI document and the interactive docs (no CDN)."""

import re

from openapi_spec_validator import validate


def test_healthz_checks_the_database(client, backend):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": backend, "media_queue": {"pending": 0, "oldest_seconds": None}}
    assert r.headers["X-Request-ID"]


def test_openapi_document_is_valid_openapi_3(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert all(p.startswith("/api/v1/") or p == "/healthz" for p in spec["paths"])
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue  # path-level parameters
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            public = (path, method) in {("/api/v1/auth/token", "post"), ("/healthz", "get")}
            if path.startswith("/api/v1/signing/"):
                assert op.get("security") == [{"signingToken": []}], f"{method.upper()} {path}"
            elif path.startswith("/api/v1/") and not public:
                assert op.get("security") == [{"bearerAuth": []}], f"{method.upper()} {path}"
                assert "401" in op["responses"] and "403" in op["responses"]


def test_docs_are_served_from_local_assets(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "swagger-ui" in html
    assert not re.search(r"(src|href)\s*=\s*\"(https?:)?//", html), "the docs page must not load from a CDN"
    for asset in re.findall(r"(?:src|href)=\"([^\"]+)\"", html):
        assert asset.startswith("/api/v1/docs/assets/")
        assert client.get(asset).status_code == 200, asset


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    from server import create_app
    from tests.conftest import make_test_config

    # Nothing listens on port 1: the database is down.
    app = create_app(make_test_config("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2", tmp_path))
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "database_unavailable"
