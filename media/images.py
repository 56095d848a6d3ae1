"""Image safety, facts and copies, with Pillow (and pillow-heif for HEIC).

Everything here is plain functions over bytes or files; nothing knows HTTP or
the database. The order of checks matters for safety:

1. the format is recognised from the first bytes, never from a name or a
   declared type, and only JPEG, PNG, WebP and HEIC/HEIF are opened at all;
2. the pixel count is read from the header and checked against the limit
   before anything is decoded (a decompression bomb is a tiny file declaring
   huge dimensions);
3. the image is then decoded, cheaply where the format allows it (JPEG at
   1/8 scale), which is what finds truncated and corrupt files.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO
from zoneinfo import ZoneInfo

from PIL import Image, ImageFile, ImageOps

from server.exceptions import InvalidInput

# Never hand Pillow's own bomb check the last word (it only warns below 2x
# its limit); ours runs first, but keep Pillow's as a backstop.
ImageFile.LOAD_TRUNCATED_IMAGES = False

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}

TAG_ORIENTATION = 0x0112
TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME_ORIGINAL = 0x9011


class ImageRejected(InvalidInput):
    """Bytes refused as a photo. ``code`` says why:
    ``unsupported_image_format``, ``image_too_large``, ``image_truncated``, ``image_corrupt``."""

    code = "image_rejected"


@dataclass(frozen=True)
class ImageInfo:
    format: str  # JPEG, PNG, WEBP, HEIF
    content_type: str
    width: int  # after EXIF orientation
    height: int
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None


def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def sniff(head: bytes) -> str | None:
    """The format named by the first bytes (at least 16), or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _open(fp: BinaryIO, max_pixels: int) -> tuple[Image.Image, str]:
    """Open (header only) after sniffing; refuse before decoding anything large."""
    fp.seek(0)
    fmt = sniff(fp.read(32))
    fp.seek(0)
    if fmt is None:
        raise ImageRejected("not a JPEG, PNG, WebP or HEIC/HEIF image", code="unsupported_image_format")
    if fmt == "HEIF":
        _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fp, formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"the image has more than {max_pixels} pixels", code="image_too_large") from None
    except Exception as exc:  # Pillow raises many types for a bad header
        raise ImageRejected(f"the {fmt} header cannot be read: {exc}", code="image_corrupt") from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        image.close()
        raise ImageRejected(f"the image is {width}x{height}, more than {max_pixels} pixels",
                            code="image_too_large", details={"width": width, "height": height})
    return image, fmt


def inspect(fp: BinaryIO, *, max_pixels: int, naive_timezone: str = "UTC") -> ImageInfo:
    """Check that ``fp`` holds a whole, acceptable image and read its facts.

    Raises :class:`ImageRejected`. Decodes at most 1/8 scale for JPEG; other
    formats decode fully (their size is already bounded by ``max_pixels``).
    """
    image, fmt = _open(fp, max_pixels)
    try:
        exif = image.getexif()
        width, height = image.size
        if fmt == "JPEG":
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        try:
            image.load()
        except Exception as exc:  # truncated data shows up only when decoding
            truncated = "truncated" in str(exc).lower() or isinstance(exc, EOFError)
            raise ImageRejected(
                "the image data is truncated" if truncated else f"the image data is corrupt: {exc}",
                code="image_truncated" if truncated else "image_corrupt") from None
        orientation = _orientation(exif)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        latitude, longitude = gps_position(exif)
        return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height,
                         taken_at=capture_time(exif, naive_timezone), latitude=latitude, longitude=longitude)
    finally:
        image.close()


