"""Customer signatures (用户签字) and the signing links that collect them.

A signature is bound to the SHA-256 of the canonical report the customer saw
(:mod:`media.report`, version 2: only what the customer attests). It stays
valid while what it attests is unchanged — a departure recorded after signing
never invalidates it —; any other later edit makes it invalid, and the kept
snapshot shows what changed. Version 1 signatures are judged the same way.
Plain functions over a session; they never commit.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from media import report as reports
from media.models import Signature, SigningLink
from server.exceptions import AuthenticationFailed, Conflict, Gone, InvalidInput, NotFound
from server.jobs.models import Job


class SigningLinkGone(Gone):
    """The link was used already (``signing_link_used``) or expired (``signing_link_expired``): HTTP 410."""

    code = "signing_link_gone"


@dataclass(frozen=True)
class SignatureStatus:
    signature: Signature
    valid: bool
    signed_report_sha256: str
    current_report_sha256: str
    changes: list[dict]
    changes_known: bool


def record_signature(session: Session, job: Job, data: dict, *, now: datetime, via: str = "device") -> Signature:
    """Keep a signature with its evidence. ``data`` has the fields of
    ``SignatureCreateSchema``; ``report`` (optional) is the canonical report
    the device showed, kept so later edits can be shown. Replaying the same
    id returns the same signature."""
    if data.get("id") is not None:
        existing = session.get(Signature, data["id"])
        if existing is not None:
            if existing.job_id != job.id:
                raise Conflict("a signature on another job has this id", code="signature_id_taken")
            return existing
    current = reports.canonical_report(session, job)
    current_sha = reports.report_sha256(current)
    declared = data["report_sha256"].lower()
    snapshot = None
    if data.get("report") is not None:
        sent = data["report"]
        if not reports.is_canonical(sent) or sent.get("job_id") != str(job.id):
            raise InvalidInput("report is not this job's report in canonical form", code="report_not_canonical")
        if reports.report_sha256(sent) != declared:
            raise InvalidInput("report_sha256 is not the SHA-256 of the report sent", code="report_hash_mismatch",
                               details={"computed": reports.report_sha256(sent)})
        snapshot = sent
    else:
        snapshot = _signed_snapshot(session, job, declared, current)
    if via == "link" and declared != current_sha:
        raise Conflict("the report changed while it was open for signing; reload it", code="report_changed",
                       details={"current_report_sha256": current_sha})
    signature = Signature(
        id=data.get("id") or uuid.uuid4(), job_id=job.id, signer_name=data["signer_name"].strip(),
        signer_role=data.get("signer_role"), strokes=data["strokes"], signed_at_device=data.get("signed_at_device"),
        latitude=data.get("latitude"), longitude=data.get("longitude"), report_sha256=declared, received_at=now,
        report_snapshot=snapshot, signed_via=via)
    session.add(signature)
    session.flush()
    return signature


def complete_signature(session: Session, signature: Signature) -> None:
    """For signatures saved by other code (sync): keep the snapshot of the
    report when the signed hash is the current report's."""
    if signature.report_snapshot is not None:
        return
    job = session.get(Job, signature.job_id)
    if job is None:
        return
    signature.report_snapshot = _signed_snapshot(session, job, signature.report_sha256)


def _signed_snapshot(session: Session, job: Job, declared: str, current: dict | None = None) -> dict | None:
    """The report as it is now, in the canonical form version whose hash is the one signed (an app that
    still makes version 1 signs that), or None when neither matches."""
    current = current or reports.canonical_report(session, job)
    if reports.report_sha256(current) == declared:
        return current
    older = reports.canonical_report(session, job, version=1)
    return older if reports.report_sha256(older) == declared else None


def latest_signature(session: Session, job: Job) -> Signature | None:
    return session.scalar(select(Signature).where(Signature.job_id == job.id)
                          .order_by(Signature.received_at.desc(), Signature.id.desc()).limit(1))


