"""Sync: push a batch of operations exactly once, pull changes since a cursor,
see and settle conflicts. The semantics live in ``sync/``; this only
translates HTTP.

Limits (configuration, environment ``FIELDSYNC_<NAME>``; a push may be sent
with ``Content-Encoding: gzip``, and the byte limit is then on the inflated body):

- ``SYNC_PUSH_MAX_OPS`` (default 1,000 operations per push) and
  ``SYNC_PUSH_MAX_BYTES`` (default 4 MiB per push body): past either, 413
  ``batch_too_large`` and nothing is applied; split the batch.
- ``SYNC_TOMBSTONE_RETENTION_DAYS`` (default 30): tombstones older than this
  are dropped by ``flask sync prune``; a cursor from before them gets 410
  ``resync_required``.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import Counter
from copy import deepcopy
from datetime import timedelta

import click
import orjson
from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.sync import (
    ConflictPageSchema,
    ConflictQuerySchema,
    ConflictResolveSchema,
    ConflictSchema,
    PullArgsSchema,
    PullResponseSchema,
    PushRequestSchema,
    PushResponseSchema,
    parse_operation,
)
from schemas.watermelon import (
    WatermelonPullArgsSchema,
    WatermelonPullResponseSchema,
    WatermelonPushArgsSchema,
    WatermelonPushResponseSchema,
)
from server.accounts.app_versions import APP_VERSION_HEADER, APP_VERSION_PARAMETER, check_app_version
from server.accounts.models import Role
from server.api.errors import ApiError
from server.api.security import current_principal, requires
from server.database import read_only_view, reads_only
from server.db import utcnow
from server.exceptions import PermissionDenied
from server.extensions import db
from server.metrics import record_push
from server.pagination import paginate
from sync import changelog, conflicts, watermelon
from sync.errors import BatchTooLarge, check_protocol
from sync.memory import no_cyclic_gc
from sync.models import SyncConflict
from sync.pull import PullPage, check_cursor, cursor_key, pull
from sync.push import Pusher, push
from sync.registry import operation_schemas

blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync",
                description="Offline sync: exactly-once push, gap-free pull, conflicts")


# A push that lost a race (the same op_ids committed by another connection,
# or a deadlock) is rolled back and applied again: it then finds duplicates.
PUSH_ATTEMPTS = 4


def limit_push_size(view):
    """413 before the body is parsed when it is larger than allowed."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        max_bytes = current_app.config["SYNC_PUSH_MAX_BYTES"]
        size = request.content_length
        if size is None:
            # A gzip body (server/serving.py inflates it) or a chunked one: the
            # limit is on the bytes it inflates to, read (and kept) here.
            request.max_content_length = max_bytes + 1
            try:
                size = len(request.get_data(cache=True))
            except RequestEntityTooLarge:
                size = max_bytes + 1
        if size > max_bytes:
            raise BatchTooLarge(f"a push may carry at most {max_bytes} bytes: split the batch",
                                details={"max_bytes": max_bytes, "max_ops": _max_ops()})
        return view(*args, **kwargs)

    return wrapper


