"""Flask CLI commands: ``flask seed-demo``, ``flask escalate-breaches``."""

from __future__ import annotations

import click
from flask import Flask

from server.db import utcnow
from server.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("escalate-breaches")
    def escalate_breaches_command():
        """Escalate every open ticket that missed a clock (run it from cron)."""
        from server.tickets.service import escalate_breaches

        escalated = escalate_breaches(db.session, now=utcnow())
        db.session.commit()
        click.echo(f"escalated {len(escalated)} ticket(s)")
