"""Parts used on site, consumed from stock set-wise.

The ledger owns the rules (:func:`server.stock.ledger.record_field_consumptions`:
idempotent per usage, never refused for lack of stock, warranty judged from the
asset, discrepancies for negative balances); this module hands it a push's
usages in one call and puts the van stock levels that moved into the change
log, since the ledger writes them with Core statements the session hooks do
not see. ``tests/test_sync_facts.py`` checks that the set-wise path and the
one-by-one path leave the same ledger behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from server.stock.ledger import record_field_consumptions
from sync import changelog


def consume(session: Session, usages: list[dict], *, at: datetime, warranty: dict | None = None) -> None:
    """Consume stock for these part usages (rows of ``part_usages``); ``warranty``:
    the push's own :func:`~server.stock.ledger.warranty_for_jobs` answer, so it is not asked twice."""
    for location_id, part_id in record_field_consumptions(session, usages, at=at, warranty=warranty):
        # Complete already (stock levels are unversioned, scoped by their
        # location, and exist once consumed from): nothing to read back at commit.
        changelog.record(session, changelog.Pending("stock_levels", f"{location_id}:{part_id}",
                                                    scope=(None, location_id, None), complete=True))
