"""Registers the media resources (uploads, blobs, photos, signatures, the
report PDF), the customer signing page and the media CLI commands."""

from __future__ import annotations

import click
from flask import Flask


def register(app: Flask, api) -> None:
    from server.api import blobs, photos, reports, signatures, signing, uploads
    from server.pages import signing as signing_page

    for module in (uploads, blobs, photos, signatures, signing, reports):
        api.register_blueprint(module.blp)
    app.register_blueprint(signing_page.bp)
    _register_cli(app)


def _register_cli(app: Flask) -> None:
    @app.cli.command("media-worker")
    @click.option("--once", is_flag=True, help="Run what is due, then exit (cron, tests).")
    @click.option("--interval", default=1.0, show_default=True, help="Seconds between polls when idle.")
    def media_worker(once: bool, interval: float):
        """Make thumbnails and other after-commit media work."""
        import time

        from media import processing  # noqa: F401  (registers the task handlers)
        from media.tasks import run_pending
        from server.api.media_support import media_storage, upload_settings
        from server.extensions import db

        while True:
            ran = run_pending(db.session, media_storage(), upload_settings())
            if once:
                click.echo(f"ran {ran} task(s)")
                return
            if not ran:
                time.sleep(interval)

    @app.cli.command("media-purge-uploads")
    def media_purge_uploads():
        """Remove unfinished uploads past their expiry (run it from cron)."""
        from media.uploads import purge_expired
        from server.api.media_support import upload_settings
        from server.db import utcnow
        from server.extensions import db

        removed = purge_expired(db.session, upload_settings(), now=utcnow())
        db.session.commit()
        click.echo(f"removed {removed} expired upload(s)")
