"""Helpers for the sync tests: a handheld that pushes and pulls over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests import factories as f

PROTOCOL = 1


def op(table: str, record_id, action: str = "update", fields: dict | None = None, base_version: int | None = None,
       op_id=None, device_time: datetime | None = None) -> dict:
    out = {"op_id": str(op_id or uuid.uuid4()), "table": table, "id": str(record_id), "action": action,
           "fields": fields or {}}
    if base_version is not None:
        out["base_version"] = base_version
    if device_time is not None:
        out["device_time"] = device_time.astimezone(UTC).isoformat()
    return out


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check_in(job_id=None, kind="arrival", lat=31.2, lng=121.4, **kw) -> dict:
    fields = {"kind": kind, "latitude": lat, "longitude": lng}
    if job_id is not None:
        fields["job_id"] = str(job_id)
    return op("check_ins", uuid.uuid4(), "create", fields, **kw)


def adjustment(job_id, parameter="pressure", before="1.0", after="1.2", record_id=None, **kw) -> dict:
    return op("adjustments", record_id or uuid.uuid4(), "create",
              {"job_id": str(job_id), "parameter": parameter, "value_before": before, "value_after": after}, **kw)


def part_usage(job_id, part_id, quantity=1, record_id=None, **fields) -> dict:
    return op("part_usages", record_id or uuid.uuid4(), "create",
              {"job_id": str(job_id), "part_id": str(part_id), "quantity": quantity, **fields})


class Handheld:
    """A technician's device talking to the real HTTP API."""

    def __init__(self, client, technician, device_id: str = "handheld-1"):
        self.client = client
        self.technician = technician
        self.headers = f.login_as(client, technician, device_id=device_id)
        self.cursor: str | None = None
        self.copy: dict[tuple[str, str], dict] = {}
        self.versions: dict[tuple[str, str], int] = {}

    def push(self, ops: list[dict], expect: int = 200, **body):
        response = self.client.post("/api/v1/sync/push", json={"protocol": PROTOCOL, "ops": ops, **body},
                                    headers=self.headers)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def pull_page(self, cursor=None, limit=1000, expect=200):
        query = {"protocol": PROTOCOL, "limit": limit}
        if cursor:
            query["cursor"] = cursor
        response = self.client.get("/api/v1/sync/pull", query_string=query, headers=self.headers)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def pull(self, limit=1000) -> list[dict]:
        """Pull until done, applying every change to the local copy."""
        received = []
        while True:
            page = self.pull_page(self.cursor, limit)
            for change in page["changes"]:
                key = (change["table"], change["id"])
                if change["deleted"]:
                    self.copy.pop(key, None)
                    self.versions.pop(key, None)
                else:
                    self.copy[key] = change["fields"]
                    self.versions[key] = change["version"]
                received.append(change)
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return received


def days(n: int) -> timedelta:
    return timedelta(days=n)
