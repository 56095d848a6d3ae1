from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of


class TokenRequestSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    device_id = fields.String(validate=validate.Length(min=1, max=128),
                              metadata={"description": "Required for technicians: the handheld's id."})
    app_version = fields.String(validate=validate.Length(max=32))


class TokenSchema(BaseSchema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    role = fields.String(required=True)
    user_id = fields.UUID(required=True)
    technician_id = fields.UUID(allow_none=True)
    device_id = fields.UUID(allow_none=True)


class MeSchema(BaseSchema):
    user_id = fields.UUID()
    username = fields.String()
    role = fields.String()
    technician_id = fields.UUID(allow_none=True)
    device_id = fields.UUID(allow_none=True)


class DeviceSchema(BaseSchema):
    id = fields.UUID(dump_only=True)
    user_id = fields.UUID(dump_only=True)
    username = fields.String(attribute="user.username", dump_only=True)
    device_key = fields.String(dump_only=True)
    app_version = fields.String(dump_only=True, allow_none=True)
    registered_at = fields.DateTime(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


DevicePageSchema = page_of(DeviceSchema, "DevicePage")


class DeviceQuerySchema(PageArgsSchema):
    username = fields.String()
    revoked = fields.Boolean()