def signature_status(session: Session, job: Job) -> SignatureStatus:
    """Whether the job's latest signature still matches its report, and what changed."""
    signature = latest_signature(session, job)
    if signature is None:
        raise NotFound("this job has no signature yet", code="signature_not_found")
    snapshot = signature.report_snapshot
    version = snapshot.get("version", reports.VERSION) if isinstance(snapshot, dict) else reports.VERSION
    current = reports.canonical_report(session, job)
    in_its_version = current if version == reports.VERSION else reports.canonical_report(session, job, version)
    current_sha = reports.report_sha256(in_its_version)
    valid = signature.report_sha256 == current_sha
    if not valid and snapshot is None:  # only the hash is known: it may be a version 1 hash
        valid = signature.report_sha256 == reports.report_sha256(reports.canonical_report(session, job, 1))
    if not valid and snapshot is not None:
        # What the customer attested is unchanged (a version 1 signature whose departure was recorded
        # later is still good): what is recorded after signing never invalidates it.
        valid = reports.attested(snapshot) == reports.attested(current)
    changes = [] if valid or snapshot is None else reports.diff_reports(snapshot, current)
    return SignatureStatus(signature=signature, valid=valid, signed_report_sha256=signature.report_sha256,
                           current_report_sha256=current_sha, changes=changes,
                           changes_known=valid or snapshot is not None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(session: Session, job: Job, *, created_by_id: uuid.UUID, now: datetime,
                ttl_seconds: int) -> tuple[SigningLink, str]:
    """A single-use link for the customer to sign this job's report. The token
    is returned once; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    link = SigningLink(job_id=job.id, token_hash=token_hash(token), created_by_id=created_by_id, created_at=now,
                       expires_at=now + timedelta(seconds=ttl_seconds))
    session.add(link)
    session.flush()
    return link, token


def open_link(session: Session, token: str | None, *, now: datetime) -> SigningLink:
    """The link behind a token, if it may still be used."""
    if not token:
        raise AuthenticationFailed("a signing-link token is required (X-Signing-Token)",
                                   code="missing_signing_token")
    link = session.scalar(select(SigningLink).where(SigningLink.token_hash == token_hash(token)))
    if link is None:
        raise NotFound("this signing link is not valid", code="signing_link_not_found")
    if link.used_at is not None:
        raise SigningLinkGone("this report has already been signed with this link", code="signing_link_used")
    if link.expires_at <= now:
        raise SigningLinkGone("this signing link has expired; ask the technician for a new one",
                              code="signing_link_expired")
    _check_link_still_in_scope(session, link)
    return link


def _check_link_still_in_scope(session: Session, link: SigningLink) -> None:
    """A link opens its job while the job is live and, for a link a technician
    made, while the job is still theirs: a cancelled job, or one reassigned to
    someone else, is no longer signed through the old technician's link."""
    from server.jobs.models import JobStatus
    from server.technicians.models import Technician

    job = session.get(Job, link.job_id)
    maker = session.scalar(select(Technician.id).where(Technician.user_id == link.created_by_id))
    if job is None or job.status is JobStatus.cancelled or (maker is not None and job.technician_id != maker):
        raise SigningLinkGone("this job was cancelled or handed to another technician; this link no longer "
                              "opens it", code="signing_link_revoked")


def sign_with_link(session: Session, token: str | None, data: dict, *, now: datetime) -> Signature:
    """The customer signs through the link: once. The link is spent by a
    conditional update, so two submissions racing each other cannot both win."""
    link = open_link(session, token, now=now)
    spent = session.execute(update(SigningLink).where(SigningLink.id == link.id, SigningLink.used_at.is_(None))
                            .values(used_at=now)).rowcount
    if spent != 1:
        raise SigningLinkGone("this report has already been signed with this link", code="signing_link_used")
    job = session.get(Job, link.job_id)
    signature = record_signature(session, job, {**data, "id": None, "report": None}, now=now, via="link")
    session.execute(update(SigningLink).where(SigningLink.id == link.id).values(signature_id=signature.id))
    return signature
