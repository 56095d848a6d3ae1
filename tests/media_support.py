"""Fixtures and helpers for the media tests: moto's standalone S3 server on
127.0.0.1 (started and stopped by the tests) and real images made with Pillow."""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import tool_missing

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server in a thread of this process, on a free local port."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto[server] is in requirements-dev.txt
        tool_missing(f"S3 run skipped: moto server is not installed ({exc})")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_config(moto_endpoint, monkeypatch):
    """App configuration for the S3 backend on a fresh bucket."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    return {"MEDIA_BACKEND": "s3", "S3_ENDPOINT_URL": moto_endpoint, "S3_BUCKET": f"fs-{uuid.uuid4().hex[:12]}",
            "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _gps_ifd(lat: float, lon: float) -> dict:
    def dms(value: float):
        value = abs(value)
        d = int(value)
        m = int((value - d) * 60)
        s = round(((value - d) * 60 - m) * 60, 4)
        return (d, m, s)

    return {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}


def make_exif(*, orientation: int | None = None, taken: str | None = None, gps: tuple | None = None):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "FieldSyncTestCam"  # Make
    if orientation:
        exif[0x0112] = orientation
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
        exif.get_ifd(0x8769)[0x9011] = "+08:00"  # OffsetTimeOriginal
    if gps:
        exif.get_ifd(0x8825).update(_gps_ifd(*gps))
    return exif


def marked_image(width: int, height: int):
    """An image whose top-left quadrant is red and the rest blue: orientation
    is visible in the pixels."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (0, 0, 255))
    ImageDraw.Draw(image).rectangle([0, 0, width // 2 - 1, height // 2 - 1], fill=(255, 0, 0))
    return image


def jpeg_bytes(width=640, height=480, *, orientation=None, taken=None, gps=None, quality=85, image=None) -> bytes:
    image = image or marked_image(width, height)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=make_exif(orientation=orientation, taken=taken, gps=gps))
    return out.getvalue()


def image_bytes(fmt: str, width=320, height=240, **kwargs) -> bytes:
    if fmt == "JPEG":
        return jpeg_bytes(width, height, **kwargs)
    image = marked_image(width, height)
    out = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        image.save(out, "HEIF", quality=80, exif=make_exif(**kwargs).tobytes())
    else:
        image.save(out, fmt, exif=make_exif(**kwargs).tobytes())
    return out.getvalue()


# --- talking tus and running a live server -----------------------------------------------------------

TUS = {"Tus-Resumable": "1.0.0"}


def tus_metadata(**values: str) -> str:
    import base64

    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def tus_create(client, auth: dict, data: bytes, *, sha: str | None = None, body: bytes | None = None, **extra):
    headers = {**auth, **TUS, "Upload-Length": str(len(data)),
               "Upload-Metadata": tus_metadata(sha256=sha or sha256(data), filename="p.jpg"), **extra}
    if body is not None:
        headers["Content-Type"] = "application/offset+octet-stream"
    return client.post("/api/v1/uploads/", data=body, headers=headers)


def tus_patch(client, auth: dict, location: str, chunk: bytes, offset: int, **extra):
    headers = {**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
               **extra}
    return client.patch(location, data=chunk, headers=headers)


def tus_upload(client, auth: dict, data: bytes, *, chunk: int = 64 * 1024):
    """A whole upload through the test client; returns the last response."""
    created = tus_create(client, auth, data)
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    response = created
    for offset in range(0, len(data), chunk):
        response = tus_patch(client, auth, location, data[offset:offset + chunk], offset)
        if response.status_code != 204:
            return response
    return response


@pytest.fixture
def live_server(app):
    """The app on a real HTTP server on 127.0.0.1, for clients no one here wrote."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def run_worker(app):
    """Run the after-commit media tasks now (what ``flask media-worker`` does)."""
    from media import processing  # noqa: F401  (registers the handlers)
    from media.tasks import run_pending
    from server.api.media_support import media_storage, upload_settings
    from server.extensions import db

    with app.test_request_context():
        return run_pending(db.session, media_storage(), upload_settings())


@pytest.fixture
def fresh_media(app, tmp_path):
    """Media files of this test only: the app's storage and upload folder
    point into the test's tmp_path."""
    saved = {k: app.config.get(k) for k in ("MEDIA_ROOT", "MEDIA_UPLOAD_DIR", "MEDIA_BACKEND")}
    app.config.update(MEDIA_ROOT=str(tmp_path / "media"), MEDIA_UPLOAD_DIR=None, MEDIA_BACKEND="local")
    app.extensions.pop("fieldsync_media_storage", None)
    yield app.config["MEDIA_ROOT"]
    app.config.update(saved)
    app.extensions.pop("fieldsync_media_storage", None)


def noisy_jpeg(width=1600, height=1200, seed=1, quality=92) -> bytes:
    """A photo-sized JPEG (noise compresses poorly, like real photos)."""
    import random

    from PIL import Image

    image = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    return jpeg_bytes(image=image, quality=quality)


# --- the app served as `make run` serves it (gunicorn, deploy/gunicorn.conf.py) -------------------

class Gunicorn:
    """gunicorn with the production settings on a free 127.0.0.1 port, on the
    test's database and media folder; ``env`` adds FIELDSYNC_* settings (None removes one)."""

    def __init__(self, app, *, env: dict | None = None, workers: int = 1):
        import os
        import sys

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        import tempfile

        root = Path(__file__).resolve().parent.parent
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        environment = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                       "FIELDSYNC_SECRET_KEY": app.config["SECRET_KEY"], "FIELDSYNC_LOG_LEVEL": "WARNING",
                       "FIELDSYNC_MEDIA_ROOT": app.config["MEDIA_ROOT"], "FIELDSYNC_MEDIA_WORKER": "separate",
                       **(env or {})}
        environment = {name: value for name, value in environment.items() if value is not None}
        self.process = subprocess.Popen(  # noqa: S603  (our own gunicorn and config, no user input)
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(root / "deploy" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "wsgi:app"],
            cwd=root, env=environment, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        import requests

        for _ in range(600):  # a minute at most: the machine may be busy
            try:
                requests.get(self.url + "/healthz", timeout=5)
                return
            except requests.RequestException:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        output = self.output()
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {output[-3000:]}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            import signal

            self.process.send_signal(signal.SIGQUIT)  # quick shutdown (on_exit still stops the media worker)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