def current_app_version(view):
    """426 ``app_update_required`` for a handheld app older than ``MIN_APP_VERSION``
    (its ``X-App-Version`` header), documented on the operation."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        check_app_version(request.headers.get(APP_VERSION_HEADER), current_app.config["MIN_APP_VERSION"])
        return view(*args, **kwargs)

    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual.setdefault("parameters", []).append(APP_VERSION_PARAMETER)
    manual.setdefault("responses", {})["426"] = {
        "description": "The app is older than the server's minimum version (`app_update_required`; "
                       "`details.minimum` names it).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    wrapper._apidoc = apidoc
    return wrapper


def _max_ops() -> int:
    return current_app.config["SYNC_PUSH_MAX_OPS"]


def technician_pusher() -> Pusher:
    principal = current_principal()
    if principal.technician_id is None:
        raise PermissionDenied("only a technician's handheld syncs", code="not_a_technician")
    return Pusher(technician_id=principal.technician_id, user_id=principal.user_id,
                  device_id=principal.device_id, van_location_id=principal.van_location_id)


def technician_pull(technician_id, device_id, cursor: str | None, limit: int) -> PullPage:
    """One page of the technician's pull, in a transaction of its own that only
    reads (on SQLite it begins deferred: it neither waits for nor holds the write
    lock). The pull endpoint and a push asked to carry the pull both answer with it."""
    with reads_only():
        page = pull(db.session, technician_id=technician_id, device_id=device_id, cursor=cursor, limit=limit,
                    key=cursor_key(current_app.config["SECRET_KEY"]))
        db.session.rollback()  # read-only
    return page


def apply_push(pusher: Pusher, operations: list):
    """Apply and commit, retrying a transaction that lost a race."""
    for attempt in range(PUSH_ATTEMPTS):
        try:
            result = push(db.session, pusher, operations, now=utcnow())
            db.session.commit()
            return result
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == PUSH_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def document_operations(spec) -> None:
    """The push's operations in the API document: one schema per writable
    table (generated from ``sync/registry.py``), chosen by ``table``."""
    refs = {}
    for name, schema in operation_schemas().items():
        if name not in spec.components.schemas:
            spec.components.schema(name, schema)
        refs[schema["properties"]["table"]["enum"][0]] = f"#/components/schemas/{name}"
    spec.components.schemas["PushRequest"]["properties"]["ops"]["items"] = {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "table", "mapping": refs},
    }


@blp.route("/push")
class Push(MethodView):
    @requires(Role.technician)
    @current_app_version
    @limit_push_size
    @blp.arguments(PushRequestSchema)
    @blp.response(200, PushResponseSchema)
    @blp.alt_response(413, description="More operations or bytes than a push may carry.")
    @blp.alt_response(400, description="Unsupported protocol version (the answer names the minimum).")
    @blp.alt_response(410, description="The push asked for the pull from a cursor older than the tombstone "
                                       "retention: nothing was applied; sync from scratch.")
    def post(self, body):
        """Apply a batch of operations from a handheld, each exactly once; with `pull`, the answer also
        carries the pull that follows (one round trip for both)."""
        check_protocol(body["protocol"])
        raw_ops = body["ops"]
        if len(raw_ops) > _max_ops():
            raise BatchTooLarge(f"a push may carry at most {_max_ops()} operations: split the batch",
                                details={"max_ops": _max_ops(), "received": len(raw_ops)})
        pusher = technician_pusher()
        wanted = body.get("pull")
        if wanted is not None:
            # Refused before anything is applied, as the pull itself would refuse it.
            check_cursor(db.session, wanted.get("cursor"), cursor_key(current_app.config["SECRET_KEY"]))
        with no_cyclic_gc():
            operations = [parse_operation(i, raw) for i, raw in enumerate(raw_ops)]
            result = apply_push(pusher, operations)
            record_push("fieldsync", Counter(r["status"] for r in result.results))
            answer = {"results": result.results, "missing_blobs": result.missing_blobs}
            if wanted is not None:
                # After the commit, exactly as a pull sent next would see it.
                answer["pull"] = technician_pull(pusher.technician_id, pusher.device_id, wanted.get("cursor"),
                                                 wanted["limit"]).as_dict()
            # orjson: the results are plain strings, integers and None; several times faster than jsonify.
            return current_app.response_class(orjson.dumps(answer, default=current_app.json.default),
                                              mimetype="application/json")


@blp.route("/pull")
class Pull(MethodView):
    @requires(Role.technician)
    @current_app_version
    @blp.arguments(PullArgsSchema, location="query")
    @blp.response(200, PullResponseSchema)
    @blp.alt_response(410, description="The cursor is older than the tombstone retention: sync from scratch.")
    @read_only_view
    def get(self, args):
        """Changes since a cursor in this technician's scope (no cursor: a first sync)."""
        check_protocol(args["protocol"])
        principal = current_principal()
        if principal.technician_id is None:
            raise PermissionDenied("only a technician's handheld syncs", code="not_a_technician")
        page = technician_pull(principal.technician_id, principal.device_id, args.get("cursor"), args["limit"])
        # Flask's own default() for anything orjson cannot encode, as jsonify would.
        return current_app.response_class(page.encode(default=current_app.json.default), mimetype="application/json")


