"""An installed handheld updated to the schema with job expenses (version 3):
its own schema, migrations and models (handheld/src/data) on WatermelonDB in
Node keep every record and the unsynced work through the local migration, and
the first sync after the update brings the expenses the office had recorded on
its jobs (a migration sync), then pushes new ones once."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import Job
from server.reports.models import JobExpense
from tests import factories as f
from tests.conftest import tool_missing

HANDHELD = Path(__file__).parent.parent / "handheld"


def test_an_installed_app_updates_to_expenses_without_losing_anything(app, client, live_server):
    node = shutil.which("node")
    if node is None or not (HANDHELD / "node_modules" / "esbuild").is_dir():
        tool_missing("node and the handheld's packages (make app) are needed")
    tech = f.technician()
    job = f.job(tech=tech)
    job_id = str(job.id)
    office = f.login(client, f.user(Role.dispatcher).username)
    recorded = client.post(f"/api/v1/jobs/{job_id}/expenses", headers=office,
                           json={"kind": "transport", "amount": 88.8, "note": "顺丰"}).get_json()
    token = f.login_as(client, tech, device_id="upgraded-handheld")["Authorization"].split(" ", 1)[1]
    db.session.commit()
    result = subprocess.run([node, str(HANDHELD / "test" / "upgrade.mjs"),  # noqa: S603
                             json.dumps({"server": live_server, "token": token, "job": job_id})],
                            capture_output=True, text=True, timeout=120, cwd=HANDHELD, check=False)
    assert result.returncode == 0 and result.stdout, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["version"] == 3
    assert "job_expenses" not in out["oldPulledTables"]  # version 2 is not sent what it cannot hold
    # Kept through the local migration: the records and the work not yet synced.
    assert out["oldStatus"] == out["keptStatus"] == "updated" and out["keptWorkDone"] == "Done before the update"
    assert out["jobs"] == 1 and out["expensesBefore"] == 0
    # The migration sync: the new table's records, the office's expense among them.
    assert out["migration"] == {"from": 2, "tables": ["job_expenses"], "columns": []}
    assert out["pulledExpenses"] == [{"id": recorded["id"], "kind": "transport", "amount": 88.8, "status": "synced"}]
    assert out["workDoneSynced"] == "synced" and out["unsynced"] == 0 and not out["secondRejected"]
    db.session.expire_all()
    assert db.session.get(Job, job.id).work_done == "Done before the update"
    rows = {str(e.id): e for e in db.session.query(JobExpense).filter_by(job_id=job.id)}
    assert set(rows) == {recorded["id"], out["createdExpense"]}
    assert rows[out["createdExpense"]].amount == 12.3 and rows[out["createdExpense"]].distance_km == 8
    db.session.commit()
