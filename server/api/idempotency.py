"""``@idempotent``: honour an ``Idempotency-Key`` header on a POST that creates
things (see :mod:`server.idempotency` for the rules)."""

from __future__ import annotations

import functools
from copy import deepcopy
from datetime import timedelta

from flask import current_app, request

from server import idempotency
from server.api.errors import ApiError
from server.api.security import current_principal
from server.db import utcnow
from server.extensions import db

HEADER = "Idempotency-Key"


def idempotent(view):
    """Place under ``@requires`` (it needs the user) and above ``@blp.arguments``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        raw_key = request.headers.get(HEADER)
        if raw_key is None:
            return view(*args, **kwargs)
        if not idempotency.valid_key(raw_key):
            raise ApiError(400, f"{HEADER} must be 1-{idempotency.KEY_MAX_LENGTH} visible ASCII characters",
                           code="invalid_idempotency_key")
        key = raw_key
        user_id = current_principal().user_id
        kept = idempotency.claim(
            db.session, user_id=user_id, key=key, method=request.method, path=request.path,
            request_fingerprint=idempotency.fingerprint(request.get_data(cache=True)), now=utcnow(),
            ttl=timedelta(hours=current_app.config["IDEMPOTENCY_KEY_TTL_HOURS"]))
        if kept is not None:
            db.session.rollback()
            return _replay(kept)
        # The view commits its effects together with the claim.
        response = view(*args, **kwargs)
        if response.status_code < 300:
            idempotency.record_answer(db.session, user_id=user_id, key=key, answer=idempotency.Answer(
                response.status_code, response.content_type, response.headers.get("Location"),
                response.get_data()))
            db.session.commit()
        return response

    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual.setdefault("parameters", []).append({
        "in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": 255},
        "description": "A key of the client's making (a UUID): a retry with the same key and body gets the "
                       "first answer again (with `Idempotent-Replayed: true`) instead of creating twice. "
                       "Kept per user for `IDEMPOTENCY_KEY_TTL_HOURS`."})
    responses = manual.setdefault("responses", {})
    responses.setdefault("400", {"$ref": "#/components/responses/Error"})
    responses.setdefault("409", {"$ref": "#/components/responses/Error"})
    responses.setdefault("422", {"$ref": "#/components/responses/Error"})
    wrapper._apidoc = apidoc
    return wrapper


def _replay(kept: idempotency.Answer):
    response = current_app.response_class(kept.body, status=kept.status, content_type=kept.content_type)
    if kept.location:
        response.headers["Location"] = kept.location
    response.headers["Idempotent-Replayed"] = "true"
    return response
