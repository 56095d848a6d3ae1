"""Wire schemas for photos, signatures and signing links."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from media.models import PhotoKind
from schemas.base import BaseSchema, PageArgsSchema, page_of

SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Must be a hex SHA-256.")


class PhotoCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id; replaying it returns the same photo."})
    blob_sha256 = fields.String(required=True, validate=SHA256)
    kind = fields.Enum(PhotoKind, by_value=True, load_default=PhotoKind.other)
    caption = fields.String(allow_none=True, validate=validate.Length(max=2000))
    recorded_at = fields.AwareDateTime(allow_none=True, metadata={"description": "The device's clock; recorded only."})


class PhotoSchema(BaseSchema):
    id = fields.UUID()
    job_id = fields.UUID()
    blob_sha256 = fields.String()
    kind = fields.Enum(PhotoKind, by_value=True)
    caption = fields.String(allow_none=True)
    taken_at = fields.DateTime(allow_none=True, metadata={"description": "From EXIF, in UTC."})
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    blob_present = fields.Boolean(metadata={"description": "False until the bytes are uploaded."})


PhotoPageSchema = page_of(PhotoSchema, "PhotoPage")


class PhotoQuerySchema(PageArgsSchema):
    pass


class PointSchema(BaseSchema):
    x = fields.Float(required=True, validate=validate.Range(min=0, max=100_000))
    y = fields.Float(required=True, validate=validate.Range(min=0, max=100_000))
    t = fields.Integer(required=True, validate=validate.Range(min=0),
                       metadata={"description": "Milliseconds since the first point of the signature."})
    p = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1), metadata={"description": "Pressure."})


MAX_SIGNATURE_POINTS = 20_000  # as the sync path (sync.registry): a signature is drawn on every view


def _check_point_total(data) -> None:
    if sum(len(stroke) for stroke in data.get("strokes") or []) > MAX_SIGNATURE_POINTS:
        raise ValidationError(f"at most {MAX_SIGNATURE_POINTS} points in all", "strokes")


class SignatureCreateSchema(BaseSchema):
    id = fields.UUID()
    signer_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signer_role = fields.String(allow_none=True, validate=validate.Length(max=100))
    strokes = fields.List(fields.List(fields.Nested(PointSchema), validate=validate.Length(min=1, max=5000)),
                          required=True, validate=validate.Length(min=1, max=200))
    signed_at_device = fields.AwareDateTime(allow_none=True)
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    report_sha256 = fields.String(required=True, validate=SHA256,
                                  metadata={"description": "SHA-256 of the canonical report the signer saw (README)."})
    report = fields.Dict(metadata={"description": "The canonical report itself, to keep what was signed."})

    @validates_schema
    def _position_pairs(self, data, **kwargs):
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError("latitude and longitude come together", "latitude")
        _check_point_total(data)


class SignatureSchema(BaseSchema):
    id = fields.UUID()
    job_id = fields.UUID()
    signer_name = fields.String()
    signer_role = fields.String(allow_none=True)
    signed_at_device = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    report_sha256 = fields.String()
    signed_via = fields.String()
    stroke_count = fields.Integer()
    point_count = fields.Integer()


class ReportChangeSchema(BaseSchema):
    field = fields.String(required=True, metadata={"description": "Report field, e.g. work_done or parts_used."})
    change = fields.String(required=True, metadata={"description": "changed, added or removed."})
    item_id = fields.String(allow_none=True, metadata={"description": "For list items: the part usage or adjustment."})
    signed = fields.Raw(allow_none=True)
    current = fields.Raw(allow_none=True)


class SignatureStatusSchema(BaseSchema):
    signature = fields.Nested(SignatureSchema, required=True)
    valid = fields.Boolean(required=True, metadata={"description": "True when the report is still what was signed."})
    signed_report_sha256 = fields.String(required=True)
    current_report_sha256 = fields.String(required=True)
    changes = fields.List(fields.Nested(ReportChangeSchema), required=True)
    changes_known = fields.Boolean(required=True,
                                   metadata={"description": "False when only the hash was signed, so what changed "
                                                            "cannot be shown."})
    image_png_url = fields.String()
    image_svg_url = fields.String()


class SigningLinkCreateSchema(BaseSchema):
    ttl_seconds = fields.Integer(validate=validate.Range(min=60, max=7 * 24 * 3600))


class SigningLinkSchema(BaseSchema):
    id = fields.UUID()
    job_id = fields.UUID()
    token = fields.String(metadata={"description": "Shown once; only its hash is stored."})
    url = fields.String(metadata={"description": "The customer's signing page."})
    expires_at = fields.DateTime()


class SigningReportSchema(BaseSchema):
    report = fields.Dict(required=True, metadata={"description": "The canonical report (README)."})
    report_sha256 = fields.String(required=True)
    display = fields.Dict(required=True, metadata={"description": "What the page shows: customer, site, asset, parts."})
    expires_at = fields.DateTime(required=True)


class SigningSubmitSchema(BaseSchema):
    signer_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signer_role = fields.String(allow_none=True, validate=validate.Length(max=100))
    strokes = fields.List(fields.List(fields.Nested(PointSchema), validate=validate.Length(min=1, max=5000)),
                          required=True, validate=validate.Length(min=1, max=200))
    report_sha256 = fields.String(required=True, validate=SHA256)
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    signed_at_device = fields.AwareDateTime(allow_none=True)

    @validates_schema
    def _bounded(self, data, **kwargs):
        _check_point_total(data)
