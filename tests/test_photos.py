"""Photos: formats recognised from the bytes, refused inputs leave nothing
behind, EXIF orientation/time/GPS, thumbnails after commit, customer copies
without GPS, and photo records that arrive before or after their bytes."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from media import images
from media.models import Blob, MediaTask, Photo, Upload
from media.storage import blob_key
from server.accounts.models import Role
from server.api.media_support import media_storage
from server.extensions import db
from tests import factories as f
from tests.media_support import (
    image_bytes,
    jpeg_bytes,
    marked_image,
    noisy_jpeg,
    run_worker,
    sha256,
    tus_create,
    tus_patch,
    tus_upload,
)

pytestmark = pytest.mark.usefixtures("fresh_media")
MAX_PIXELS = 64_000_000
TAKEN = "2026:11:20 18:30:00"  # +08:00, i.e. 10:30 UTC
SHANGHAI = (31.2304, 121.4737)


@pytest.fixture
def tech(app):
    return f.technician()


@pytest.fixture
def auth(client, tech):
    return f.login_as(client, tech)


def _refused_leaves_nothing(client, auth, data: bytes, status: int, code: str):
    created = tus_create(client, auth, data)
    assert created.status_code == 201
    response = tus_patch(client, auth, created.headers["Location"], data, 0)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 0
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert not media_storage().exists(blob_key(sha256(data)))
    return response


# --- accepted formats ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                                ("WEBP", "image/webp"), ("HEIF", "image/heic")])
def test_each_accepted_format(client, auth, fmt, content_type):
    data = image_bytes(fmt, 320, 240, taken=TAKEN, gps=SHANGHAI)
    assert tus_upload(client, auth, data).status_code == 204
    blob = db.session.get(Blob, sha256(data))
    assert (blob.image_format, blob.content_type, blob.width, blob.height) == (fmt, content_type, 320, 240)
    assert blob.taken_at.isoformat() == "2026-11-20T10:30:00+00:00"
    assert (blob.latitude, blob.longitude) == pytest.approx(SHANGHAI, abs=1e-4)
    assert run_worker(client.application) == 1
    thumb = client.get(f"/api/v1/blobs/{blob.sha256}?variant=thumb-256", headers=auth)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.data)).size == (256, 192)


def test_iphone_style_heic(client, auth):
    """What an iPhone sends: HEIC (brand heic) shot in portrait (orientation 6),
    with Apple's make/model, an offset capture time and a GPS fix."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Apple", "iPhone 15 Pro", 6
    exif.get_ifd(0x8769).update({0x9003: TAKEN, 0x9011: "+08:00"})
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 13.0, 49.44), 3: "E", 4: (121.0, 28.0, 25.32)})
    out = io.BytesIO()
    marked_image(1008, 756).save(out, "HEIF", quality=70, exif=exif.tobytes())
    data = out.getvalue()
    assert data[4:12] == b"ftypheic"
    assert tus_upload(client, auth, data).status_code == 204
    blob = db.session.get(Blob, sha256(data))
    assert (blob.width, blob.height) == (756, 1008)  # portrait once upright
    assert blob.taken_at.isoformat() == "2026-11-20T10:30:00+00:00"
    assert (blob.latitude, blob.longitude) == pytest.approx(SHANGHAI, abs=1e-3)
    run_worker(client.application)
    thumb = Image.open(io.BytesIO(client.get(f"/api/v1/blobs/{blob.sha256}?variant=thumb-1024", headers=auth).data))
    assert thumb.size == (756, 1008)


