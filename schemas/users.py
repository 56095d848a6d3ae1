"""User accounts on the wire (administered by admins)."""

from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import text
from server.accounts.models import Role

PASSWORD_RULE = validate.Length(min=10, max=1024, error="Use between 10 and 1024 characters.")


class UserCreateSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{3,64}$", error="3 to 64 letters, digits, dots, dashes or underscores."))
    display_name = text(200, required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    password = fields.String(required=True, load_only=True, validate=PASSWORD_RULE)


class UserUpdateSchema(BaseSchema):
    display_name = text(200)
    role = fields.Enum(Role, by_value=True)
    active = fields.Boolean(metadata={"description": "false disables the account and revokes its tokens."})


class PasswordResetSchema(BaseSchema):
    password = fields.String(required=True, load_only=True, validate=PASSWORD_RULE)


class UserSchema(BaseSchema):
    id = fields.UUID()
    username = fields.String()
    display_name = fields.String()
    role = fields.Enum(Role, by_value=True)
    active = fields.Boolean()
    technician_id = fields.UUID(attribute="technician.id", allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserQuerySchema(PageArgsSchema):
    role = fields.Enum(Role, by_value=True)
    active = fields.Boolean()
    q = text(100, metadata={"description": "Search in username and display name."})


UserPageSchema = page_of(UserSchema, "UserPage")
