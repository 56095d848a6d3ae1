"""Server-rendered web pages for the office (dispatchers, warehouse staff,
admins). Each page is a Jinja template whose plain JavaScript reads the JSON
API with the bearer token kept in ``sessionStorage``; the HTML itself holds no
data, so the pages need no session of their own.

Adding a page is one template (``templates/pages/<name>.html``, extending
``base.html``) plus one line in :data:`PAGES`. Scripts and styles are local
files under ``static/``; the Content-Security-Policy refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, current_app, render_template

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/pages")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def content_security_policy(config) -> str:
    """The policy, with the map tile server's origin allowed for images when one is set."""
    origin = tile_origin(config.get("MAP_TILE_URL") or "")
    return CSP.replace("img-src 'self' data:", f"img-src 'self' data: {origin}") if origin else CSP


def tile_origin(url: str) -> str | None:
    """The CSP source of a tile URL template's server: scheme://host[:port], with
    ``{s}.`` subdomains as ``*.``; None unless it is plain http(s) with a host."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    netloc = parts.netloc
    if netloc.startswith("{s}."):
        netloc = "*." + netloc[4:]
    if parts.scheme not in ("http", "https") or not netloc or any(c in netloc for c in " ;,'\"{}@"):
        return None
    return f"{parts.scheme}://{netloc}"


@dataclass(frozen=True)
class Page:
    rule: str  # URL rule; its arguments reach the template
    name: str  # templates/pages/<name>.html, its script static/<name>.js (if there is one), endpoint pages.<name>
    title: str  # a catalogue key (server/i18n), shown in the reader's language
    nav: bool = True  # listed in the top navigation
    context: dict = field(default_factory=dict)  # extra template variables (callables are called)
    roles: tuple[str, ...] = ()  # the roles its navigation entry is shown to (empty: every office role)


def _ticket_context() -> dict:
    from server.tickets.states import ALLOWED

    return {"allowed_transitions": {s.value: sorted(t.value for t in targets) for s, targets in ALLOWED.items()}}


def _technicians_context() -> dict:
    from server.api.technicians import EDITORS

    return {"on_call_editors": " ".join(role.value for role in EDITORS)}


DISPATCH = ("admin", "dispatcher")  # what the API lets each role use (server/api/dispatch.py, sync.py, stock.py)
STOCK = ("admin", "warehouse", "dispatcher")

PAGES: list[Page] = [
    Page("/login", "login", "page.login", nav=False),
    Page("/", "board", "page.board"),
    Page("/tickets/new", "ticket_new", "page.ticket_new", roles=DISPATCH),
    Page("/tickets/<uuid:ticket_id>", "ticket", "page.ticket", nav=False, context={"extra": _ticket_context}),
    Page("/tickets/<uuid:ticket_id>/dispatch", "dispatch", "page.dispatch", nav=False),
    Page("/technicians", "technicians", "page.technicians", context={"extra": _technicians_context}),
    Page("/customers", "customers", "page.customers"),
    Page("/customers/<uuid:customer_id>", "customer", "page.customer", nav=False),
    Page("/conflicts", "conflicts", "page.conflicts", roles=DISPATCH),
    Page("/swaps", "swaps", "page.swaps", roles=DISPATCH),
    Page("/stock", "stock", "page.stock", roles=STOCK),
    Page("/statistics", "statistics", "page.statistics", roles=DISPATCH),
    Page("/stock/work", "stock_work", "page.stock_work", roles=("admin", "warehouse")),
    Page("/stock/discrepancies", "discrepancies", "page.discrepancies", roles=STOCK),
    Page("/stock/reconciliation", "reconciliation", "page.reconciliation", roles=STOCK),
    Page("/stock/summary", "summary", "page.summary", roles=STOCK),
    Page("/quality/satisfaction", "satisfaction", "page.satisfaction", roles=DISPATCH),
    Page("/quality/return-visits", "return_visits", "page.return_visits", roles=DISPATCH),
    Page("/quality/complaints", "complaints", "page.complaints", roles=DISPATCH),
    Page("/quality/incidents", "incidents", "page.incidents", roles=DISPATCH),
    Page("/quality/tours", "tours", "page.tours", roles=DISPATCH),
    Page("/notifications", "outbox", "page.outbox", roles=DISPATCH),
]


def _view(page: Page):
    script = f"{page.name}.js" if (Path(bp.static_folder) / f"{page.name}.js").exists() else None

    def view(**kwargs):
        extra = {}
        for key, value in page.context.items():
            value = value() if callable(value) else value
            extra.update(value if key == "extra" else {key: value})
        return render_template(f"pages/{page.name}.html", page=page, nav=[p for p in PAGES if p.nav],
                               script=script, **extra, **kwargs)

    view.__name__ = page.name
    return view


for _page in PAGES:
    bp.add_url_rule(_page.rule, _page.name, _view(_page))


@bp.after_request
def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", content_security_policy(current_app.config))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.route("/favicon.ico")
def favicon():
    return bp.send_static_file("favicon.svg")


def register_pages(app: Flask) -> None:
    from server.pages import handheld, locale, signing, survey

    locale.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(signing.bp)  # the customer's signing page
    app.register_blueprint(survey.bp)  # the customer's satisfaction survey page
    app.register_blueprint(handheld.bp)  # the technicians' app at /app/
