"""The sync engine's own tables: the change log, scope exits, the position
counter, the record of applied operations and the conflict records."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, new_uuid, utcnow


def _partial(condition: str) -> dict:
    """An index's condition, on both databases."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class SyncChange(Base):
    """The latest change of one syncable record, at a server-given position.

    One row per record: a later change moves the row to a later position, so a
    first sync reads each record once and an incremental pull reads only what
    changed. ``deleted`` rows are tombstones, kept for the retention period.
    Positions are allocated at commit, in commit order (see ``changelog``), so
    a reader that has seen position ``p`` has seen every change below ``p``.
    """

    __tablename__ = "sync_changes"
    # A record has at most one scope column set: each scope index holds only
    # the rows that have it (partial), so a change row is written into one
    # index of these four instead of all of them (pulls name the scope, or for
    # unscoped tables say it is null, so they use these indexes as before).
    __table_args__ = (
        Index("ix_sync_changes_scope_job_position", "scope_job", "position", **_partial("scope_job IS NOT NULL")),
        Index("ix_sync_changes_scope_location_position", "scope_location", "position",
              **_partial("scope_location IS NOT NULL")),
        Index("ix_sync_changes_scope_technician_position", "scope_technician", "position",
              **_partial("scope_technician IS NOT NULL")),
        # Records with no scope (the catalogue, and tickets, customers, sites and assets reached by id)
        # by table: the catalogue's pull reads it (sync.pull.scope_filter says so); scoped rows, nearly
        # all of them, stay out.
        Index("ix_sync_changes_unscoped_table_position", "table_name", "position",
              **_partial("scope_job IS NULL AND scope_location IS NULL AND scope_technician IS NULL")),
    )

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The record's key as text: a UUID, or "<location>:<part>" for stock levels.
    record_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, unique=True)
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The device whose push produced exactly this state (its pulls skip it).
    origin_device: Mapped[uuid.UUID | None]
    # Who may see it: a job, a stock location (van) or a technician; records
    # reached through a job's ticket (tickets, customers, sites, assets) and
    # the global catalogue have none and are matched by id / table.
    scope_job: Mapped[uuid.UUID | None]
    scope_location: Mapped[uuid.UUID | None]
    scope_technician: Mapped[uuid.UUID | None]
    # {field: [version it last changed at, device id or null]}: what conflict
    # detection compares an update's base_version with.
    field_versions: Mapped[dict | None] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncScopeExit(Base):
    """A record that left one technician's scope (job reassigned or removed):
    pulled by that technician as a tombstone."""

    __tablename__ = "sync_scope_exits"
    __table_args__ = (Index("ix_sync_scope_exits_technician_position", "technician_id", "position"),)

    position: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                          autoincrement=False)
    technician_id: Mapped[uuid.UUID]
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class SyncFormerJob(Base):
    """A job that left a technician's hands (reassigned away). Unlike scope
    exits it is never pruned: whatever that technician did on the job offline
    is taken whenever it is pushed (see ``sync.scope.former_jobs``)."""

    __tablename__ = "sync_former_jobs"

    technician_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncCounter(Base):
    """One row: the last position given out, and the highest position of a
    tombstone removed by retention (cursors below it must resync)."""

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    pruned_through: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncOp(Base):
    """A pushed operation, written in the same transaction as its effects:
    the proof that it took effect, and its first outcome for replays.

    Who pushed it (user, device) is provenance copied from the request's
    authenticated token, without foreign keys or indexes: this log takes a
    row for every operation ever pushed, users and devices are never deleted
    (retired, revoked), and on PostgreSQL the two key checks cost more per
    row than writing it. Rows are only ever looked up by ``op_id``."""

    __tablename__ = "sync_ops"
    # Photos are the one fact the server changes after a device created it (the media
    # worker reads its image facts): a WatermelonDB pull asks whether this device
    # created the photo it sends (``created`` or ``updated``). Few rows enter it.
    __table_args__ = (Index("ix_sync_ops_photo_record", "record_id", **_partial("table_name = 'photos'")),)

    op_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    device_id: Mapped[uuid.UUID | None]
    table_name: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[dict] = mapped_column(JSON)
    # The device's clock: recorded, never used to order anything.
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncConflict(Base):
    """Both sides changed the same thing: what was kept, what lost, and how a
    dispatcher settled it."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_status_created_at", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(80), index=True)
    # field_conflict, cancelled_while_worked, reassigned_while_worked
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="open")
    # {field: {"server": v, "device": v, "kept": "server"|"device"}}
    fields: Mapped[dict] = mapped_column(JSON)
    op_id: Mapped[uuid.UUID | None]
    device_id: Mapped[uuid.UUID | None]
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    base_version: Mapped[int | None]
    version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class SyncWatermelonDevice(Base):
    """What WatermelonDB's protocol remembers of a device between its syncs
    (``sync.watermelon``): its latest pull (the timestamp it answered and the
    ``last_pulled_at`` it was asked from: a push from that timestamp was made
    on records that pull may have merged on the device), and how far its
    pushes have come (``out_of_scope`` tombstones of records it may edit wait
    until it has pushed what it did before learning of them)."""

    __tablename__ = "sync_watermelon_devices"

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pulled_through: Mapped[int] = mapped_column(BigInteger, default=0)
    pulled_since: Mapped[int] = mapped_column(BigInteger, default=0)
    # The highest last_pulled_at of its pushes, and the value before the latest push moved it.
    pushed_through: Mapped[int] = mapped_column(BigInteger, default=0)
    pushed_before: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
