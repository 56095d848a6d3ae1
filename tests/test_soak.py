"""The project's own soak (bench/soak.py) at CI size, on PostgreSQL: simulated
handhelds doing a day's work against two gunicorn processes through a
fault-injecting proxy, with SIGKILLs; afterwards exactly-once, stock per van,
every replica against the server field by field, every conflict's cause.

SQLite runs skip it (two app processes writing one SQLite file is not a
deployment FieldSync supports); in CI (FIELDSYNC_REQUIRE_POSTGRES=1) a missing
PostgreSQL fails, as every PostgreSQL test does (tests/conftest.py).
Run alone: ``pytest -m soak``; the larger size: ``bench/soak.py --size large``."""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import soak  # noqa: E402  (bench/ is not a package)

pytestmark = pytest.mark.soak


def test_soak_at_ci_size(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the soak runs two app processes on PostgreSQL; SQLite's run has no soak")
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("gunicorn is missing from the virtualenv (requirements.txt)")
    report = soak.run(database_url, soak.SIZES["ci"], seed_=7, media_root=str(tmp_path / "media"))
    print(report)
    assert report["failures"] == []
    assert report["ops"] > 0 and report["replicas"] == soak.SIZES["ci"].devices
    # The faults and kills really happened, so the checks above mean something.
    assert report["kills"] == soak.SIZES["ci"].kills
    assert all(report["faults"].get(kind) for kind in ("fail", "delay", "duplicate", "drop")), report["faults"]
    assert report["statuses"].get("applied")
