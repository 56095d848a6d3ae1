"""Fixtures and helpers for the media tests: moto's standalone S3 server on
127.0.0.1 (started and stopped by the tests) and real images made with Pillow."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server in a thread of this process, on a free local port."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto[server] is in requirements-dev.txt
        pytest.skip(f"S3 run skipped: moto server is not installed ({exc})")
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
        exif.get_ifd(0x8769)[0x9010] = "+08:00"  # OffsetTimeOriginal
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
