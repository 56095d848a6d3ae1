"""The one error body, for every error status:

    {"error": {"status": 422, "code": "validation_error", "message": "...",
               "fields": {...}, "details": {...}, "request_id": "..."}}

``code`` is stable: clients switch on it. ``fields`` appears on validation
errors, keyed by where the input came from (json, query, path, ...)."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from server import exceptions as domain
from server.extensions import db
from server.serving import BodyRefused

logger = logging.getLogger("fieldsync.errors")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    423: "locked",
    426: "upgrade_required",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
}

DOMAIN_STATUS = {
    domain.NotFound: 404,
    domain.PermissionDenied: 403,
    domain.AuthenticationFailed: 401,
    domain.InvalidInput: 422,
    domain.InvalidTransition: 409,
    domain.Conflict: 409,
    domain.PreconditionFailed: 412,
    domain.RateLimited: 429,
    domain.Gone: 410,
    domain.PayloadTooLarge: 413,
    domain.UnsupportedMediaType: 415,
    domain.Locked: 423,
    domain.UpgradeRequired: 426,
    domain.Unsupported: 400,
}


class ApiError(HTTPException):
    """Raised by the HTTP layer itself with a chosen code: ``raise ApiError(415, "...")``."""

    def __init__(self, status: int, message: str, *, code: str | None = None, fields=None, details=None,
                 headers=None):
        super().__init__(description=message)
        self.code = status
        self.error_code = code or STATUS_CODES.get(status, "error")
        self.fields = fields
        self.details = details
        self.extra_headers = headers or {}


def error_response(status: int, code: str, message: str, *, fields=None, details=None, headers=None):
    body = {"status": status, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    if details:
        body["details"] = details
    body["request_id"] = getattr(g, "request_id", None)
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    if isinstance(exc, ApiError):
        return error_response(status, exc.error_code, exc.description, fields=exc.fields,
                              details=exc.details, headers=exc.extra_headers)
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    # flask-smorest/webargs put schema errors in exc.data["messages"].
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    code = STATUS_CODES.get(status, "error")
    message = exc.description or code
    if status == 422:
        message = "The request is invalid; see fields."
    if status == 400 and messages and "json" in messages and isinstance(messages["json"], list):
        code, message, messages = "malformed_json", "The request body is not valid JSON.", None
    headers.update(data.get("headers") or {})
    return error_response(status, code, message, fields=messages, headers=headers)


def status_for(exc: domain.DomainError) -> int:
    """The HTTP status of a domain error: by its kind (class), 400 when none matches."""
    return next((s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls)), 400)


def _handle_domain(exc: domain.DomainError):
    status = status_for(exc)
    headers = {}
    if isinstance(exc, domain.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="fieldsync"'
    details = dict(exc.details)
    fields = details.pop("fields", None)
    db.session.rollback()
    return error_response(status, exc.code, exc.message, fields=fields, details=details or None, headers=headers)


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    logger.exception("unhandled error", exc_info=exc)
    db.session.rollback()
    return _handle_http(InternalServerError("An unexpected error occurred; it has been logged."))


def init_app(app: Flask) -> None:
    # Registered after flask-smorest's own handler, so these win.
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(domain.DomainError, _handle_domain)
    app.register_error_handler(Exception, _handle_unexpected)
    app.register_error_handler(BodyRefused, _handle_body_refused)


def _handle_body_refused(exc: BodyRefused):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, details=exc.details)
