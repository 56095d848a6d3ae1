"""Signature strokes to images: SVG (vector, exact) and PNG (for the PDF and
for viewers without SVG). Strokes are lists of points ``{x, y, t, p?}`` in the
device's canvas units; pressure, when present, sets the line width."""

from __future__ import annotations

import io
from xml.sax.saxutils import quoteattr

from PIL import Image, ImageDraw

BASE_WIDTH = 2.5  # stroke width at pressure 0.5 (or without pressure), in output pixels at width 600


def _bounds(strokes: list[list[dict]]):
    xs = [p["x"] for s in strokes for p in s]
    ys = [p["y"] for s in strokes for p in s]
    return min(xs), min(ys), max(xs), max(ys)


def _layout(strokes, width: int, height: int, margin: int):
    x0, y0, x1, y1 = _bounds(strokes)
    span_x, span_y = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    off_x = (width - span_x * scale) / 2 - x0 * scale
    off_y = (height - span_y * scale) / 2 - y0 * scale
    return lambda p: (p["x"] * scale + off_x, p["y"] * scale + off_y)


def _width(point: dict, base: float) -> float:
    pressure = point.get("p")
    return base if pressure is None else base * (0.4 + 1.2 * float(pressure))


def render_png(strokes: list[list[dict]], *, width: int = 600, height: int = 240, supersample: int = 3) -> bytes:
    """Black ink on white, antialiased by drawing larger and scaling down."""
    big = Image.new("L", (width * supersample, height * supersample), 255)
    draw = ImageDraw.Draw(big)
    place = _layout(strokes, width * supersample, height * supersample, 12 * supersample)
    base = BASE_WIDTH * supersample * width / 600
    for stroke in strokes:
        points = [place(p) for p in stroke]
        if len(points) == 1:
            x, y = points[0]
            r = _width(stroke[0], base) / 2
            draw.ellipse([x - r, y - r, x + r, y + r], fill=0)
            continue
        for (a, b), point in zip(zip(points, points[1:], strict=False), stroke[1:], strict=False):
            w = _width(point, base)
            draw.line([a, b], fill=0, width=max(1, round(w)))
            r = w / 2  # round joints
            draw.ellipse([b[0] - r, b[1] - r, b[0] + r, b[1] + r], fill=0)
    image = big.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def render_svg(strokes: list[list[dict]], *, width: int = 600, height: int = 240, title: str = "Signature") -> str:
    place = _layout(strokes, width, height, 12)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f"<title>{quoteattr(title)[1:-1]}</title>",
             f'<rect width="{width}" height="{height}" fill="#fff"/>',
             '<g fill="none" stroke="#000" stroke-linecap="round" stroke-linejoin="round">']
    for stroke in strokes:
        points = [place(p) for p in stroke]
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{_width(stroke[0], BASE_WIDTH) / 2:.2f}" '
                         f'fill="#000" stroke="none"/>')
        elif all(p.get("p") is None for p in stroke):
            d = "M" + " L".join(f"{x:.2f} {y:.2f}" for x, y in points)
            parts.append(f'<path d="{d}" stroke-width="{BASE_WIDTH}"/>')
        else:
            for (a, b), point in zip(zip(points, points[1:], strict=False), stroke[1:], strict=False):
                parts.append(f'<line x1="{a[0]:.2f}" y1="{a[1]:.2f}" x2="{b[0]:.2f}" y2="{b[1]:.2f}" '
                             f'stroke-width="{_width(point, BASE_WIDTH):.2f}"/>')
    parts.append("</g></svg>")
    return "".join(parts)
