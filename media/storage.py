"""Blob storage behind one interface: local files (default) or an
S3-compatible object store, chosen by configuration.

Implementations take their settings as arguments and never read
``current_app``; :func:`storage_from_config` is the one place that maps the
app's configuration onto them. Keys are slash-separated relative paths
(``blobs/ab/cd/abcd...``); callers build them with :func:`blob_key` and
:func:`derived_key`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class StorageError(Exception):
    """The backend failed (disk, network, permissions)."""


class ObjectNotFound(StorageError):
    """No object under that key."""


def check_key(key: str) -> str:
    """Refuse keys that could escape the store (``..``, absolute paths, empty parts)."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def blob_key(sha256: str) -> str:
    """Where a blob's original bytes live. Two levels of fan-out keep
    directories small on local disks."""
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def derived_key(sha256: str, name: str) -> str:
    """Where a copy made from a blob lives (thumbnails, customer copies)."""
    return f"derived/{sha256[:2]}/{sha256[2:4]}/{sha256}/{name}"


class Storage(ABC):
    """The storage contract (see ``tests/test_storage.py``, run on every backend).

    - :meth:`put` stores a whole object from a readable binary file, streaming
      it; the object appears atomically (a reader never sees part of it) and
      replaces any object under the same key.
    - :meth:`open` returns a readable binary stream, :meth:`iter_chunks` the
      same as an iterator; both raise :class:`ObjectNotFound`.
    - :meth:`size` is the byte length, or ``None`` when absent.
    - :meth:`delete` is idempotent: deleting a missing key is not an error.
    """

    name = "abstract"

    @abstractmethod
    def put(self, key: str, fileobj: BinaryIO, *, content_type: str = "application/octet-stream") -> None: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    @abstractmethod
    def size(self, key: str) -> int | None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def put_bytes(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        import io

        self.put(key, io.BytesIO(data), content_type=content_type)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE, *, start: int = 0,
                    end: int | None = None) -> Iterator[bytes]:
        """The object's bytes ``start``..``end`` (inclusive; None: to the end),
        in chunks. Raises :class:`ObjectNotFound` at once, not when iterated."""
        stream = self._open_range(key, start, end)
        remaining = None if end is None else end - start + 1

        def chunks():
            nonlocal remaining
            with stream:
                while remaining is None or remaining > 0:
                    chunk = stream.read(chunk_size if remaining is None else min(chunk_size, remaining))
                    if not chunk:
                        return
                    if remaining is not None:
                        remaining -= len(chunk)
                    yield chunk

        return chunks()

    def _open_range(self, key: str, start: int, end: int | None) -> BinaryIO:
        stream = self.open(key)
        if start:
            stream.seek(start)
        return stream


class LocalStorage(Storage):
    """Files under a root folder. Writes go to a temporary file in the same
    folder, are fsynced, then renamed into place: atomic on POSIX."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key, fileobj, *, content_type="application/octet-stream"):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(fileobj, out, CHUNK_SIZE)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key):
        try:
            return open(self._path(key), "rb")  # noqa: SIM115  (the caller closes it)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def size(self, key):
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        """The file behind a key (local backend only), e.g. for sendfile."""
        return self._path(key)


class S3Storage(Storage):
    """An S3-compatible object store through boto3. ``put`` streams with
    multipart uploads for large objects (boto3's transfer manager), so memory
    stays bounded by the part size."""

    name = "s3"

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None, prefix: str = "",
                 client=None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _error(self, exc, key):
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey",
                                                                                          "NotFound"):
            return ObjectNotFound(key)
        return StorageError(f"{self.name}: {exc}")

    def put(self, key, fileobj, *, content_type="application/octet-stream"):
        from boto3.s3.transfer import TransferConfig

        full_key = self._key(key)
        try:
            self.client.upload_fileobj(fileobj, self.bucket, full_key, ExtraArgs={"ContentType": content_type},
                                       Config=TransferConfig(multipart_chunksize=8 * CHUNK_SIZE, max_concurrency=2))
        except Exception as exc:  # boto3 raises several unrelated types; all are storage failures
            raise self._error(exc, key) from exc

    def open(self, key):
        full_key = self._key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=full_key)["Body"]
        except Exception as exc:  # see put
            raise self._error(exc, key) from exc

    def _open_range(self, key, start, end):
        if not start and end is None:
            return self.open(key)
        full_key = self._key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=full_key,
                                          Range=f"bytes={start}-{'' if end is None else end}")["Body"]
        except Exception as exc:  # see put
            raise self._error(exc, key) from exc

    def size(self, key):
        full_key = self._key(key)
        try:
            return self.client.head_object(Bucket=self.bucket, Key=full_key)["ContentLength"]
        except Exception as exc:  # see put
            error = self._error(exc, key)
            if isinstance(error, ObjectNotFound):
                return None
            raise error from exc

    def delete(self, key):
        full_key = self._key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
        except Exception as exc:  # see put
            raise self._error(exc, key) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (deployment and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception:  # missing or forbidden: creating it tells which
            self.client.create_bucket(Bucket=self.bucket)


def storage_from_config(config) -> Storage:
    """The storage the configuration names (``MEDIA_BACKEND``: ``local`` or ``s3``)."""
    backend = config.get("MEDIA_BACKEND", "local")
    if backend == "local":
        return LocalStorage(config["MEDIA_ROOT"])
    if backend == "s3":
        return S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION"), access_key_id=config.get("S3_ACCESS_KEY_ID"),
                         secret_access_key=config.get("S3_SECRET_ACCESS_KEY"), prefix=config.get("S3_PREFIX") or "")
    raise ValueError(f"unknown MEDIA_BACKEND: {backend!r} (use 'local' or 's3')")
