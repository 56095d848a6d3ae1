"""Where an unfinished upload's bytes live between its requests.

- :class:`LocalStaging`: a file per upload in a folder (one host, or a
  volume the app hosts share). Its length is the offset; an exclusive
  ``flock`` is the upload's lock, released with the file however the
  request ends.
- :class:`S3Staging`: the object store itself, so any app host can resume any
  upload and no shared volume is needed. The bytes go into an S3 multipart
  upload in parts of at least :data:`PART_SIZE` (S3's minimum for every
  part but the last); the bytes past the last whole part (the *tail*) are
  kept as an object of their own when a request ends, and the next request,
  on whichever host, starts its part from them. A small ``state`` object
  (parts, tail size, lease) is the truth about the offset; it is only ever
  replaced with a conditional write (``If-Match`` its ETag), so two hosts
  cannot both believe they hold the upload. The lease is renewed while
  bytes flow and released when the request ends; a host that dies leaves a
  lease that simply runs out (:data:`LEASE_SECONDS`).

Both keep every byte that arrived when a connection dies mid-request (the
read raises after the last bytes were written), and with a checksum keep a
chunk only if it matches (tus checksum extension). Memory stays flat: bytes
move in pieces, and an S3 part being gathered is spooled to a temporary file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

from server.exceptions import Conflict, DomainError, Gone, Locked, PayloadTooLarge

CHUNK = 1024 * 1024  # bytes asked of the body per read (the reader may return fewer)
PART_SIZE = 5 * 1024 * 1024  # S3's smallest part but the last
LEASE_SECONDS = 60  # an S3 upload's lease: renewed every third of it while bytes flow
SPOOL_IN_MEMORY = 256 * 1024  # a part being gathered spills to disk past this


class UploadTooLarge(PayloadTooLarge):
    """More bytes than the limit or than the upload declared (HTTP 413)."""

    code = "upload_too_large"


class UploadGone(Gone):
    """The upload expired or was terminated (HTTP 410)."""

    code = "upload_expired"


class UploadLocked(Locked):
    """Another connection is appending to this upload right now (HTTP 423)."""

    code = "upload_locked"


class ChecksumMismatch(DomainError):
    """A chunk's Upload-Checksum did not match its bytes; the chunk was dropped (tus: HTTP 460)."""

    code = "checksum_mismatch"


def _offset_mismatch(current: int) -> Conflict:
    return Conflict("Upload-Offset does not match the upload's offset", code="upload_offset_mismatch",
                    details={"offset": current})


class Staging(ABC):
    name = "abstract"

    @abstractmethod
    def create(self, upload_id: uuid.UUID) -> None: ...

    @abstractmethod
    def exists(self, upload_id: uuid.UUID) -> bool: ...

    @abstractmethod
    def offset(self, upload_id: uuid.UUID) -> int: ...

    @abstractmethod
    def append(self, upload_id: uuid.UUID, read: Callable[[int], bytes], *, offset: int, remaining: int,
               checksum: tuple[str, bytes] | None) -> int:
        """Append what ``read`` gives (at most ``remaining`` bytes) at ``offset``; the new offset."""

    @abstractmethod
    def whole(self, upload_id: uuid.UUID) -> contextlib.AbstractContextManager[Path]:
        """A local file holding every byte of a fully received upload."""

    @abstractmethod
    def discard(self, upload_id: uuid.UUID) -> None: ...


def copy_body(read, out, remaining: int) -> int:
    """Copy at most ``remaining`` bytes; more than that is a 413. Bytes already
    written stay written if the client vanishes (the exception propagates)."""
    written = 0
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return written
        if written + len(chunk) > remaining:
            out.write(chunk[: remaining - written])  # the declared bytes are kept; the excess is refused
            raise UploadTooLarge("more bytes than the upload's declared length")
        out.write(chunk)
        written += len(chunk)


def copy_verified(read, out, remaining: int, checksum: tuple[str, bytes]) -> None:
    """Gather the chunk aside; hand it to ``out`` only if its digest matches."""
    algorithm, expected = checksum
    digest = hashlib.new(algorithm)
    with tempfile.TemporaryFile() as aside:
        while chunk := read(CHUNK):
            if aside.tell() + len(chunk) > remaining:
                raise UploadTooLarge("more bytes than the upload's declared length")
            digest.update(chunk)
            aside.write(chunk)
        if digest.digest() != expected:
            raise ChecksumMismatch("Upload-Checksum does not match the bytes received; send the chunk again")
        aside.seek(0)
        while chunk := aside.read(CHUNK):
            out.write(chunk)


