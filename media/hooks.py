"""Completes photo and signature records however they are saved.

The sync engine saves pushed Photo and Signature rows itself (it knows
nothing of media). So that a photo takes its blob's EXIF facts, and a
signature on the current report keeps a snapshot of it, whichever code path
inserted them, new rows are completed right after each flush, in the same
transaction: :func:`media.processing.photo_recorded` and
:func:`media.signatures.complete_signature`.

(Listeners on the Session class: every session, Flask's or a plain one.)
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from media.models import Photo, Signature

_KEY = "fieldsync_media_new_records"


@event.listens_for(Session, "after_flush")
def _collect_new_records(session: Session, _context) -> None:
    new = [obj for obj in session.new if isinstance(obj, (Photo, Signature))]
    if new:
        session.info.setdefault(_KEY, []).extend(new)


@event.listens_for(Session, "after_flush_postexec")
def _complete_new_records(session: Session, _context) -> None:
    records = session.info.pop(_KEY, None)
    if not records:
        return
    from media import processing, signatures
    from server.db import utcnow

    for record in records:
        if isinstance(record, Photo):
            processing.photo_recorded(session, record, now=utcnow())
        else:
            signatures.complete_signature(session, record)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
