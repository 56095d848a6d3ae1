"""Liveness with a real database round trip."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from server.api.errors import error_response
from server.extensions import db

blp = Blueprint("health", __name__, description="Health checks")


@blp.route("/healthz")
class Health(MethodView):
    def get(self):
        """Check that the service and its database answer."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any database failure means unhealthy, whatever its kind
            db.session.rollback()
            return error_response(503, "database_unavailable", "The database does not answer.")
        return {"status": "ok", "database": db.engine.dialect.name}
