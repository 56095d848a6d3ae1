"""The signed work report (作业报告书) as a PDF, with reportlab.

Text is set in reportlab's built-in CID font STSong-Light (Adobe-GB1), which
every PDF reader has and which covers Chinese and Latin: no font file to ship,
and the text extracts back as Unicode. Photos go in as thumbnails that carry
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


def _time(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "—"


def _clock(ticket: dict, due: str, at: str) -> str:
    return f"时限 due {_time(ticket.get(due))} / 实际 at {_time(ticket.get(at))}"


def render_report_pdf(report: dict, display: dict, *, report_sha256: str, signature: dict | None = None,
                      signature_png: bytes | None = None, photos: list[tuple[dict, bytes]] = ()) -> bytes:
    """``report`` is the canonical report, ``display`` :func:`media.report.report_display`,
    ``signature`` the evidence (signer, times, position, hash, validity),
    ``photos`` pairs of (photo info, JPEG thumbnail bytes)."""
    out = io.BytesIO()
    ticket = display.get("ticket") or {}
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"作业报告书 Work report {ticket.get('reference', '')}",
                            author="FieldSync", subject=f"report sha256 {report_sha256}")
    story: list = [_p("作业报告书 · Work report", _H1),
                   _p(f"工单 Ticket {ticket.get('reference', '—')} · 作业 Job {report['job_id']}", _SMALL)]

    customer, site, asset, warranty = (display.get(k) or {} for k in ("customer", "site", "asset", "warranty"))
    story += [_p("客户与设备 · Customer, site and asset", _H2), _pairs([
        ("客户 Customer", customer.get("name")),
        ("联系人 Contact", " ".join(filter(None, [customer.get("contact_name"), customer.get("phone")])) or None),
        ("地址 Site", " — ".join(filter(None, [site.get("name"), site.get("address")])) or None),
        ("设备 Asset", " · ".join(filter(None, [
            asset.get("model"), asset.get("product_line"),
            f"SN {asset['serial_number']}" if asset.get("serial_number") else None])) or None),
        ("三包 Warranty", None if not warranty else (
            ("保修期内 Under warranty" if warranty.get("under_warranty") else "保修期外 Out of warranty")
            + (f" (至 until {warranty['warranty_end']})" if warranty.get("warranty_end") else ""))),
    ])]

    story += [_p("工单与时限 · Ticket and its clocks", _H2), _pairs([
        ("报修 Report", f"{ticket.get('category', '')} · {ticket.get('summary', '')}" if ticket else None),
        ("受理 Received", _time(ticket.get("received_at"))),
        ("响应 Response", _clock(ticket, "response_due_at", "responded_at")),
        ("到场 On site", _clock(ticket, "on_site_due_at", "on_site_at")),
        ("解决 Resolved", _clock(ticket, "resolve_due_at", "resolved_at")),
    ])]

    story += [_p("现场服务 · On-site service", _H2), _pairs([
        ("技术员 Technician", display.get("technician")),
        ("到达 Arrived", _time(report.get("arrived_at"))),
        ("离开 Departed", _time(report.get("departed_at"))),
        ("工作内容 Work done", report.get("work_done")),
        ("故障原因 Fault cause", report.get("fault_cause")),
        ("解决方法 Solution", report.get("solution")),
    ])]

    if report.get("adjustments"):
        story += [_p("调整记录 · Adjustments", _H2), _grid(
            ["参数 Parameter", "调整前 Before", "调整后 After", "单位 Unit"],
            [[a["parameter"], a["value_before"], a["value_after"], a["unit"]] for a in report["adjustments"]],
            [70, 35, 35, 30])]
    if display.get("parts"):
        story += [_p("更换零部件 · Parts used", _H2), _grid(
            ["零件号 Part no.", "名称 Name", "数量 Qty", "序列号 Serials", "保修 Warranty"],
            [[p["part_number"], p["name"], p["quantity"], ", ".join(p["serial_numbers"]),
              "是 Yes" if p["under_warranty"] else "否 No"] for p in display["parts"]],
            [32, 58, 16, 40, 24])]
    if display.get("customer_opinion") or display.get("customer_rating"):
        story += [_p("客户意见 · Customer's opinion", _H2), _pairs([
            ("意见 Opinion", display.get("customer_opinion")), ("评价 Rating", display.get("customer_rating"))])]

    if photos:
        cells = []
        for info, data in photos:
            image = Image(io.BytesIO(data))
            scale = min(52 * mm / image.imageWidth, 52 * mm / image.imageHeight)
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            cells.append([image, _p(f"{info.get('kind')}: {info.get('caption') or ''}", _SMALL)])
        rows = [sum(cells[i:i + 3], []) for i in range(0, len(cells), 3)]
        rows = [[row[j] if j < len(row) else "" for j in range(6)] for row in rows]
        layout = [[r[0], r[2], r[4]] for r in rows]
        captions = [[r[1], r[3], r[5]] for r in rows]
        grid = Table([x for pair in zip(layout, captions, strict=False) for x in pair], colWidths=[57 * mm] * 3)
        grid.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [_p("照片 · Photos", _H2), grid]

    story.append(_p("用户签字 · Customer signature", _H2))
    if signature is None:
        story.append(_p("未签字 · Not signed"))
    else:
        block: list = []
        if signature_png:
            block.append(Image(io.BytesIO(signature_png), width=90 * mm, height=36 * mm))
        position = (f"{signature['latitude']:.6f}, {signature['longitude']:.6f}"
                    if signature.get("latitude") is not None else None)
        block.append(_pairs([
            ("签字人 Signer", " · ".join(filter(None, [signature.get("signer_name"), signature.get("signer_role")]))),
            ("设备时间 Device time", signature.get("signed_at_device")),
            ("服务器接收 Received", signature.get("received_at")),
            ("位置 Position", position),
            ("签字报告指纹 Signed report SHA-256", signature.get("report_sha256")),
            ("有效性 Validity", "有效：报告与签字时一致 Valid: the report is as signed" if signature.get("valid")
             else "无效：签字后报告已修改 NOT VALID: the report changed after signing"),
        ]))
        story.append(KeepTogether(block))
    story += [Spacer(1, 6 * mm), _p(f"当前报告指纹 Current report SHA-256: {report_sha256}", _SMALL)]
    doc.build(story)
    return out.getvalue()
