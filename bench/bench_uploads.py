"""Upload throughput through the tus endpoint against a plain file copy of the
same bytes, measured in the same run.

A real HTTP server (werkzeug, threaded, 127.0.0.1) runs the app on a
throw-away SQLite database and local storage; the client streams each photo
in PATCH requests of --chunk-mib. The tus figure is end to end: the bytes
cross the socket, are staged and fsynced, hashed, checked as an image and
copied into storage. The baseline copies the same file once, with fsync.

    .venv/bin/python bench/bench_uploads.py [--files 3] [--chunk-mib 4]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_photo(path: Path, seed: int, width=4032, height=3024) -> None:
    """A large JPEG (noisy, so it stays big): what a phone sends at worst."""
    import random

    from PIL import Image

    image = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    image.save(path, "JPEG", quality=80)


def copy_with_fsync(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())


def start_app(tmp: Path):
    import logging

    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from server import create_app
    from server.accounts.models import Role, User
    from server.accounts.passwords import hash_password
    from server.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}", "MEDIA_ROOT": str(tmp / "media"),
                      "LOG_LEVEL": "WARNING", "MEDIA_MAX_UPLOAD_BYTES": 256 * 1024 * 1024})
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        db.session.add(User(username="bench", display_name="bench", role=Role.dispatcher,
                            password_hash=hash_password("bench-password", "fast")))
        db.session.commit()
    token = app.test_client().post("/api/v1/auth/token", json={"username": "bench", "password": "bench-password"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", token.get_json()["access_token"]


def tus_upload(base: str, token: str, path: Path, chunk: int) -> None:
    import requests

    data_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    size = path.stat().st_size
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    with requests.Session() as http:
        created = http.post(f"{base}/api/v1/uploads/", timeout=60, headers={
            **headers, "Upload-Length": str(size),
            "Upload-Metadata": f"sha256 {base64.b64encode(data_sha.encode()).decode()}"})
        created.raise_for_status()
        location = created.headers["Location"]
        offset = 0
        with open(path, "rb") as source:
            while offset < size:
                body = source.read(chunk)
                response = http.patch(location, data=body, timeout=120, headers={
                    **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                if response.status_code != 204:
                    raise SystemExit(f"upload failed: {response.status_code} {response.text}")
                offset = int(response.headers["Upload-Offset"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3, help="photos to upload (default 3)")
    parser.add_argument("--chunk-mib", type=float, default=4, help="PATCH size in MiB (default 4)")
    args = parser.parse_args()
    count = max(1, min(args.files, 10))
    chunk = int(args.chunk_mib * 1024 * 1024)

    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as tmpdir:
        tmp = Path(tmpdir)
        paths = [tmp / f"photo-{i}.jpg" for i in range(count)]
        for i, path in enumerate(paths):
            make_photo(path, seed=i)
        total = sum(p.stat().st_size for p in paths)
        server, base, token = start_app(tmp)
        try:
            started = time.perf_counter()
            for i, path in enumerate(paths):
                copy_with_fsync(path, tmp / f"copy-{i}.jpg")
            copy_seconds = time.perf_counter() - started

            started = time.perf_counter()
            for path in paths:
                tus_upload(base, token, path, chunk)
            tus_seconds = time.perf_counter() - started
        finally:
            server.shutdown()

    mb = total / 1e6
    print(f"{count} photos, {mb:.1f} MB in all, PATCH size {args.chunk_mib:g} MiB, {os.cpu_count()} CPU(s)")
    print(f"plain file copy (fsync):     {mb / copy_seconds:8.1f} MB/s")
    print(f"tus upload, end to end:      {mb / tus_seconds:8.1f} MB/s")
    print(f"ratio tus / copy: {copy_seconds / tus_seconds:.3f} "
          "(the upload also crosses HTTP, stages, hashes, checks the image and stores)")


if __name__ == "__main__":
    main()
