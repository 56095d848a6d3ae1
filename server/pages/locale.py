"""The language and time of rendered pages (office pages, the signing page):
which locale a request reads, the Jinja helpers, and the catalogue handed to
the pages' JavaScript. The texts and formats themselves are in ``server/i18n``.

A request's locale: ``?lang=`` (also remembered), else the ``fieldsync_lang``
cookie (set by the language switch, per browser, a year), else zh-CN. The
Accept-Language header is not consulted: Chinese first, whatever the browser.
"""

from __future__ import annotations

from flask import Flask, redirect, request
from jinja2 import pass_context

from server import i18n

COOKIE = "fieldsync_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def current_locale() -> str:
    # read per call, not kept on ``g``: an app context (and its ``g``) can outlive one request
    return (i18n.normalise_locale(request.args.get("lang"))
            or i18n.normalise_locale(request.cookies.get(COOKIE)) or i18n.DEFAULT_LOCALE)


def request_locale() -> str:
    """The locale an API download (a PDF, a CSV) is written in: ``?lang=``, else
    the browser's remembered choice, else zh-CN (same rule as the pages)."""
    return current_locale()


# The OpenAPI description of ``?lang=`` on endpoints that make documents for people.
LANG_PARAMETER = {"in": "query", "name": "lang", "required": False,
                  "schema": {"type": "string", "enum": list(i18n.LOCALES), "default": i18n.DEFAULT_LOCALE},
                  "description": "The language of the document (Chinese by default)."}


def company_timezone(app: Flask | None = None) -> str:
    from flask import current_app

    return (app or current_app).config.get("COMPANY_TIMEZONE") or i18n.DEFAULT_TIMEZONE


def _t(key: str, **values) -> str:
    return i18n.t(key, current_locale(), **values)


# Filters take the context so that Jinja never folds them at compile time: `"open" | label(...)` on a
# constant would otherwise be baked into the compiled template in the language of its first request.
@pass_context
def _label(context, value, kind: str) -> str:
    return i18n.label(kind, value, current_locale())


@pass_context
def _localtime(context, value, style: str = "datetime") -> str:
    return i18n.format_time(value, company_timezone(), style)


def client_settings() -> dict:
    """What the pages' JavaScript reads (``FS.t``, ``FS.label``, ``FS.fmtTime``):
    embedded in each page as a JSON data block (no extra request, no inline script)."""
    return {"locale": current_locale(), "timezone": company_timezone(), "messages": i18n.catalogue(current_locale())}


def _remember(response):
    """``?lang=`` on any page is remembered by the browser (an API download's ``?lang=`` is for that one)."""
    if request.path.startswith("/api/"):
        return response
    chosen = i18n.normalise_locale(request.args.get("lang"))
    if chosen and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=False)
    return response


def switch_language(code: str):
    """``GET /lang/<code>?next=/path``: remember the choice and go back (works without JavaScript)."""
    locale = i18n.normalise_locale(code) or i18n.DEFAULT_LOCALE
    target = request.args.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):  # only back into this site
        target = "/"
    response = redirect(target)
    response.set_cookie(COOKIE, locale, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=False)
    return response


def init_app(app: Flask) -> None:
    app.add_template_global(_t, "t")
    app.add_template_global(current_locale, "locale")
    app.add_template_global(client_settings, "client_settings")
    app.add_template_filter(_label, "label")
    app.add_template_filter(_localtime, "localtime")
    app.add_url_rule("/lang/<code>", "switch_language", switch_language)
    app.after_request(_remember)