@blp.route("/conflicts")
class Conflicts(MethodView):
    @requires(Role.admin, Role.dispatcher)
    @blp.arguments(ConflictQuerySchema, location="query")
    @blp.response(200, ConflictPageSchema)
    def get(self, args):
        """Conflicts (open ones by default), oldest first, with both values."""
        stmt = conflicts.open_conflicts_query(args["status"])
        return paginate(db.session, stmt, order_by=[SyncConflict.created_at, SyncConflict.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/conflicts/<uuid:conflict_id>/resolve")
class ResolveConflict(MethodView):
    @requires(Role.admin, Role.dispatcher)
    @blp.arguments(ConflictResolveSchema)
    @blp.response(200, ConflictSchema)
    def post(self, body, conflict_id: uuid.UUID):
        """Settle a conflict: keep the server's side, the device's, or set values."""
        conflict = conflicts.resolve(db.session, conflict_id, keep=body["keep"], values=body.get("values"),
                                     by_user_id=current_principal().user_id, now=utcnow(), note=body.get("note"))
        db.session.commit()
        return conflict


@blp.cli.command("backfill")
def backfill_command():
    """Log syncable records the change log does not know yet (data loaded before sync existed)."""
    count = changelog.backfill(db.session)
    db.session.commit()
    click.echo(f"logged {count} records")


@blp.cli.command("prune")
@click.option("--days", type=int, default=None, help="Retention in days (default: SYNC_TOMBSTONE_RETENTION_DAYS).")
def prune_command(days):
    """Drop tombstones older than the retention; older cursors must resync."""
    days = days if days is not None else current_app.config["SYNC_TOMBSTONE_RETENTION_DAYS"]
    dropped = changelog.prune(db.session, retention=timedelta(days=days), now=utcnow())
    db.session.commit()
    click.echo(f"dropped {dropped} tombstones older than {days} days")


# ---- WatermelonDB's protocol, on the same engine -------------------------------

def _watermelon_migration(raw: str | None):
    import json

    if raw in (None, "", "null"):
        return None
    return json.loads(raw)


@blp.route("/watermelon/pull")
class WatermelonPull(MethodView):
    @requires(Role.technician)
    @current_app_version
    @blp.arguments(WatermelonPullArgsSchema, location="query")
    @blp.response(200, WatermelonPullResponseSchema)
    @blp.alt_response(410, description="last_pulled_at is older than the tombstone retention: reset and sync.")
    def get(self, args):
        """WatermelonDB pullChanges: every change since last_pulled_at in this technician's scope."""
        pusher = technician_pusher()
        answer = watermelon.pull_changes(db.session, technician_id=pusher.technician_id, device_id=pusher.device_id,
                                         last_pulled_at=args.get("last_pulled_at"),
                                         migration=_watermelon_migration(args.get("migration")),
                                         schema_version=args.get("schema_version"))
        db.session.commit()  # the device's pull remembered for its push (nothing syncable is written)
        # orjson, as the protocol-1 pull: a first sync's thousands of plain values encode several times faster.
        return current_app.response_class(orjson.dumps(answer, default=current_app.json.default),
                                          mimetype="application/json")


@blp.before_request
def _read_push_body_first():
    """A push body the JSON check does not read (WatermelonDB's, sent as text/plain)
    is read here, before the view authenticates: no transaction is open while a slow
    or stalled phone sends it (on SQLite a transaction holds the write lock, and every
    other request would queue behind it and fail after the busy timeout)."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if request.method != "POST" or not getattr(getattr(view, "view_class", None), "reads_body_first", False):
        return
    max_bytes = current_app.config["SYNC_PUSH_MAX_BYTES"]
    if request.content_length is not None and request.content_length > max_bytes:
        return  # refused by limit_push_size without being read
    request.max_content_length = max_bytes + 1
    try:
        request.get_data(cache=True)  # kept: the view's own reads get these bytes
    except RequestEntityTooLarge:
        raise BatchTooLarge(f"a push may carry at most {max_bytes} bytes: split the batch",
                            details={"max_bytes": max_bytes, "max_ops": _max_ops()}) from None


@blp.route("/watermelon/push")
class WatermelonPush(MethodView):
    @requires(Role.technician)
    @current_app_version
    @limit_push_size
    @blp.arguments(WatermelonPushArgsSchema, location="query")
    @blp.response(200, WatermelonPushResponseSchema)
    def post(self, args):
        """WatermelonDB pushChanges: apply the changes exactly once, each record on its own; refused ones
        are named in experimentalRejectedIds (with the reasons in rejected)."""
        import json

        try:
            body = json.loads(request.get_data(cache=False) or b"{}")
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON.", code="malformed_json") from None
        changes = body.get("changes") if isinstance(body, dict) and isinstance(body.get("changes"), dict) else body
        if not isinstance(changes, dict):
            raise ApiError(422, "The body is a WatermelonDB changes object.", code="validation_error")
        pusher = technician_pusher()
        for attempt in range(PUSH_ATTEMPTS):
            try:
                answer = watermelon.push_changes(db.session, pusher, changes, last_pulled_at=args.get("last_pulled_at"),
                                                 now=utcnow())
                db.session.commit()
                received = sum(len(part.get(kind) or []) for part in changes.values() if isinstance(part, dict)
                               for kind in ("created", "updated", "deleted"))
                refused, rejected = len(answer["refused"]), len(answer["rejected"])
                record_push("watermelon", {"applied": max(received - refused - rejected, 0), "refused": refused,
                                           "rejected": rejected})
                return jsonify(answer)
            except (IntegrityError, OperationalError):
                db.session.rollback()
                if attempt == PUSH_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")


WatermelonPush.accepts_raw_body = True  # WatermelonDB's fetch() sends JSON as text/plain
WatermelonPush.reads_body_first = True  # ... read before authenticating (_read_push_body_first)