def _receive(read, out, remaining: int, checksum) -> None:
    if checksum is None:
        copy_body(read, out, remaining)
    else:
        copy_verified(read, out, remaining, checksum)


class LocalStaging(Staging):
    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, upload_id: uuid.UUID) -> Path:
        return self.root / f"{upload_id}.part"

    def create(self, upload_id):
        self.root.mkdir(parents=True, exist_ok=True)
        self.path(upload_id).touch()

    def exists(self, upload_id):
        return self.path(upload_id).exists()

    def offset(self, upload_id):
        try:
            return self.path(upload_id).stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, upload_id, read, *, offset, remaining, checksum):
        try:
            staged = open(self.path(upload_id), "r+b")  # noqa: SIM115  (closed below, which also unlocks)
        except FileNotFoundError:
            raise UploadGone("this upload expired; start a new one") from None
        with staged:
            try:
                fcntl.flock(staged.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadLocked("another request is appending to this upload") from None
            current = os.fstat(staged.fileno()).st_size
            if current != offset:
                raise _offset_mismatch(current)
            staged.seek(offset)
            try:
                _receive(read, staged, remaining, checksum)
            finally:
                # However the request ends (a stalled or reset connection included),
                # what was written is made durable and the lock goes with the file.
                staged.flush()
                os.fsync(staged.fileno())
            return staged.tell()

    @contextlib.contextmanager
    def whole(self, upload_id) -> Iterator[Path]:
        yield self.path(upload_id)

    def discard(self, upload_id):
        self.path(upload_id).unlink(missing_ok=True)


class S3Staging(Staging):
    """Unfinished uploads in the object store (see the module's docstring)."""

    name = "s3"

    def __init__(self, storage):
        self.client = storage.client
        self.bucket = storage.bucket
        self.prefix = f"{storage.prefix}uploads/"

    def _key(self, upload_id, name: str) -> str:
        return f"{self.prefix}{upload_id}/{name}"

    # -- the state object ------------------------------------------------------------

    def _load(self, upload_id) -> tuple[dict | None, str | None]:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self._key(upload_id, "state"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None, None
            raise
        return json.loads(got["Body"].read()), got["ETag"]

    def _save(self, upload_id, state: dict, etag: str | None) -> str:
        """Replace the state only if nobody else did since ``etag`` (None: only if absent)."""
        from botocore.exceptions import ClientError

        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            saved = self.client.put_object(Bucket=self.bucket, Key=self._key(upload_id, "state"),
                                           Body=json.dumps(state).encode(), ContentType="application/json",
                                           **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict",
                                                             "412", "409"):
                raise UploadLocked("another request is appending to this upload") from None
            raise
        return saved["ETag"]

    @staticmethod
    def _size(state: dict) -> int:
        return sum(part[1] for part in state["parts"]) + state["tail"]

    # -- the contract ------------------------------------------------------------------

    def create(self, upload_id):
        self._save(upload_id, {"parts": [], "tail": 0, "multipart": None, "assembled": False, "lease": None}, None)

    def exists(self, upload_id):
        return self._load(upload_id)[0] is not None

    def offset(self, upload_id):
        state, _ = self._load(upload_id)
        return 0 if state is None else self._size(state)

    def append(self, upload_id, read, *, offset, remaining, checksum):
        state, etag = self._load(upload_id)
        if state is None:
            raise UploadGone("this upload expired; start a new one")
        lease = state.get("lease")
        if lease and lease["until"] > time.time():
            raise UploadLocked("another request is appending to this upload")
        writer = _PartWriter(self, upload_id, state, etag)  # takes the lease (or 423)
        try:
            current = self._size(state)
            if current != offset:
                raise _offset_mismatch(current)
            writer.start()
            _receive(read, writer, remaining, checksum)
        finally:
            writer.close()  # keeps the tail in the store and releases the lease, however the request ends
        return self._size(writer.state)

    @contextlib.contextmanager
    def whole(self, upload_id) -> Iterator[Path]:
        state, etag = self._load(upload_id)
        if state is None:
            raise UploadGone("this upload expired; start a new one")
        if state["multipart"] and not state["assembled"]:
            state, etag = self._assemble(upload_id, state, etag)
        key = self._key(upload_id, "data" if state["assembled"] else "tail")
        with tempfile.NamedTemporaryFile(prefix="fs-upload-") as local:
            if self._size(state):
                self.client.download_fileobj(self.bucket, key, local)
            local.flush()
            yield Path(local.name)

    def _assemble(self, upload_id, state, etag):
        """The last part (the tail) goes up and the multipart upload is completed
        into one object; the state says so before the tail is dropped."""
        key = self._key(upload_id, "data")
        if state["tail"]:
            tail = self.client.get_object(Bucket=self.bucket, Key=self._key(upload_id, "tail"),
                                          Range=f"bytes=0-{state['tail'] - 1}")["Body"].read()
            number = len(state["parts"]) + 1
            answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=state["multipart"],
                                             PartNumber=number, Body=tail)
            state["parts"].append([number, len(tail), answer["ETag"]])
            state["tail"] = 0
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=state["multipart"],
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, _, e in state["parts"]]})
        state["assembled"] = True
        etag = self._save(upload_id, state, etag)
        self.client.delete_object(Bucket=self.bucket, Key=self._key(upload_id, "tail"))
        return state, etag

    def discard(self, upload_id):
        state, _ = self._load(upload_id)
        if state and state.get("multipart") and not state.get("assembled"):
            with contextlib.suppress(Exception):  # already completed or aborted: nothing left to free
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(upload_id, "data"),
                                                   UploadId=state["multipart"])
        for name in ("tail", "data", "state"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(upload_id, name))


