"""A test-only server that can die at chosen moments of a request's commit.

``python -m tests.crash_server PORT`` serves the app (``DATABASE_URL`` from
the environment) on 127.0.0.1 for at most ``CRASH_SERVER_SECONDS`` (default
120). A request carrying ``X-Test-Crash: before-commit`` kills the process
(SIGKILL) after the change log is written but before COMMIT; with
``after-commit`` it dies after COMMIT, before answering. No crash hook lives
in production code: they are registered here only.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from server import create_app


def _die_if(moment: str) -> None:
    if has_request_context() and request.headers.get("X-Test-Crash") == moment:
        os.kill(os.getpid(), signal.SIGKILL)


def build_app():
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret"})
    # Registered after the change log's own hook, so "before-commit" dies
    # with everything written and nothing committed.
    event.listen(Session, "before_commit", lambda session: _die_if("before-commit"))
    event.listen(Session, "after_commit", lambda session: _die_if("after-commit"))
    return app


def main() -> None:
    port = int(sys.argv[1])
    deadline = time.monotonic() + float(os.environ.get("CRASH_SERVER_SECONDS", "120"))
    server = make_server("127.0.0.1", port, build_app())
    server.timeout = 0.5
    while time.monotonic() < deadline:
        server.handle_request()


if __name__ == "__main__":
    main()
