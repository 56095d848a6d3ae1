"""Flask CLI commands: ``flask seed-demo``, ``flask escalate-breaches``, the media worker."""

from __future__ import annotations

import click
from flask import Flask, current_app

from server.db import utcnow
from server.extensions import db


def register_cli(app: Flask) -> None:
    register_media_cli(app)
    register_quality_cli(app)

    @app.cli.command("escalate-breaches")
    def escalate_breaches_command():
        """Escalate every open ticket that missed a clock (run it from cron)."""
        from server.tickets.service import escalate_breaches

        escalated = escalate_breaches(db.session, now=utcnow())
        db.session.commit()
        click.echo(f"escalated {len(escalated)} ticket(s)")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has users already.")
    @click.option("--seed", default=2026, show_default=True, help="Random seed: the same seed, the same data.")
    @click.option("--refresh", is_flag=True,
                  help="When the database already holds the demo, move its clocks forward to now (make run does).")
    def seed_demo_command(if_empty: bool, seed: int, refresh: bool):
        """Load the demo data set (demo accounts use DEMO_PASSWORD)."""
        from server.accounts.passwords import hash_password
        from server.demo.seed import build_demo, database_is_empty
        from server.tickets.clocks import ClockPolicy

        if not database_is_empty(db.session) and refresh:
            from server.demo.rebase import rebase

            shift = rebase(db.session, now=utcnow())
            db.session.commit()
            click.echo("seed-demo: not a demo database; left as it is" if shift is None
                       else f"seed-demo: demo clocks moved forward by {shift}")
            return
        if not database_is_empty(db.session):
            if if_empty:
                click.echo("seed-demo: the database already has data; left as it is")
                return
            raise click.ClickException("the database is not empty; seed-demo only fills an empty one")
        config = current_app.config
        defaults = ClockPolicy(config["SLA_RESPONSE_HOURS"], config["SLA_ON_SITE_HOURS"],
                               config["SLA_RESOLVE_HOURS"], "default")
        # One hash for every demo account: Argon2 is slow on purpose.
        # The demo's survey links point where make run serves (HOST, PORT as deploy/gunicorn.conf.py reads them).
        import os

        site_url = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
        summary = build_demo(db.session, password_hash=hash_password(config["DEMO_PASSWORD"]), now=utcnow(),
                             seed=seed, defaults=defaults, site_url=site_url)
        db.session.commit()
        click.echo("seed-demo: " + ", ".join(f"{n} {name}" for name, n in summary.counts.items()))
        click.echo("demo accounts: admin, dispatcher, dispatcher2, warehouse, tech01..tech50 "
                   "(password: DEMO_PASSWORD, default fieldsync-demo)")


def register_media_cli(app: Flask) -> None:
    """The media worker and upload housekeeping commands."""
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


def register_quality_cli(app: Flask) -> None:
    @app.cli.command("return-visits-schedule")
    def return_visits_schedule():
        """Daily (cron): extend every installed asset's return-visit calls to the horizon and queue
        today's reminders to the customers."""
        from zoneinfo import ZoneInfo

        from server.quality.return_visits import remind, schedule_all

        zone = ZoneInfo(current_app.config.get("COMPANY_TIMEZONE") or "Asia/Shanghai")
        today = utcnow().astimezone(zone).date()
        totals = schedule_all(db.session, today=today)
        reminded = remind(db.session, day=today, now=utcnow())
        db.session.commit()
        click.echo(f"return visits: {totals['assets']} asset(s), {totals['added']} added, {totals['removed']} removed;"
                   f" {reminded} reminder(s) queued")

    @app.cli.command("notify-worker")
    @click.option("--once", is_flag=True, help="Deliver what is due, then exit (cron, tests).")
    @click.option("--interval", default=5.0, show_default=True, help="Seconds between polls when idle.")
    @click.option("--batch", default=50, show_default=True, help="Deliveries per transaction.")
    def notify_worker(once: bool, interval: float, batch: int):
        """Deliver the notification outbox: email over SMTP, signed webhooks; retries with back-off."""
        import time

        from server.notifications.delivery import DeliverySettings, deliver_due

        settings = DeliverySettings.from_config(current_app.config)
        while True:
            counts = deliver_due(db.session, settings, now=utcnow(), limit=batch)
            db.session.commit()
            if once:
                click.echo(f"delivered {counts['delivered']}, failed {counts['failed']}")
                return
            if not counts["delivered"] and not counts["failed"]:
                time.sleep(interval)
