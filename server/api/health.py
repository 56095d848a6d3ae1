"""Liveness with a real database round trip."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from server.api.errors import error_response
from server.extensions import db

blp = Blueprint("health", __name__, description="Health checks")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})
    database = fields.String(required=True, metadata={"description": "The database's dialect: sqlite or postgresql."})


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="The database does not answer (`database_unavailable`).")
    def get(self):
        """Check that the service and its database answer."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any database failure means unhealthy, whatever its kind
            db.session.rollback()
            return error_response(503, "database_unavailable", "The database does not answer.")
        return {"status": "ok", "database": db.engine.dialect.name}
