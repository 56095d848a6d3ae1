"""Wire schemas of the notification outbox and webhook endpoints."""

from marshmallow import ValidationError, fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import enum_field
from server.notifications.models import KINDS, Audience, Channel, DeliveryStatus


def _kind_or_prefix(value: str) -> None:
    if value not in KINDS and not (value.endswith(".") and any(k.startswith(value) for k in KINDS)):
        raise ValidationError("Not a notification kind, nor a prefix of one ending in '.'.")


class AttemptSchema(BaseSchema):
    at = fields.DateTime()
    ok = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class DeliverySchema(BaseSchema):
    id = fields.UUID()
    notification_id = fields.UUID()
    channel = enum_field(Channel)
    address = fields.String(allow_none=True, metadata={"description": "Email address; null: the managers' list."})
    endpoint_id = fields.UUID(allow_none=True)
    endpoint_name = fields.String(attribute="endpoint.name", allow_none=True)
    status = enum_field(DeliveryStatus)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class NotificationSchema(BaseSchema):
    id = fields.UUID()
    kind = fields.String()
    audience = enum_field(Audience)
    subject = fields.String()
    body = fields.String()
    payload = fields.Dict()
    ref_type = fields.String(allow_none=True)
    ref_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    deliveries = fields.List(fields.Nested(DeliverySchema))


NotificationPageSchema = page_of(NotificationSchema, "NotificationPageSchema")


class NotificationQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    audience = enum_field(Audience)
    undelivered = fields.Boolean(metadata={"description": "Only those with a delivery pending or failed."})


class WebhookCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000))
    secret = fields.String(validate=validate.Length(min=16, max=200), metadata={
        "description": "The HMAC-SHA256 key; made for you when left out (shown once, in this answer)."})
    kinds = fields.List(fields.String(validate=_kind_or_prefix), load_default=list,
                        validate=validate.Length(max=100), metadata={
                            "description": "Kinds wanted, exact or a prefix ending in '.' (\"ticket.\"); "
                                           "empty: every kind. Kinds: " + ", ".join(KINDS) + "."})


class WebhookUpdateSchema(BaseSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    url = fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000))
    kinds = fields.List(fields.String(validate=_kind_or_prefix), validate=validate.Length(max=100))
    active = fields.Boolean()


class WebhookSchema(BaseSchema):
    id = fields.UUID()
    name = fields.String()
    url = fields.String()
    kinds = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String()


WebhookPageSchema = page_of(WebhookSchema, "WebhookPageSchema")
