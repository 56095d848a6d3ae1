"""Fixtures: every test that takes ``app`` runs on SQLite and on PostgreSQL.

The schema is built by the real migrations (``alembic upgrade head``) once per
backend; after each test every table is emptied, so tests may commit freely
and use several connections, as production code does.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from server import create_app
from server.extensions import db

BACKENDS = ["sqlite", "postgresql"]


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _require_postgres() -> bool:
    return os.environ.get("FIELDSYNC_REQUIRE_POSTGRES") == "1"


def make_test_config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'fieldsync-test.db'}"
    url = _postgres_url()
    if url is None:
        if _require_postgres():
            pytest.fail("FIELDSYNC_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set")
    from server.config import normalise_database_url

    url = normalise_database_url(url)
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        if _require_postgres():
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL run skipped: TEST_DATABASE_URL is unreachable ({exc.orig})")
    return url


def reset_postgres_schema(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
        available = connection.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"))
        if available:
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_app(database_url, tmp_path_factory):
    """One app per backend, its database built by the real migrations."""
    from flask_migrate import upgrade

    if database_url.startswith("postgresql"):
        reset_postgres_schema(database_url)
    app = create_app(make_test_config(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def empty_all_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())


@pytest.fixture
def app(migrated_app):
    with migrated_app.app_context():
        yield migrated_app
        db.session.remove()
    empty_all_tables(migrated_app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def backend(app) -> str:
    return db.engine.dialect.name
pytest_plugins = ["tests.media_support"]  # media: moto S3 server fixture, image helpers


def tool_missing(reason: str):
    """Skip a test whose outside tool (node, moto) is absent, except in CI
    (FIELDSYNC_CI=1), where .ci/run installs every tool and a skip would hide a gap."""
    if os.environ.get("FIELDSYNC_CI") == "1":
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)
