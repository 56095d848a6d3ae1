"""Language and time for everything a person reads (pages, the signing page,
PDFs): one catalogue per locale, enum labels in one place, and times in the
company's zone. No Flask here: the pages' glue is ``server/pages/locale.py``.

Catalogues are flat JSON files next to this module (``zh-CN.json``,
``en.json``), key -> text with ``{name}`` placeholders. The same file is
handed to the pages' JavaScript (``FS.t``), so a string is written once.
Key families:

- ``enum.<kind>.<value>``: a stored value's label (``enum.ticket_status.new``);
  :func:`label` reads them and falls back to the raw value.
- ``error.<code>``: an API error code's message for people (``FS.errorText``).
- anything else: page text, grouped by page (``board.*``, ``stock.*``, ...).

Chinese is the default; a missing key in English falls back to Chinese, a
missing key in both shows the key itself (so a gap is visible, never silent).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"
_HERE = Path(__file__).resolve().parent


@cache
def catalogue(locale: str) -> dict[str, str]:
    """The locale's texts (zh-CN for an unknown locale)."""
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    return json.loads((_HERE / f"{locale}.json").read_text(encoding="utf-8"))


def normalise_locale(value: str | None) -> str | None:
    """``en``, ``en-US``, ``zh``, ``zh-cn`` ... -> one of :data:`LOCALES`, or None."""
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("zh"):
        return "zh-CN"
    if value.startswith("en"):
        return "en"
    return None


def t(key: str, locale: str = DEFAULT_LOCALE, **values) -> str:
    """The text for ``key`` in ``locale`` with ``{name}`` placeholders filled."""
    text = catalogue(locale).get(key) or catalogue(DEFAULT_LOCALE).get(key) or key
    return text.format(**values) if values else text


def label(kind: str, value, locale: str = DEFAULT_LOCALE) -> str:
    """A stored value's label (``label("ticket_status", "new")`` -> 新建); the
    value itself when the catalogue has none; an em dash for nothing."""
    if value is None or value == "":
        return "—"
    value = getattr(value, "value", value)  # enum members
    text = catalogue(locale).get(f"enum.{kind}.{value}") or catalogue(DEFAULT_LOCALE).get(f"enum.{kind}.{value}")
    return text or str(value)


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def parse_time(value) -> datetime | None:
    """A datetime from a datetime or ISO 8601 text (``Z`` allowed); naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


FORMATS = {"datetime": "%Y-%m-%d %H:%M", "seconds": "%Y-%m-%d %H:%M:%S", "date": "%Y-%m-%d", "time": "%H:%M"}


def format_time(value, tz: str | None = None, style: str = "datetime") -> str:
    """A time as people read it, in the company's zone: ``2026-12-06 11:36``.
    The same format in every locale (the pages' ``FS.fmtTime`` makes the
    same text). A plain date stays as it is (no zone shift)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:  # "YYYY-MM-DD": a date, not an instant
        return value
    return parse_time(value).astimezone(zone(tz)).strftime(FORMATS[style])