class _PartWriter:
    """A file-like sink for one request's bytes into an S3-staged upload."""

    def __init__(self, staging: S3Staging, upload_id, state: dict, etag: str):
        self.staging = staging
        self.upload_id = upload_id
        self.state = state
        self.holder = uuid.uuid4().hex
        self.etag = self._commit(etag)  # the lease, or UploadLocked if another host took it first
        self.buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115  (closed in close())
        self.started = False

    def _commit(self, etag, *, release: bool = False) -> str:
        self.state["lease"] = None if release else {"holder": self.holder, "until": time.time() + LEASE_SECONDS}
        self.renewed = time.monotonic()
        return self.staging._save(self.upload_id, self.state, etag)

    def start(self) -> None:
        """Begin the part being gathered with the tail a previous request left."""
        tail = self.state["tail"]
        if tail:
            body = self.staging.client.get_object(Bucket=self.staging.bucket,
                                                  Key=self.staging._key(self.upload_id, "tail"),
                                                  Range=f"bytes=0-{tail - 1}")["Body"]
            while chunk := body.read(CHUNK):
                self.buffer.write(chunk)
        self.started = True

    def write(self, data: bytes) -> None:
        self.buffer.write(data)
        if self.buffer.tell() >= PART_SIZE:
            self._upload_part()
        elif time.monotonic() - self.renewed > LEASE_SECONDS / 3:
            self.etag = self._commit(self.etag)

    def _upload_part(self) -> None:
        client, bucket, key = self.staging.client, self.staging.bucket, self.staging._key(self.upload_id, "data")
        if not self.state["multipart"]:
            self.state["multipart"] = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        size = self.buffer.tell()
        self.buffer.seek(0)
        number = len(self.state["parts"]) + 1
        answer = client.upload_part(Bucket=bucket, Key=key, UploadId=self.state["multipart"], PartNumber=number,
                                    Body=self.buffer, ContentLength=size)
        self.state["parts"].append([number, size, answer["ETag"]])
        self.state["tail"] = 0
        self.buffer.seek(0)
        self.buffer.truncate()
        self.etag = self._commit(self.etag)

    def close(self) -> None:
        """Keep the bytes past the last part as the tail object, then release the lease."""
        try:
            size = self.buffer.tell()
            if self.started and size != self.state["tail"]:
                self.buffer.seek(0)
                self.staging.client.put_object(Bucket=self.staging.bucket,
                                               Key=self.staging._key(self.upload_id, "tail"),
                                               Body=self.buffer, ContentLength=size)
                self.state["tail"] = size
            self.etag = self._commit(self.etag, release=True)
        finally:
            self.buffer.close()
