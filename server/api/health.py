"""Liveness with a real database round trip."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from media.tasks import queue_state
from server.api.errors import error_response
from server.db import utcnow
from server.extensions import db

blp = Blueprint("health", __name__, description="Health checks")


class MediaQueueSchema(Schema):
    pending = fields.Integer(required=True, metadata={"description": "Media tasks (thumbnails) not done yet."})
    oldest_seconds = fields.Float(required=True, allow_none=True,
                                  metadata={"description": "How long the oldest of them has waited; null when none "
                                                           "wait. Growing: no media worker is running."})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})
    database = fields.String(required=True, metadata={"description": "The database's dialect: sqlite or postgresql."})
    media_queue = fields.Nested(MediaQueueSchema, required=True)


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="The database does not answer (`database_unavailable`).")
    def get(self):
        """Check that the service and its database answer."""
        try:
            db.session.execute(text("SELECT 1"))
            pending, oldest = queue_state(db.session, utcnow())
            db.session.rollback()  # read-only
        except Exception:  # any database failure means unhealthy, whatever its kind
            db.session.rollback()
            return error_response(503, "database_unavailable", "The database does not answer.")
        return {"status": "ok", "database": db.engine.dialect.name,
                "media_queue": {"pending": pending, "oldest_seconds": oldest}}
