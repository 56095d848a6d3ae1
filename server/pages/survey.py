"""The customer's survey page: a single-use link (``/survey/?token=...``),
phone-sized, Chinese first, no login and no script: a plain form posted back
to the same page, the token travelling in the form body (never in a path, so
it stays out of the logs). The work is ``server.quality.surveys``'s."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request, url_for
from marshmallow import ValidationError

from schemas.quality import SurveyAnswerSchema
from server import i18n
from server.db import utcnow
from server.exceptions import DomainError, NotFound
from server.extensions import db
from server.pages.locale import current_locale
from server.pages.signing import SECURITY_HEADERS
from server.quality import surveys
from server.quality.models import Question, Rating

bp = Blueprint("survey_page", __name__, url_prefix="/survey", template_folder="templates",
               static_folder="static", static_url_path="/static")

# No script at all; the form posts to this page only.
HEADERS = {**SECURITY_HEADERS,
           "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'"}

QUESTIONS = [q.value for q in Question]
RATINGS = [r.value for r in Rating]


def _render(template: str, status: int = 200, token: str | None = None, **context):
    # The other language: this same link with ?lang= (remembered by the cookie for the form's answer).
    other = "en" if current_locale() == "zh-CN" else "zh-CN"
    switch_url = url_for("survey_page.page", token=token, lang=other) if token else None
    response = make_response(render_template(f"survey/{template}", questions=QUESTIONS, ratings=RATINGS,
                                             token=token, switch_url=switch_url, **context), status)
    response.headers.update(HEADERS)
    return response


def _refused(exc: DomainError):
    db.session.rollback()
    return _render("refused.html", 404 if isinstance(exc, NotFound) else 410, message=exc.message, code=exc.code)


@bp.get("/")
def page():
    token = request.args.get("token", "")
    try:
        invitation = surveys.open_invitation(db.session, token, now=utcnow())
    except DomainError as exc:
        return _refused(exc)
    return _render("page.html", token=token, invitation=invitation, values={})


@bp.post("/")
def submit():
    token = request.form.get("token", "")
    form = {"ratings": {q: (request.form.get(q) or None) for q in QUESTIONS},
            "comment": request.form.get("comment") or None, "respondent": request.form.get("respondent") or None}
    try:
        data = SurveyAnswerSchema().load(form)
        surveys.answer(db.session, token, data, now=utcnow())
    except ValidationError:
        return _invalid(token, form, i18n.t("survey.check", current_locale()))
    except DomainError as exc:
        if exc.code == "invalid":
            return _invalid(token, form, i18n.t("survey.answer_one", current_locale()))
        return _refused(exc)
    db.session.commit()
    return _render("thanks.html")


def _invalid(token, form, message):
    db.session.rollback()
    try:
        invitation = surveys.open_invitation(db.session, token, now=utcnow())
    except DomainError as exc:
        return _refused(exc)
    return _render("page.html", 422, token=token, invitation=invitation, values=form, error=message)
