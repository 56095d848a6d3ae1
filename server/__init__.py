"""FieldSync: the application factory."""

from __future__ import annotations

import os

from flask import Flask

from server.config import DefaultConfig, load_environment, normalise_database_url


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then the environment, then ``config`` (tests)."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("FIELDSYNC")
    load_environment(app.config)
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    _prepare_sqlite_folder(app)
    from server.serving import BoundedReads, InflateRequests

    # Outermost first: reads are bounded on the socket, then gzip bodies inflated (capped).
    app.wsgi_app = InflateRequests(app.wsgi_app, limit=int(app.config["MAX_CONTENT_LENGTH"]))
    app.wsgi_app = BoundedReads(app.wsgi_app, idle=float(app.config["REQUEST_READ_TIMEOUT_SECONDS"]),
                                body_seconds=float(app.config["REQUEST_BODY_SECONDS"]))
    if app.config["TRUSTED_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from server import database, metrics, request_log
    from server.api import register_api
    from server.cli import register_cli
    from server.extensions import compress, db, migrate
    from server.pages import register_pages

    request_log.init_app(app)
    compress.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    database.init_app(app)
    import server.models  # noqa: F401  (complete the metadata for Alembic)

    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    register_api(app)
    register_pages(app)
    register_cli(app)
    _check_settings(app)
    return app


def _check_settings(app: Flask) -> None:
    """Refuse an unknown time zone; warn (loudly, once per start) about the demo secret key."""
    from zoneinfo import ZoneInfo

    ZoneInfo(app.config["COMPANY_TIMEZONE"])  # raises on a name that is not a zone
    if app.config["SECRET_KEY"] == DefaultConfig.DEMO_SECRET_KEY:
        warn_demo_secret_key_once()


def warn_demo_secret_key_once() -> None:
    """Log the demo-key warning unless this process or its parent already did.

    gunicorn's master warns once before forking (deploy/gunicorn.conf.py); its
    workers and the media worker inherit the mark and stay quiet, so a start
    shows the warning once, not once per process."""
    import logging

    from server.config import DEMO_KEY_WARNED_ENV, DEMO_KEY_WARNING

    if os.environ.get(DEMO_KEY_WARNED_ENV) == "1":
        return
    os.environ[DEMO_KEY_WARNED_ENV] = "1"
    logging.getLogger("fieldsync").warning(DEMO_KEY_WARNING)


def _migrations_dir():
    from server.config import PROJECT_ROOT

    return PROJECT_ROOT / "migrations"


def _prepare_sqlite_folder(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:///:memory:"):
        from pathlib import Path

        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
