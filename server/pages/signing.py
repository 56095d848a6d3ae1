"""The customer's signing page: the report, rendered by the server, and a
canvas to sign on (local JavaScript, no CDN). The page reads nothing but the
token from its URL's query; the JSON endpoints in ``server/api/signing.py``
do the work."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request, url_for

from media import signatures
from server.api.signing import signing_view
from server.db import utcnow
from server.exceptions import DomainError, NotFound
from server.extensions import db
from server.pages.locale import current_locale

bp = Blueprint("signing_page", __name__, url_prefix="/sign", template_folder="templates",
               static_folder="static", static_url_path="/static")

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
}


@bp.get("/")
def page():
    """The signing page for ``?token=...``; a clear page when the link cannot be used."""
    token = request.args.get("token", "")
    try:
        link = signatures.open_link(db.session, token, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        status = 404 if isinstance(exc, NotFound) else 410
        response = make_response(render_template("signing/refused.html", message=exc.message, code=exc.code), status)
    else:
        view = signing_view(db.session, link)
        other = "en" if current_locale() == "zh-CN" else "zh-CN"
        lang_url = url_for("signing_page.page", token=token, lang=other)
        response = make_response(render_template("signing/page.html", token=token, lang_url=lang_url, **view))
    response.headers.update(SECURITY_HEADERS)
    return response
