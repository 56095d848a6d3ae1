"""The schema comes only from migrations: they upgrade from empty, match the
models exactly, and downgrade back to empty, on both databases."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from server import create_app
from server.database import include_object
from server.extensions import db
from tests.conftest import make_test_config, reset_postgres_schema


def scratch_database_url(database_url: str, tmp_path) -> str:
    """A database of its own, so that dropping everything does not touch the suite's."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    url = sa.engine.make_url(database_url)
    scratch = url.set(database=f"{url.database}_migrations")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                   {"n": scratch.database})
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    engine.dispose()
    scratch_url = scratch.render_as_string(hide_password=False)
    reset_postgres_schema(scratch_url)
    return scratch_url


def _tables(connection) -> set[str]:
    names = set(sa.inspect(connection).get_table_names())
    return {n for n in names if n != "alembic_version" and include_object(None, n, "table", True, None)}


def test_upgrade_matches_models_and_downgrades_to_empty(database_url, tmp_path):
    app = create_app(make_test_config(scratch_database_url(database_url, tmp_path), tmp_path))
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "include_object": include_object})
                diff = compare_metadata(context, db.metadata)
                assert diff == [], f"models and migrations disagree: {diff}"
                assert _tables(connection) == set(db.metadata.tables)
            downgrade(revision="base")
            with db.engine.connect() as connection:
                assert _tables(connection) == set()
            upgrade()  # the downgrade left nothing behind that blocks a new upgrade
        finally:
            db.engine.dispose()


def _index_definitions(connection, table: str) -> dict[str, str]:
    if connection.dialect.name == "postgresql":
        rows = connection.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"),
                                  {"t": table})
    else:
        rows = connection.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
                                          " AND sql IS NOT NULL"), {"t": table})
    return {name: " ".join(sql.split()) for name, sql in rows}


def test_change_log_scope_indexes_are_partial_and_the_op_log_has_no_key_checks(app):
    # Alembic's model comparison does not look at index predicates: checked here.
    with db.engine.connect() as connection:
        indexes = _index_definitions(connection, "sync_changes")
        for column in ("scope_job", "scope_location", "scope_technician"):
            definition = indexes[f"ix_sync_changes_{column}_position"]
            assert f"WHERE ({column} IS NOT NULL)" in definition or f"WHERE {column} IS NOT NULL" in definition
        unscoped = indexes["ix_sync_changes_unscoped_table_position"]
        assert all(f"{column} IS NULL" in unscoped for column in ("scope_job", "scope_location", "scope_technician"))
        assert "ix_sync_changes_table_name_position" not in indexes
        inspector = sa.inspect(connection)
        assert inspector.get_foreign_keys("sync_ops") == []
        # The op log's one index holds photos' operations only (WatermelonDB's created/updated).
        assert {i["name"] for i in inspector.get_indexes("sync_ops")} == {"ix_sync_ops_photo_record"}
        photo_index = _index_definitions(connection, "sync_ops")["ix_sync_ops_photo_record"]
        assert "WHERE" in photo_index and "'photos'" in photo_index


def test_0011_keeps_the_op_log_and_change_log_rows_both_ways(database_url, tmp_path):
    """Migration 0011 rebuilds indexes (and, on SQLite, the op log's table): rows written
    before it are all there after it, and after its downgrade."""
    import uuid
    from datetime import UTC, datetime

    app = create_app(make_test_config(scratch_database_url(database_url, tmp_path), tmp_path))
    with app.app_context():
        try:
            upgrade(revision="0010")
            user_id, op_id, job_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            now = datetime(2026, 12, 1, tzinfo=UTC)
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO users (id, username, display_name, password_hash, role, active, created_at,"
                    " updated_at) VALUES (:id, 'm', 'M', 'x', 'technician', :t, :now, :now)"),
                    {"id": user_id.hex if connection.dialect.name == "sqlite" else user_id, "t": True, "now": now})
                ops = sa.table("sync_ops", sa.column("op_id", sa.Uuid()), sa.column("user_id", sa.Uuid()),
                               sa.column("status", sa.String()), sa.column("outcome", sa.JSON()),
                               sa.column("received_at", sa.DateTime(timezone=True)))
                connection.execute(ops.insert().values(op_id=op_id, user_id=user_id, status="applied",
                                                       outcome={"status": "applied"}, received_at=now))
                changes = sa.table("sync_changes", *(sa.column(n) for n in (
                    "table_name", "record_id", "position", "version", "deleted", "changed_at")),
                    sa.column("scope_job", sa.Uuid()))
                connection.execute(changes.insert(), [
                    {"table_name": "parts", "record_id": "p1", "position": 1, "version": 1, "deleted": False,
                     "changed_at": now, "scope_job": None},
                    {"table_name": "adjustments", "record_id": "a1", "position": 2, "version": 1, "deleted": False,
                     "changed_at": now, "scope_job": job_id}])

            def rows():
                with db.engine.connect() as connection:
                    return (connection.execute(sa.select(ops.c.op_id, ops.c.status)).all(),
                            connection.execute(sa.select(changes.c.record_id, changes.c.position)
                                               .order_by(changes.c.position)).all())

            before = rows()
            assert before == ([(op_id, "applied")], [("p1", 1), ("a1", 2)])
            upgrade()
            assert rows() == before
            downgrade(revision="0010")
            assert rows() == before
        finally:
            db.engine.dispose()
