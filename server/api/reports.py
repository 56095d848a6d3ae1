"""The signed work report as a PDF."""

from __future__ import annotations

import io

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from media import images, pdf, processing, signature_render, signatures
from media import report as reports
from media.models import Blob
from media.storage import blob_key
from server.accounts.models import Role
from server.api.jobs import get_visible_job
from server.api.media_support import media_storage, upload_settings
from server.api.security import requires
from server.extensions import db
from server.pages.locale import LANG_PARAMETER, request_locale

blp = Blueprint("reports", __name__, url_prefix="/api/v1/jobs", description="The signed work report")

MAX_PHOTOS = 24


def _thumbnail(blob: Blob) -> bytes | None:
    """The 256-px thumbnail (no metadata); made on the spot if the worker has not yet."""
    storage = media_storage()
    key = processing.thumbnail_key(blob.sha256, 256)
    if storage.exists(key):
        return storage.read_bytes(key)
    if not storage.exists(blob_key(blob.sha256)):
        return None
    with storage.open(blob_key(blob.sha256)) as stream:
        data = io.BytesIO(stream.read())
    return images.thumbnails(data, (256,), max_pixels=upload_settings().max_pixels)[256]


@blp.route("/<uuid:job_id>/report.pdf")
class JobReportPdf(MethodView):
    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.doc(responses={"200": {"description": "The work report as PDF", "content": {"application/pdf": {}}}},
             parameters=[LANG_PARAMETER])
    def get(self, job_id):
        """The work report as a PDF: customer, asset, ticket clocks, work, parts, photos, signature and evidence."""
        job = get_visible_job(job_id)
        report = reports.canonical_report(db.session, job)
        sha = reports.report_sha256(report)
        display = reports.report_display(db.session, job)
        signature = signatures.latest_signature(db.session, job)
        evidence, png = None, None
        if signature is not None:
            evidence = {"signer_name": signature.signer_name, "signer_role": signature.signer_role,
                        "signed_at_device": signature.signed_at_device.isoformat() if signature.signed_at_device
                        else None, "received_at": signature.received_at.isoformat(),
                        "latitude": signature.latitude, "longitude": signature.longitude,
                        "report_sha256": signature.report_sha256,
                        "valid": signatures.signature_status(db.session, job).valid}  # one rule (any form version)
            png = signature_render.render_png(signature.strokes)
        photos = []
        for info in display["photos"][:MAX_PHOTOS]:
            blob = db.session.get(Blob, info["blob_sha256"])
            thumb = _thumbnail(blob) if blob is not None else None
            if thumb:
                photos.append((info, thumb))
        db.session.commit()
        body = pdf.render_report_pdf(report, display, report_sha256=sha, signature=evidence, signature_png=png,
                                     photos=photos, locale=request_locale(),
                                     tz=current_app.config["COMPANY_TIMEZONE"])
        reference = (display.get("ticket") or {}).get("reference") or str(job.id)
        return Response(body, content_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="work-report-{reference}.pdf"',
            "Cache-Control": "private, no-cache", "Vary": "Cookie",
            "ETag": f'"{sha}-{signature.id if signature else "unsigned"}-{request_locale()}"'})
