"""The storage contract, written once and run on every backend: local files
and S3 (moto's standalone server on 127.0.0.1, started by the tests)."""

from __future__ import annotations

import io
import os

import pytest

from media.storage import LocalStorage, ObjectNotFound, S3Storage, blob_key, check_key, storage_from_config


class _Counting(io.RawIOBase):
    """A large source that makes its bytes as it is read: never held whole."""

    def __init__(self, size: int):
        self.remaining = size
        self.largest_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.remaining)
        self.largest_read = max(self.largest_read, n)
        buffer[:n] = b"x" * n
        self.remaining -= n
        return n


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    config = request.getfixturevalue("s3_config")
    store = storage_from_config(config)
    assert isinstance(store, S3Storage)
    store.ensure_bucket()
    return store


def test_put_then_read_back(storage):
    key = blob_key("ab" * 32)
    storage.put_bytes(key, b"hello photo", content_type="image/jpeg")
    assert storage.read_bytes(key) == b"hello photo"
    assert storage.size(key) == len(b"hello photo")
    assert storage.exists(key)
    assert b"".join(storage.iter_chunks(key, chunk_size=4)) == b"hello photo"


def test_byte_ranges(storage):
    storage.put_bytes("blobs/ra/ng/e", bytes(range(256)) * 40)
    data = bytes(range(256)) * 40
    assert b"".join(storage.iter_chunks("blobs/ra/ng/e", chunk_size=7, start=100, end=5000)) == data[100:5001]
    assert b"".join(storage.iter_chunks("blobs/ra/ng/e", start=10_000)) == data[10_000:]
    assert b"".join(storage.iter_chunks("blobs/ra/ng/e", end=0)) == data[:1]
    with pytest.raises(ObjectNotFound):
        storage.iter_chunks("blobs/no/ne/x", start=5)


def test_put_replaces_whole_object(storage):
    storage.put_bytes("derived/a/b/c/thumb-256.jpg", b"first version, longer")
    storage.put_bytes("derived/a/b/c/thumb-256.jpg", b"second")
    assert storage.read_bytes("derived/a/b/c/thumb-256.jpg") == b"second"


def test_missing_key(storage):
    assert storage.size("blobs/00/00/missing") is None
    assert not storage.exists("blobs/00/00/missing")
    with pytest.raises(ObjectNotFound):
        storage.open("blobs/00/00/missing")


def test_delete_is_idempotent(storage):
    storage.put_bytes("blobs/11/22/x", b"1")
    storage.delete("blobs/11/22/x")
    storage.delete("blobs/11/22/x")
    assert not storage.exists("blobs/11/22/x")


def test_streams_large_objects(storage):
    size = 20 * 1024 * 1024 + 123  # above S3's multipart threshold
    source = _Counting(size)
    storage.put("blobs/big/ob/ject", io.BufferedReader(source, buffer_size=64 * 1024))
    assert storage.size("blobs/big/ob/ject") == size
    assert source.largest_read <= 16 * 1024 * 1024  # read in bounded pieces, never the whole at once
    total = sum(len(chunk) for chunk in storage.iter_chunks("blobs/big/ob/ject"))
    assert total == size


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", "", "a/.hidden"])
def test_refuses_keys_that_escape(storage, key):
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x")


def test_local_writes_are_atomic_and_leave_no_temp_files(tmp_path):
    store = LocalStorage(tmp_path)

    class Failing(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise OSError("network dropped")

    store.put_bytes("blobs/aa/bb/k", b"old")
    with pytest.raises(OSError):
        store.put("blobs/aa/bb/k", Failing())
    assert store.read_bytes("blobs/aa/bb/k") == b"old"
    assert os.listdir(tmp_path / "blobs/aa/bb") == ["k"]


def test_check_key_accepts_layout():
    assert check_key(blob_key("f" * 64)) == f"blobs/ff/ff/{'f' * 64}"


def test_config_chooses_backend(tmp_path):
    assert isinstance(storage_from_config({"MEDIA_BACKEND": "local", "MEDIA_ROOT": str(tmp_path)}), LocalStorage)
    with pytest.raises(ValueError):
        storage_from_config({"MEDIA_BACKEND": "ftp"})