def _upright_top_left_is_red(image: Image.Image) -> bool:
    w, h = image.size
    r, g, b = image.convert("RGB").getpixel((w // 8, h // 8))
    r2, g2, b2 = image.convert("RGB").getpixel((w - w // 8, h - h // 8))
    return r > 180 and b < 80 and b2 > 180 and r2 < 80


# The transform that undoes each orientation, applied here to make a JPEG
# whose *stored* pixels need that orientation to look upright.
_STORE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
          7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_with_each_exif_orientation_comes_out_upright(client, auth, orientation):
    upright = marked_image(400, 300)
    stored = upright.transpose(_STORE[orientation]) if _STORE[orientation] is not None else upright
    data = jpeg_bytes(image=stored, orientation=orientation, quality=95)
    assert tus_upload(client, auth, data).status_code == 204
    blob = db.session.get(Blob, sha256(data))
    assert (blob.width, blob.height) == (400, 300)
    run_worker(client.application)
    for size in (256, 1024):
        got = client.get(f"/api/v1/blobs/{blob.sha256}?variant=thumb-{size}", headers=auth)
        thumb = Image.open(io.BytesIO(got.data))
        assert thumb.size == ((256, 192) if size == 256 else (400, 300))
        assert _upright_top_left_is_red(thumb), f"orientation {orientation} not applied"
        assert not thumb.getexif()  # thumbnails carry no metadata at all


# --- refused inputs -----------------------------------------------------------------------------------

def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def _jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(jpeg_bytes(64, 48))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif() -> bytes:
    out = io.BytesIO()
    marked_image(32, 32).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize("make, status, code", [
    (lambda: b"%PDF-1.7 not a photo at all" * 10, 415, "unsupported_image_format"),
    (_gif, 415, "unsupported_image_format"),
    (lambda: bytes(range(256)) * 8, 415, "unsupported_image_format"),
    (lambda: noisy_jpeg(400, 300)[:20_000], 422, "image_truncated"),
    (lambda: image_bytes("PNG", 400, 300)[:-200], 422, "image_truncated"),
    (lambda: image_bytes("HEIF", 320, 240)[:-300], 422, "image_corrupt"),
    (lambda: _png_declaring(100_000, 100_000), 422, "image_too_large"),
    (lambda: _png_declaring(9_000, 9_000), 422, "image_too_large"),  # 81 MP: under Pillow's own limit, over ours
    (lambda: _jpeg_declaring(60_000, 60_000), 422, "image_too_large"),
], ids=["pdf", "gif", "junk", "truncated-jpeg", "truncated-png", "truncated-heic", "png-bomb", "png-81mp",
        "jpeg-bomb"])
def test_refused_inputs_get_a_clear_4xx_and_leave_nothing(client, auth, make, status, code):
    _refused_leaves_nothing(client, auth, make(), status, code)


def test_pixel_limit_is_checked_before_decoding():
    """The bomb is refused from its header: decoding a 10-gigapixel image would
    need 10 GB; refusing it takes no time and no memory."""
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(images.ImageRejected) as refused:
        images.inspect(io.BytesIO(_png_declaring(100_000, 100_000)), max_pixels=MAX_PIXELS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.code == "image_too_large"
    assert peak < 5 * 1024 * 1024


def test_inspect_reads_format_from_bytes_not_names():
    assert images.sniff(jpeg_bytes(8, 8)) == "JPEG"
    assert images.sniff(image_bytes("WEBP", 8, 8)) == "WEBP"
    assert images.sniff(b"GIF89a" + b"\x00" * 20) is None


# --- GPS and customer copies --------------------------------------------------------------------------

def test_customer_copy_drops_gps_and_keeps_the_rest(client, auth):
    data = jpeg_bytes(640, 480, taken=TAKEN, gps=SHANGHAI, orientation=1)
    assert tus_upload(client, auth, data).status_code == 204
    original = Image.open(io.BytesIO(client.get(f"/api/v1/blobs/{sha256(data)}", headers=auth).data))
    assert dict(original.getexif().get_ifd(0x8825))  # the office's copy keeps the position
    got = client.get(f"/api/v1/blobs/{sha256(data)}?variant=customer", headers=auth)
    assert got.status_code == 200 and got.headers["ETag"] == f'"{sha256(data)}-customer"'
    copy = Image.open(io.BytesIO(got.data))
    exif = copy.getexif()
    assert not dict(exif.get_ifd(0x8825))
    assert 0x8825 not in exif
    assert exif.get_ifd(0x8769)[0x9003] == TAKEN  # capture time stays
    assert copy.tobytes() == original.tobytes()  # pixels untouched: only metadata rewritten
    assert images.gps_position(exif) == (None, None)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_customer_copy_of_other_formats_has_no_gps(fmt):
    data = image_bytes(fmt, 200, 100, gps=SHANGHAI, taken=TAKEN)
    copy, content_type = images.customer_copy(data, max_pixels=MAX_PIXELS)
    image = Image.open(io.BytesIO(copy))
    assert images.gps_position(image.getexif()) == (None, None)
    assert content_type in ("image/png", "image/jpeg")


# --- after commit, and the two arrival orders ---------------------------------------------------------

def test_thumbnails_are_made_after_commit_by_the_worker(client, auth):
    data = jpeg_bytes(800, 600)
    assert tus_upload(client, auth, data).status_code == 204
    sha = sha256(data)
    pending = client.get(f"/api/v1/blobs/{sha}?variant=thumb-256", headers=auth)
    assert pending.status_code == 404 and pending.get_json()["error"]["code"] == "thumbnail_pending"
    assert pending.headers["Retry-After"]
    assert db.session.scalar(select(func.count()).select_from(MediaTask).where(MediaTask.done_at.is_(None))) == 1
    assert run_worker(client.application) == 1
    assert run_worker(client.application) == 0
    assert db.session.get(Blob, sha).thumbnails_at is not None
    assert client.get(f"/api/v1/blobs/{sha}?variant=thumb-256", headers=auth).status_code == 200


def test_rolled_back_work_queues_nothing(app):
    from media import tasks
    from server.db import utcnow

    tasks.enqueue(db.session, "thumbnails", "a" * 64, now=utcnow())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MediaTask)) == 0


def test_photo_record_before_its_blob(client, auth, tech):
    job = f.job(tech=tech)
    data = jpeg_bytes(640, 480, taken=TAKEN, gps=SHANGHAI)
    created = client.post(f"/api/v1/jobs/{job.id}/photos", headers=auth,
                          json={"blob_sha256": sha256(data), "kind": "fault", "caption": "压缩机漏油"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["blob_present"] is False and body["taken_at"] is None
    assert tus_upload(client, auth, data).status_code == 204
    photo = db.session.get(Photo, uuid.UUID(body["id"]))
    db.session.refresh(photo)
    assert photo.taken_at.isoformat() == "2026-11-20T10:30:00+00:00"
    assert (photo.latitude, photo.longitude) == pytest.approx(SHANGHAI, abs=1e-4)
    assert (photo.width, photo.height) == (640, 480)
    listed = client.get(f"/api/v1/jobs/{job.id}/photos", headers=auth).get_json()
    assert [p["blob_present"] for p in listed["items"]] == [True]


def test_photo_record_after_its_blob_and_replay(client, auth, tech):
    job = f.job(tech=tech)
    data = jpeg_bytes(640, 480, taken=TAKEN, gps=SHANGHAI)
    assert tus_upload(client, auth, data).status_code == 204
    payload = {"id": "6f1c1d53-4a8e-4c1a-9d5e-2b7a0c3e9f10", "blob_sha256": sha256(data), "kind": "after"}
    first = client.post(f"/api/v1/jobs/{job.id}/photos", headers=auth, json=payload).get_json()
    assert first["blob_present"] is True
    assert first["latitude"] == pytest.approx(SHANGHAI[0], abs=1e-4)
    again = client.post(f"/api/v1/jobs/{job.id}/photos", headers=auth, json=payload).get_json()
    assert again["id"] == first["id"]
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 1


def test_photos_of_someone_elses_job_are_not_found(client, auth):
    other_job = f.job(tech=f.technician())
    response = client.post(f"/api/v1/jobs/{other_job.id}/photos", headers=auth, json={"blob_sha256": "a" * 64})
    assert response.status_code == 404
    dispatcher = f.login_as(client, f.user(Role.dispatcher))
    assert client.get(f"/api/v1/jobs/{other_job.id}/photos", headers=dispatcher).status_code == 200


def test_photo_rows_saved_by_other_code_are_completed_too(client, auth, tech):
    """The sync engine inserts Photo rows itself; they take the blob's facts all the same."""
    job = f.job(tech=tech)
    data = jpeg_bytes(640, 480, taken=TAKEN, gps=SHANGHAI)
    assert tus_upload(client, auth, data).status_code == 204
    photo = Photo(job_id=job.id, blob_sha256=sha256(data), latitude=1.0, longitude=1.0)  # the device's guess
    db.session.add(photo)
    db.session.commit()
    assert photo.taken_at.isoformat() == "2026-11-20T10:30:00+00:00"
    assert (photo.latitude, photo.longitude) == pytest.approx(SHANGHAI, abs=1e-4)  # EXIF is the better witness


def test_transparent_png_thumbnail_is_laid_on_white():
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 100, 100))
    out = io.BytesIO()
    image.save(out, "PNG")
    thumb = Image.open(io.BytesIO(images.thumbnails(io.BytesIO(out.getvalue()), (256,), max_pixels=MAX_PIXELS)[256]))
    assert thumb.mode == "RGB"
    assert min(thumb.getpixel((250, 160))) > 240  # transparent became white, not black
    assert thumb.getpixel((10, 10))[0] > 150


def test_failed_task_is_retried_then_given_up(client, auth, app):
    from datetime import timedelta

    from media.storage import blob_key
    from media.tasks import MAX_ATTEMPTS
    from server.db import utcnow

    data = jpeg_bytes(320, 240)
    assert tus_upload(client, auth, data).status_code == 204
    media_storage().delete(blob_key(sha256(data)))  # the worker will not find the bytes
    clock = [utcnow()]
    from media.tasks import run_pending
    from server.api.media_support import upload_settings

    with app.test_request_context():
        for _ in range(MAX_ATTEMPTS):
            assert run_pending(db.session, media_storage(), upload_settings(), now=lambda: clock[0]) == 1
            clock[0] += timedelta(minutes=10)
        assert run_pending(db.session, media_storage(), upload_settings(), now=lambda: clock[0]) == 0
    db.session.expire_all()
    task = db.session.scalar(select(MediaTask))
    assert task.attempts == MAX_ATTEMPTS and task.done_at is not None
    assert "ObjectNotFound" in task.last_error
    assert db.session.get(Blob, sha256(data)).thumbnails_at is None


def test_a_claimed_task_is_not_run_twice_until_its_lease_runs_out(client, auth, app):
    from datetime import timedelta

    from media.tasks import LEASE, _claim
    from server.db import utcnow

    assert tus_upload(client, auth, jpeg_bytes(320, 240)).status_code == 204
    now = utcnow()
    assert _claim(db.session, now) is not None
    db.session.commit()  # a worker claimed it, then died
    assert _claim(db.session, now + LEASE - timedelta(seconds=1)) is None
    db.session.rollback()
    assert _claim(db.session, now + LEASE + timedelta(seconds=1)) is not None
    db.session.rollback()
