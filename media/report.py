"""The canonical form of a work report (作业报告书): what a customer's
signature is bound to. Defined here and only here; the README documents it
for app developers, whose handhelds must produce the same bytes.

Canonical form, version 2 (current): a JSON object with exactly these keys —
what the customer attests when signing, nothing recorded later

    version        2
    job_id         the job's UUID, lowercase with hyphens
    work_done      text or null
    fault_cause    text or null
    solution       text or null
    arrived_at     UTC time "YYYY-MM-DDTHH:MM:SSZ" (whole seconds, truncated) or null
    parts_used     list of {id, part_id, quantity, serial_numbers, under_warranty},
                   sorted by id; serial_numbers sorted
    adjustments    list of {id, parameter, value_before, value_after, unit}, sorted by id

Version 1 had ``departed_at`` too (the same time format), so recording the
departure after the customer signed — the normal order — made the signature
invalid. Version 1 signatures are still judged: by the version-1 hash of the
report as it is, or (with their kept snapshot) by the fields both versions
attest, so a departure recorded later no longer invalidates them either.

Text is Unicode NFC with line breaks as "\\n". The bytes are that object as
UTF-8 JSON with keys sorted, no insignificant whitespace and non-ASCII
characters written as themselves (``json.dumps(obj, ensure_ascii=False,
sort_keys=True, separators=(",", ":"))``). The report's hash is the
lowercase hex SHA-256 of those bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.jobs.models import Adjustment, Job, PartUsage

VERSION = 2
VERSIONS = (1, 2)
TEXT_FIELDS = ("work_done", "fault_cause", "solution")
# The times each version holds: version 2 leaves out departed_at (recorded after signing).
VERSION_TIME_FIELDS = {1: ("arrived_at", "departed_at"), 2: ("arrived_at",)}
TIME_FIELDS = VERSION_TIME_FIELDS[VERSION]
LIST_FIELDS = ("parts_used", "adjustments")


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_report(session: Session, job: Job, version: int = VERSION) -> dict:
    """The job's report in canonical form (``version``: 2, or 1 to judge older signatures), from the
    database as it is now."""
    usages = session.scalars(select(PartUsage).where(PartUsage.job_id == job.id)).all()
    adjustments = session.scalars(select(Adjustment).where(Adjustment.job_id == job.id)).all()
    report = {
        "version": version,
        "job_id": str(job.id),
        **{name: _text(getattr(job, name)) for name in TEXT_FIELDS},
        **{name: _time(getattr(job, name)) for name in VERSION_TIME_FIELDS[version]},
        "parts_used": sorted(({
            "id": str(u.id), "part_id": str(u.part_id), "quantity": int(u.quantity),
            "serial_numbers": sorted(_text(str(s)) for s in (u.serial_numbers or [])),
            "under_warranty": bool(u.under_warranty),
        } for u in usages), key=lambda item: item["id"]),
        "adjustments": sorted(({
            "id": str(a.id), "parameter": _text(a.parameter), "value_before": _text(a.value_before),
            "value_after": _text(a.value_after), "unit": _text(a.unit),
        } for a in adjustments), key=lambda item: item["id"]),
    }
    return report


def canonical_bytes(report: dict) -> bytes:
    return json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def report_sha256(report: dict) -> str:
    return hashlib.sha256(canonical_bytes(report)).hexdigest()


_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _text_or_none(value) -> bool:
    return value is None or isinstance(value, str)


def _part_item(item) -> bool:
    return (set(item) == {"id", "part_id", "quantity", "serial_numbers", "under_warranty"}
            and isinstance(item["id"], str) and isinstance(item["part_id"], str)
            and type(item["quantity"]) is int and isinstance(item["serial_numbers"], list)
            and all(isinstance(s, str) for s in item["serial_numbers"]) and isinstance(item["under_warranty"], bool))


def _adjustment_item(item) -> bool:
    return (set(item) == {"id", "parameter", "value_before", "value_after", "unit"} and isinstance(item["id"], str)
            and all(_text_or_none(item[k]) for k in ("parameter", "value_before", "value_after", "unit")))


def is_canonical(report: dict) -> bool:
    """Whether a report sent by a device has exactly the canonical shape, down
    to each list item (it is kept and later compared item by item)."""
    if not (isinstance(report, dict) and type(report.get("version")) is int and report["version"] in VERSIONS):
        return False
    time_fields = VERSION_TIME_FIELDS[report["version"]]
    expected = {"version", "job_id", *TEXT_FIELDS, *time_fields, *LIST_FIELDS}
    if not (set(report) == expected and isinstance(report["job_id"], str)):
        return False
    if not all(_text_or_none(report[name]) for name in TEXT_FIELDS):
        return False
    if not all(report[name] is None or (isinstance(report[name], str) and _TIME.match(report[name]))
               for name in time_fields):
        return False
    checks = {"parts_used": _part_item, "adjustments": _adjustment_item}
    return all(isinstance(report[name], list)
               and all(isinstance(item, dict) and checks[name](item) for item in report[name])
               for name in LIST_FIELDS)


def attested(report: dict) -> dict:
    """What the customer attests, whatever the form's version: version 2's fields."""
    return {k: v for k, v in report.items() if k not in ("version", "departed_at")}


def diff_reports(signed: dict, current: dict) -> list[dict]:
    """What changed since signing, field by field (those the customer attests); list items matched by id."""
    changes: list[dict] = []
    for name in (*TEXT_FIELDS, *TIME_FIELDS):
        if signed.get(name) != current.get(name):
            changes.append({"field": name, "change": "changed", "item_id": None,
                            "signed": signed.get(name), "current": current.get(name)})
    for name in LIST_FIELDS:
        before = {item["id"]: item for item in signed.get(name) or []}
        after = {item["id"]: item for item in current.get(name) or []}
        for item_id in sorted(before.keys() | after.keys()):
            old, new = before.get(item_id), after.get(item_id)
            if old == new:
                continue
            change = "added" if old is None else "removed" if new is None else "changed"
            changes.append({"field": name, "change": change, "item_id": item_id, "signed": old, "current": new})
    return changes


def report_display(session: Session, job: Job, *, today=None) -> dict:
    """Everything a reader of the report sees besides the canonical fields:
    customer, site, asset and warranty, the ticket and its clocks, part names,
    the photos. For the signing page and the PDF; never hashed."""
    from media.models import Photo
    from server.customers.models import Asset, Customer, Site
    from server.db import utcnow
    from server.stock.models import Part
    from server.technicians.models import Technician
    from server.tickets.models import Ticket

    today = today or utcnow().date()
    ticket = session.get(Ticket, job.ticket_id)
    customer = session.get(Customer, ticket.customer_id) if ticket else None
    site = session.get(Site, ticket.site_id) if ticket else None
    asset = session.get(Asset, ticket.asset_id) if ticket and ticket.asset_id else None
    technician = session.get(Technician, job.technician_id) if job.technician_id else None
    usages = session.scalars(select(PartUsage).where(PartUsage.job_id == job.id)).all()
    parts = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_({u.part_id for u in usages})))} \
        if usages else {}
    photos = session.scalars(select(Photo).where(Photo.job_id == job.id).order_by(Photo.created_at, Photo.id)).all()
    warranty = None
    if asset is not None:
        warranty = {"under_warranty": asset.under_warranty(today),
                    "warranty_end": asset.warranty_end.isoformat() if asset.warranty_end else None}

    def t(value):
        return _time(value)

    return {
        "customer": {"name": customer.name, "contact_name": customer.contact_name, "phone": customer.phone}
        if customer else None,
        "site": {"name": site.name, "address": site.address, "city": site.city} if site else None,
        "asset": {"product_line": asset.product_line, "model": asset.model, "serial_number": asset.serial_number}
        if asset else None,
        "warranty": warranty,
        "ticket": {
            "reference": ticket.reference, "category": ticket.category.value, "summary": ticket.summary,
            "received_at": t(ticket.received_at), "response_due_at": t(ticket.response_due_at),
            "on_site_due_at": t(ticket.on_site_due_at), "resolve_due_at": t(ticket.resolve_due_at),
            "responded_at": t(ticket.responded_at), "on_site_at": t(ticket.on_site_at),
            "resolved_at": t(ticket.resolved_at),
        } if ticket else None,
        "technician": technician.name if technician else None,
        "parts": [{"id": str(u.id), "part_number": parts[u.part_id].part_number if u.part_id in parts else None,
                   "name": parts[u.part_id].name if u.part_id in parts else None, "quantity": u.quantity,
                   "serial_numbers": list(u.serial_numbers or []), "under_warranty": u.under_warranty}
                  for u in sorted(usages, key=lambda u: str(u.id))],
        "photos": [{"id": str(p.id), "kind": p.kind.value, "caption": p.caption, "blob_sha256": p.blob_sha256}
                   for p in photos],
        # Recorded after the customer signs, so not part of the signed form (version 2).
        "departed_at": t(job.departed_at),
        "customer_opinion": job.customer_opinion,
        "customer_rating": job.customer_rating.value if job.customer_rating else None,
    }
