"""The one way to authenticate: ``Authorization: Bearer <token>``, checked by
:func:`requires`, which also states the roles allowed and documents both in
the OpenAPI document."""

from __future__ import annotations

import functools
from copy import deepcopy

from flask import g, request

from server.accounts.models import Role
from server.accounts.service import Principal, resolve_token
from server.db import utcnow
from server.exceptions import AuthenticationFailed, PermissionDenied
from server.extensions import db

ALL_ROLES = tuple(Role)


def current_principal() -> Principal:
    return g.principal


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("a bearer token is required", code="missing_token")
    principal = resolve_token(db.session, token.strip(), now=utcnow())
    g.principal = principal
    return principal


def requires(*roles: Role):
    """Allow only these roles (none named: any authenticated user)."""
    allowed = frozenset(roles) or frozenset(ALL_ROLES)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if principal.role not in allowed:
                raise PermissionDenied(
                    f"this needs one of the roles: {', '.join(sorted(r.value for r in allowed))}",
                    code="role_forbidden",
                )
            return view(*args, **kwargs)

        # Same shape flask-smorest's @blp.doc writes, so the docs show it.
        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        roles_note = "Roles: " + ", ".join(sorted(r.value for r in allowed)) + "."
        manual["description"] = (manual.get("description", "") + "\n\n" + roles_note).strip()
        responses = manual.setdefault("responses", {})
        responses.setdefault("401", {"$ref": "#/components/responses/Error"})
        responses.setdefault("403", {"$ref": "#/components/responses/Error"})
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


def raw_body(view):
    """Mark a view that takes a non-JSON body (uploads), exempt from the JSON check."""
    view.accepts_raw_body = True
    return view
