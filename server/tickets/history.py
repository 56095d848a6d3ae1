"""The notes the server writes in a ticket's history ("assigned to …",
"reassigned …", "job cancelled: …"), readable in either language.

A note is kept as a catalogue key (``history.<key>`` in server/i18n) and its
values (``note_key``, ``note_params``), and written out when it is read, in the
reader's language (the ticket page, :func:`text` for Python). The ``note``
column keeps the English text with the values as they are (codes, names) —
the API's ``note`` means what it always meant. A note written before keys
existed, or a person's own words, has no key and reads as stored.

Values are text as typed (names, reasons, serial numbers), except the lists in
:data:`LABELLED`, whose items are codes shown by their labels, and a nested
note (``{"key": ..., "params": ...}``, e.g. an override's part of "assigned to …").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server import i18n

# A list value's items are codes: the catalogue prefix of their labels.
LABELLED = {"flags": "enum.unavailable_reason.", "clocks": "clock."}
# How a list is joined, per language.
SEPARATOR = {"zh-CN": "、", "en": ", "}


@dataclass(frozen=True)
class Note:
    """A history note: ``history.<key>`` with its values."""

    key: str
    params: dict = field(default_factory=dict)

    @property
    def english(self) -> str:
        """The ``note`` column: English, codes as they are (what the API said before keys)."""
        values = {k: ", ".join(v) if isinstance(v, list) else Note(**v).english if isinstance(v, dict) else v
                  for k, v in self.params.items()}
        return i18n.t(f"history.{self.key}", "en", **values)

    def stored(self) -> dict:
        return {"key": self.key, "params": dict(self.params)}


def note(key: str, **params) -> Note:
    """A note to store. A value: text (None becomes "—", so a missing name never reads "None"), a list of codes
    (:data:`LABELLED`), or a nested :class:`Note` (an empty text where there is none)."""
    def value(v):
        if isinstance(v, Note):
            return v.stored()
        return "—" if v is None else v if isinstance(v, list) else str(v)

    return Note(key, {k: value(v) for k, v in params.items()})


def columns(value: Note | str | None) -> dict:
    """The TicketEvent columns of a note: a :class:`Note`, a person's words, or nothing."""
    if isinstance(value, Note):
        return {"note": value.english, "note_key": value.key, "note_params": dict(value.params)}
    return {"note": value, "note_key": None, "note_params": None}


def text(event, locale: str = i18n.DEFAULT_LOCALE) -> str | None:
    """An event's note in ``locale``: from its key when it has one (and the catalogue knows it), else as stored."""
    key = getattr(event, "note_key", None)
    if not key:
        return event.note
    try:
        return _written(key, event.note_params or {}, locale)
    except (KeyError, IndexError, ValueError, TypeError):  # an unknown key, values that do not fit the text
        return event.note


def _written(key: str, params: dict, locale: str) -> str:
    messages = i18n.catalogue(locale)
    if f"history.{key}" not in messages:
        raise KeyError(key)
    values = {}
    for name, value in params.items():
        if isinstance(value, list):
            prefix = LABELLED.get(name)
            value = SEPARATOR.get(locale, ", ").join(
                messages[f"{prefix}{v}"] if prefix and f"{prefix}{v}" in messages else str(v) for v in value)
        elif isinstance(value, dict):
            value = _written(value["key"], value.get("params") or {}, locale)
        values[name] = value
    return messages[f"history.{key}"].format(**values)
