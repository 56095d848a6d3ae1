"""The signed work report (作业报告书) as a PDF, with reportlab.

Text is set in reportlab's built-in CID font STSong-Light (Adobe-GB1), which
every PDF reader has and which covers Chinese and Latin: no font file to ship,
and the text extracts back as Unicode. Labels, values and times come from
``server.i18n`` in the reader's language and the company's zone. Photos go in as thumbnails that carry
no metadata (so no GPS); the signature as the PNG drawn from its strokes.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from server import i18n

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, wordWrap="CJK")
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10)
_H1 = ParagraphStyle("h1", parent=_BODY, fontSize=16, leading=20, alignment=TA_CENTER, spaceAfter=6)
_H2 = ParagraphStyle("h2", parent=_BODY, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3,
                     textColor=colors.HexColor("#1d3557"))
_GRID = TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f6"))])
_PAIRS = TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                     ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd"))])


def _p(text, style=_BODY) -> Paragraph:
    value = "—" if text is None or text == "" else str(text)
    return Paragraph(escape(value).replace("\n", "<br/>"), style)


def _pairs(rows: list[tuple[str, object]]) -> Table:
    table = Table([[_p(k, _SMALL), _p(v)] for k, v in rows], colWidths=[42 * mm, 128 * mm])
    table.setStyle(_PAIRS)
    return table


def _grid(header: list[str], rows: list[list], widths: list[float]) -> Table:
    table = Table([[_p(h, _SMALL) for h in header]] + [[_p(c) for c in row] for row in rows],
                  colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(_GRID)
    return table


def render_report_pdf(report: dict, display: dict, *, report_sha256: str, signature: dict | None = None,
                      signature_png: bytes | None = None, photos: list[tuple[dict, bytes]] = (),
                      locale: str = i18n.DEFAULT_LOCALE, tz: str | None = None) -> bytes:
    """``report`` is the canonical report, ``display`` :func:`media.report.report_display`,
    ``signature`` the evidence (signer, times, position, hash, validity),
    ``photos`` pairs of (photo info, JPEG thumbnail bytes). Every label and
    value in ``locale`` (server/i18n), every time in the zone ``tz``."""
    def L(key: str, **values) -> str:  # noqa: N802  (reads like the templates' t())
        return i18n.t(f"report.{key}", locale, **values)

    def when(value) -> str:
        return i18n.format_time(value, tz)

    def clock(ticket: dict, due: str, at: str) -> str:
        return L("clock", due=when(ticket.get(due)), at=when(ticket.get(at)))

    out = io.BytesIO()
    ticket = display.get("ticket") or {}
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"{L('title')} {ticket.get('reference', '')}",
                            author="FieldSync", subject=f"report sha256 {report_sha256}")
    story: list = [_p(L("title"), _H1),
                   _p(L("ticket_line", reference=ticket.get("reference", "—")) + " · "
                      + L("zone_note", zone=i18n.zone(tz).key), _SMALL)]

    customer, site, asset, warranty = (display.get(k) or {} for k in ("customer", "site", "asset", "warranty"))
    story += [_p(L("section_customer"), _H2), _pairs([
        (L("customer"), customer.get("name")),
        (L("contact"), " ".join(filter(None, [customer.get("contact_name"), customer.get("phone")])) or None),
        (L("site"), " — ".join(filter(None, [site.get("name"), site.get("address")])) or None),
        (L("asset"), " · ".join(filter(None, [
            asset.get("model"),
            i18n.label("product_line", asset["product_line"], locale) if asset.get("product_line") else None,
            f"SN {asset['serial_number']}" if asset.get("serial_number") else None])) or None),
        (L("warranty"), None if not warranty else (
            i18n.label("warranty", str(bool(warranty.get("under_warranty"))).lower(), locale)
            + (L("warranty_until", date=warranty["warranty_end"]) if warranty.get("warranty_end") else ""))),
    ])]

    story += [_p(L("section_ticket"), _H2), _pairs([
        (L("report"), f"{i18n.label('category', ticket.get('category'), locale)} · {ticket.get('summary', '')}"
         if ticket else None),
        (L("received"), when(ticket.get("received_at"))),
        (L("response"), clock(ticket, "response_due_at", "responded_at")),
        (L("on_site"), clock(ticket, "on_site_due_at", "on_site_at")),
        (L("resolved"), clock(ticket, "resolve_due_at", "resolved_at")),
    ])]

    story += [_p(L("section_service"), _H2), _pairs([
        (L("technician"), display.get("technician")),
        (L("arrived"), when(report.get("arrived_at"))),
        (L("departed"), when(display.get("departed_at"))),  # recorded after signing: not in the signed form
        (L("work_done"), report.get("work_done")),
        (L("fault_cause"), report.get("fault_cause")),
        (L("solution"), report.get("solution")),
    ])]

    if report.get("adjustments"):
        story += [_p(L("section_adjustments"), _H2), _grid(
            [L("parameter"), L("before"), L("after"), L("unit")],
            [[a["parameter"], a["value_before"], a["value_after"], a["unit"]] for a in report["adjustments"]],
            [70, 35, 35, 30])]
    if display.get("parts"):
        story += [_p(L("section_parts"), _H2), _grid(
            [L("part_number"), L("part_name"), L("quantity"), L("serials"), L("part_warranty")],
            [[p["part_number"], p["name"], p["quantity"], ", ".join(p["serial_numbers"]),
              i18n.label("yes_no", str(bool(p["under_warranty"])).lower(), locale)] for p in display["parts"]],
            [32, 58, 16, 40, 24])]
    if display.get("customer_opinion") or display.get("customer_rating"):
        story += [_p(L("section_opinion"), _H2), _pairs([
            (L("opinion"), display.get("customer_opinion")),
            (L("rating"), i18n.label("customer_rating", display.get("customer_rating"), locale)
             if display.get("customer_rating") else None)])]

    if photos:
        cells = []
        for info, data in photos:
            image = Image(io.BytesIO(data))
            scale = min(52 * mm / image.imageWidth, 52 * mm / image.imageHeight)
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            kind = i18n.label("photo_kind", info.get("kind"), locale)
            cells.append([image, _p(f"{kind}: {info.get('caption') or ''}", _SMALL)])
        rows = [sum(cells[i:i + 3], []) for i in range(0, len(cells), 3)]
        rows = [[row[j] if j < len(row) else "" for j in range(6)] for row in rows]
        layout = [[r[0], r[2], r[4]] for r in rows]
        captions = [[r[1], r[3], r[5]] for r in rows]
        grid = Table([x for pair in zip(layout, captions, strict=False) for x in pair], colWidths=[57 * mm] * 3)
        grid.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [_p(L("section_photos"), _H2), grid]

    story.append(_p(L("section_signature"), _H2))
    if signature is None:
        story.append(_p(L("not_signed")))
    else:
        block: list = []
        if signature_png:
            block.append(Image(io.BytesIO(signature_png), width=90 * mm, height=36 * mm))
        position = (f"{signature['latitude']:.6f}, {signature['longitude']:.6f}"
                    if signature.get("latitude") is not None else None)
        block.append(_pairs([
            (L("signer"), " · ".join(filter(None, [signature.get("signer_name"), signature.get("signer_role")]))),
            (L("device_time"), i18n.format_time(signature.get("signed_at_device"), tz, "seconds")
             if signature.get("signed_at_device") else None),
            (L("server_received"), i18n.format_time(signature.get("received_at"), tz, "seconds")),
            (L("position"), position),
            (L("signed_sha"), signature.get("report_sha256")),
            (L("validity"), L("valid") if signature.get("valid") else L("not_valid")),
        ]))
        story.append(KeepTogether(block))
    story += [Spacer(1, 6 * mm), _p(f"{L('current_sha')}: {report_sha256}", _SMALL)]
    doc.build(story)
    return out.getvalue()
