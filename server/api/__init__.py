"""The HTTP layer: flask-smorest, the error format, request checks and every blueprint."""

from __future__ import annotations

import orjson
import swagger_ui_bundle
from flask import Flask, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from schemas.base import ErrorSchema
from server.api import errors
from server.api.errors import ApiError
from server.extensions import api


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with request bodies parsed by orjson first (several
    times faster on a 500-operation sync push). Whatever orjson refuses
    (NaN, integers past 64 bits, non-UTF-8 encodings, malformed text) goes to
    the json module as before, so what is accepted and how it parses is
    unchanged."""

    def loads(self, s, **kwargs):
        if not kwargs:
            try:
                return orjson.loads(s)
            except orjson.JSONDecodeError:
                pass
        return super().loads(s, **kwargs)


def register_api(app: Flask) -> None:
    app.json = _JSONProvider(app)
    # UTF-8 on the wire: 上海 travels as three bytes a character, not as \u4e0a escapes.
    app.json.ensure_ascii = False
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app, spec_kwargs={
        "info": {"description": "FieldSync: offline-first sync, dispatch and parts for field service."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # Customers sign through a link whose token travels in a header, not a bearer token.
    api.spec.components.security_scheme("signingToken", {"type": "apiKey", "in": "header",
                                                         "name": "X-Signing-Token"})
    if "Error" not in api.spec.components.responses:
        api.spec.components.response("Error", {
            "description": "The one error body, for every error status.",
            "content": {"application/json": {"schema": ErrorSchema}},
        })
    errors.init_app(app)
    _refuse_unknown_query_arguments()
    _refuse_query_strings_nobody_reads(app)
    _refuse_nul_in_path_arguments(app)
    _require_json_bodies(app)
    _serve_docs_assets(app)

    from server.api import (
        auth,
        blobs,
        catalogue,
        customers,
        dispatch,
        health,
        jobs,
        notifications,
        photos,
        proactive,
        quality,
        reports,
        signatures,
        signing,
        statistics,
        stock,
        sync,
        technicians,
        tickets,
        uploads,
        users,
    )

    for module in (auth, health, tickets, jobs, customers, technicians, catalogue, users, sync, dispatch,
                   stock, uploads, blobs, photos, signatures, signing, reports, quality, notifications, proactive,
                   statistics):
        api.register_blueprint(module.blp)
    _document_optional_bodies()
    sync.document_operations(api.spec)




def _refuse_unknown_query_arguments() -> None:
    """Query strings follow the schema's policy too (BaseSchema: refuse unknown
    names), so ``?stauts=new`` is a 422 rather than a silently unfiltered list.
    Headers and cookies keep webargs' default (other names are ignored)."""
    from flask_smorest import Blueprint

    parser = Blueprint.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}
    _parse_json_bodies_once(parser)


def _parse_json_bodies_once(parser) -> None:
    """webargs reads a JSON body with the json module, a second time after
    ``check_body`` (below) parsed it with Flask's (orjson first, the json
    module for whatever orjson refuses: the same values). It takes Flask's
    parse, kept on the request; a body Flask could not parse (or ``null``)
    goes to webargs' own reading as before, errors included. A 500-operation
    sync push is parsed once instead of twice (~2 ms)."""
    from webargs.flaskparser import is_json_request

    webargs_json = parser._raw_load_json

    def raw_load_json(req):
        if is_json_request(req):
            body = req.get_json(silent=True)
            if body is not None:
                return body
        return webargs_json(req)

    parser._raw_load_json = raw_load_json


def _refuse_query_strings_nobody_reads(app: Flask) -> None:
    """A view that declares no query arguments gets none: ``/auth/me?x=1`` is a
    422, like an unknown name on a view that does declare some (webargs checks
    those). Names a view documents by hand (``@blp.doc(parameters=...)``) pass."""

    @app.before_request
    def check_query():
        if not request.args or not request.path.startswith("/api/"):
            return
        apidoc = _operation_doc(app)
        if apidoc is None:
            return  # not an API operation (docs, assets)
        if any(p.get("in") == "query" for p in apidoc.get("arguments", {}).get("parameters", [])):
            return
        documented = {p["name"] for p in apidoc.get("manual_doc", {}).get("parameters", []) if p.get("in") == "query"}
        unknown = sorted(set(request.args) - documented)
        if unknown:
            raise ApiError(422, "The request is invalid; see fields.", code="validation_error",
                           fields={"query": {name: ["Unknown field."] for name in unknown}})


def _refuse_nul_in_path_arguments(app: Flask) -> None:
    """A NUL character in a path argument (``/stock/serials/%00/history``) is
    bad input, as in bodies and query strings: PostgreSQL cannot compare text
    holding one, and would answer a 500."""

    @app.before_request
    def check_path():
        if not request.path.startswith("/api/") or not request.view_args:
            return
        bad = sorted(name for name, value in request.view_args.items() if isinstance(value, str) and "\x00" in value)
        if bad:
            raise ApiError(422, "The request is invalid; see fields.", code="validation_error",
                           fields={"path": {name: ["NUL characters are not allowed."] for name in bad}})


def _document_optional_bodies() -> None:
    """A POST body whose fields are all optional may be left out (``POST
    /jobs/{id}/cancel``): the document says so. PATCH bodies stay required,
    and are (``check_body`` below)."""
    schemas = api.spec.components.schemas
    for operations in api.spec._paths.values():
        for method, operation in operations.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            content = (body or {}).get("content", {}).get("application/json")
            if method not in ("post", "put") or not content or "$ref" not in content.get("schema", {}):
                continue
            schema = schemas.get(content["schema"]["$ref"].rsplit("/", 1)[-1], {})
            if not schema.get("required"):
                body["required"] = False


def _operation_doc(app: Flask) -> dict | None:
    view = app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class else view
    return getattr(handler, "_apidoc", None)


def _require_json_bodies(app: Flask) -> None:
    @app.before_request
    def check_body():
        if not request.path.startswith("/api/") or request.method not in ("POST", "PUT", "PATCH"):
            return
        view = app.view_functions.get(request.endpoint)
        view_class = getattr(view, "view_class", None)
        if view is None or getattr(view, "accepts_raw_body", False) or getattr(view_class, "accepts_raw_body", False):
            return
        if not (request.content_length or request.headers.get("Transfer-Encoding")):
            takes_json = any(p.get("in") == "json" for p in
                             (_operation_doc(app) or {}).get("arguments", {}).get("parameters", []))
            if request.method == "PATCH" and takes_json:
                # The document marks PATCH bodies required: a PATCH naming nothing to change is a client's mistake.
                raise ApiError(422, "The request is invalid; see fields.", code="validation_error",
                               fields={"json": {"_schema": ["A JSON body naming the fields to change is required."]}})
            return
        if not request.is_json:
            raise ApiError(415, "This endpoint takes application/json.")
        try:
            request.get_json()
        except BadRequest:
            raise ApiError(400, "The request body is not valid JSON.", code="malformed_json") from None


def _serve_docs_assets(app: Flask) -> None:
    @app.get("/api/v1/docs/assets/<path:filename>")
    def docs_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
