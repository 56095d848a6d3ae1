"""The technician's handheld app at ``/app/``: the committed bundle built
from ``handheld/`` (``make app``), served as static files. Everything comes
from this server under a strict Content-Security-Policy; the service worker
(``/app/sw.js``) caches the shell so the app opens with no network."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, send_from_directory

DIST = Path(__file__).resolve().parents[2] / "handheld" / "dist"

# As the office pages', plus: photos shown from the device's own storage
# (blob: URLs) and the service worker and manifest from this origin.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'")

TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript", ".svg": "image/svg+xml"}

bp = Blueprint("handheld", __name__)


@bp.route("/app")
def app_root():
    return redirect("/app/", code=308)


@bp.route("/app/")
def app_index():
    return app_file("index.html")


@bp.route("/app/<path:name>")
def app_file(name: str):
    if "/" in name or not (DIST / name).is_file():
        abort(404)
    response = send_from_directory(DIST, name, mimetype=TYPES.get(Path(name).suffix), max_age=0)
    # Revalidated on every load online; offline the service worker answers.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.after_request
def security_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