def _orientation(exif) -> int:
    try:
        value = int(exif.get(TAG_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _rational(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return float("nan")


def gps_position(exif) -> tuple[float | None, float | None]:
    """Latitude and longitude in degrees from the GPS IFD, or (None, None)."""
    try:
        gps = exif.get_ifd(TAG_GPS_IFD)
    except Exception:  # a broken GPS IFD is no position, not a broken photo
        return None, None
    try:
        lat = sum(_rational(v) / 60**i for i, v in enumerate(gps[2]))
        lon = sum(_rational(v) / 60**i for i, v in enumerate(gps[4]))
        if str(gps.get(1, "N")).upper().startswith("S"):
            lat = -lat
        if str(gps.get(3, "E")).upper().startswith("W"):
            lon = -lon
    except (KeyError, TypeError, ValueError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return round(lat, 7), round(lon, 7)


def capture_time(exif, naive_timezone: str = "UTC") -> datetime | None:
    """When the photo was taken, in UTC: DateTimeOriginal with its offset;
    else the GPS clock (UTC by definition); else DateTimeOriginal read in
    ``naive_timezone`` (the technicians' zone). A time off the calendar or
    outside 1970-2200 (a camera whose clock was never set) is no time."""
    try:
        found = _capture_time(exif, naive_timezone)
    except OverflowError:  # year 1 moved back by its offset
        return None
    return found if found is None or 1970 <= found.year <= 2200 else None


def _capture_time(exif, naive_timezone: str) -> datetime | None:
    try:
        sub = exif.get_ifd(TAG_EXIF_IFD)
    except Exception:  # a broken Exif IFD means no capture time
        sub = {}
    raw = sub.get(TAG_DATETIME_ORIGINAL) or exif.get(TAG_DATETIME)
    local = None
    if raw:
        try:
            local = datetime.strptime(str(raw).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            local = None
    offset = sub.get(TAG_OFFSET_TIME_ORIGINAL)
    if local and offset:
        try:
            sign = -1 if str(offset)[0] == "-" else 1
            hours, minutes = str(offset).strip("+- \x00").split(":")
            tz = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
            return local.replace(tzinfo=tz).astimezone(UTC)
        except (ValueError, IndexError):
            pass
    gps_time = _gps_time(exif)
    if gps_time:
        return gps_time
    if local:
        try:
            return local.replace(tzinfo=ZoneInfo(naive_timezone)).astimezone(UTC)
        except (KeyError, ValueError):
            return local.replace(tzinfo=UTC)
    return None


def _gps_time(exif) -> datetime | None:
    try:
        gps = exif.get_ifd(TAG_GPS_IFD)
        day = datetime.strptime(str(gps[29]).strip("\x00 "), "%Y:%m:%d")
        h, m, s = (_rational(v) for v in gps[7])
        return day.replace(tzinfo=UTC) + timedelta(hours=h, minutes=m, seconds=int(s))
    except Exception:  # absent or malformed GPS clock
        return None


def thumbnails(fp: BinaryIO, sizes: tuple[int, ...], *, max_pixels: int, quality: int = 85,
               draft: bool = True) -> dict[int, bytes]:
    """JPEG thumbnails whose longer side is each of ``sizes``, upright (EXIF
    orientation applied), without any metadata. JPEG sources are decoded at the
    smallest scale that still covers the largest thumbnail (draft mode)."""
    image, fmt = _open(fp, max_pixels)
    largest = max(sizes)
    with image:
        if fmt == "JPEG" and draft:
            w, h = image.size
            scale = largest / max(w, h)
            image.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
        upright = ImageOps.exif_transpose(image)
        current = _flatten(upright)
    out = {}
    for size in sorted(sizes, reverse=True):
        current = current.copy() if size == largest else current
        current.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        buffer = io.BytesIO()
        current.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        out[size] = buffer.getvalue()
    return out


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency is laid on white (not the black a plain convert gives)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def customer_copy(data: bytes, *, max_pixels: int) -> tuple[bytes, str]:
    """A copy safe to hand to a customer: no GPS position. JPEG keeps its
    pixels bit for bit (only the metadata segments are rewritten); other
    formats are re-encoded upright without metadata."""
    fmt = sniff(data[:32])
    if fmt == "JPEG":
        return strip_jpeg_location(data), "image/jpeg"
    image, fmt = _open(io.BytesIO(data), max_pixels)
    with image:
        upright = ImageOps.exif_transpose(image)
        buffer = io.BytesIO()
        if fmt == "PNG":
            upright.save(buffer, "PNG", optimize=True)
            return buffer.getvalue(), "image/png"
        _flatten(upright).save(buffer, "JPEG", quality=90)
        return buffer.getvalue(), "image/jpeg"


_EXIF_HEADER = b"Exif\x00\x00"


def strip_jpeg_location(data: bytes) -> bytes:
    """Rewrite a JPEG's metadata without its location: the EXIF GPS IFD is
    removed, and the XMP and IPTC segments (which may repeat it) are dropped.
    The compressed image data is copied unchanged."""
    if data[:2] != b"\xff\xd8":
        raise ImageRejected("not a JPEG", code="unsupported_image_format")
    out = bytearray(b"\xff\xd8")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageRejected("the JPEG structure is corrupt", code="image_corrupt")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[pos:]
            return bytes(out)
        if marker in (0x01, *range(0xD0, 0xD8)):
            out += data[pos:pos + 2]
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment = data[pos:pos + 2 + length]
        payload = segment[4:]
        pos += 2 + length
        if marker == 0xE1 and payload.startswith(_EXIF_HEADER):
            exif = Image.Exif()
            exif.load(payload)
            exif.get_ifd(TAG_GPS_IFD)
            if TAG_GPS_IFD in exif:
                del exif[TAG_GPS_IFD]
            new_payload = _EXIF_HEADER + exif.tobytes()
            out += b"\xff\xe1" + struct.pack(">H", len(new_payload) + 2) + new_payload
        elif marker == 0xE1 or marker == 0xED:  # XMP, extended XMP, IPTC
            continue
        else:
            out += segment
    raise ImageRejected("the JPEG has no image data", code="image_truncated")
