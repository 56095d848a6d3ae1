"""The monthly service supervision report (服务监督报告) as a PDF: the
month's figures in total, then per region and per technician, with each
figure's definition; Chinese by default, like the work report (media/pdf.py)."""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, SimpleDocTemplate

from media.pdf import _BODY, _H1, _H2, _SMALL, _grid, _p, _pairs
from server import i18n
from server.reports.statistics import FIGURES

# The figures a per-group table shows (the total section shows all).
TABLE_FIGURES = ("tickets_received", "response_attainment", "on_site_attainment", "resolve_attainment",
                 "first_time_fix_rate", "mean_time_to_repair_hours", "service_trips", "installation_trips",
                 "total_cost", "satisfaction_rate")


def fmt(key: str, value, locale: str) -> str:
    unit = FIGURES[key].unit if key in FIGURES else "count"
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "money":
        return f"¥{value:,.2f}"
    if unit == "hours":
        return f"{value:.1f} h" if locale == "en" else f"{value:.1f} 小时"
    if unit == "distribution":
        kind = {"tickets_by_channel": "channel", "tickets_by_category": "category",
                "tickets_by_complaint_class": "complaint_class", "satisfaction": "customer_rating",
                "survey_satisfaction": "customer_rating"}.get(key, key)
        return "，".join(f"{i18n.label(kind, k, locale)} {v}" for k, v in value.items()) or "—"
    return str(value)


def render_supervision_pdf(total: dict, regions: dict, technicians: dict, *, locale: str, tz: str,
                           now: datetime) -> bytes:
    def L(key: str, **values) -> str:  # noqa: N802
        return i18n.t(key, locale, **values)

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"{L('stat.report_title')} {total['month']}", author="FieldSync")
    figures = (total["groups"] or [{"figures": {}}])[0]["figures"]
    story: list = [
        _p(L("stat.report_title"), _H1),
        _p(L("stat.report_subtitle", month=total["month"], due=total["due_by"],
             made=i18n.format_time(now, tz), zone=tz), _SMALL),
        _p(L("stat.section_total"), _H2),
        _pairs([(L(f"stat.{k}"), fmt(k, figures.get(k), locale)) for k in FIGURES]),
    ]
    if total.get("not_yet_available"):
        story.append(_p(L("stat.not_yet_available") + "：" + "；".join(
            L(f"stat.{k}") for k in total["not_yet_available"]), _SMALL))
    for title, result in ((L("stat.section_region"), regions), (L("stat.section_technician"), technicians)):
        story += [PageBreak(), _p(title, _H2)]
        header = [L("stat.group")] + [L(f"stat.{k}") for k in TABLE_FIGURES]
        rows = [[g["label"]] + [fmt(k, g["figures"].get(k), locale) for k in TABLE_FIGURES]
                for g in result["groups"]]
        width = 269 / (len(TABLE_FIGURES) + 1)
        story.append(_grid(header, rows or [["—"] * len(header)], [width] * len(header)))
    story += [PageBreak(), _p(L("stat.section_definitions"), _H2)]
    story.append(_pairs([(L(f"stat.{k}"), f.definition) for k, f in FIGURES.items()]))
    story.append(_p(L("stat.definitions_note"), _BODY))
    doc.build(story)
    return out.getvalue()
