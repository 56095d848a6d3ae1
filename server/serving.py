"""How request bodies are read on a poor network: every read has an idle
timeout and the whole body a deadline, so a phone that stops sending (a
lost signal sends no FIN and no reset) ends its own request instead of
holding it open forever; and the bytes that did arrive can be kept.

gunicorn's gevent worker and werkzeug's server hand the application the
connection's socket (``gunicorn.socket``, ``werkzeug.socket``); setting its
timeout bounds each ``recv``. Under gevent the wait parks a greenlet, so a
slow client costs no worker either way (deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from werkzeug.exceptions import ClientDisconnected

PIECE = 64 * 1024  # bytes asked for per read: what a dying connection can leave unread is at most this


class BodyTimeout(TimeoutError):
    """The body took longer than its deadline."""


class TimedInput:
    """``wsgi.input`` whose reads are bounded: ``idle`` seconds per read, the
    whole body by ``deadline`` (a :func:`time.monotonic` instant)."""

    def __init__(self, inner, sock, *, idle: float, deadline: float):
        self.inner = inner
        self.sock = sock
        self.idle = idle
        self.deadline = deadline

    def _arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BodyTimeout("the request body took too long")
        with contextlib.suppress(OSError):  # already closed: the read below reports it
            self.sock.settimeout(min(self.idle, left))

    def read(self, size=-1):
        self._arm()
        return self.inner.read(size)

    def readline(self, size=-1):
        self._arm()
        return self.inner.readline(size)

    def readlines(self, hint=-1):
        self._arm()
        return self.inner.readlines(hint)

    def __iter__(self):
        while line := self.readline():
            yield line

    def rescue(self) -> bytes:
        """Bytes that arrived but a failed read had not yet returned.

        gunicorn's body reader gathers what it receives until it holds the
        size asked for; when the connection dies part-way those bytes sit in
        its buffers (the body's and its socket reader's). They are the
        client's next bytes in order, so an upload may keep them."""
        body = self.inner
        reader = getattr(body, "reader", None)
        unreader = getattr(reader, "unreader", None)
        remaining = getattr(reader, "length", None)
        parts = []
        for holder in (body, unreader):
            buf = getattr(holder, "buf", None)
            if buf is not None and hasattr(buf, "getvalue"):
                parts.append(buf.getvalue())
                holder.buf = type(buf)()
        data = b"".join(parts)
        return data if remaining is None else data[:remaining]


class BoundedReads:
    """WSGI middleware: each request's body reads get an idle timeout and the
    body a deadline (``REQUEST_READ_TIMEOUT_SECONDS``, ``REQUEST_BODY_SECONDS``)."""

    def __init__(self, app, *, idle: float, body_seconds: float):
        self.app = app
        self.idle = idle
        self.body_seconds = body_seconds

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
        if sock is not None and hasattr(sock, "settimeout"):
            with contextlib.suppress(OSError):
                sock.settimeout(self.idle)  # sending the answer to a reader that stopped reading, too
            if environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING"):
                environ["wsgi.input"] = TimedInput(environ["wsgi.input"], sock, idle=self.idle,
                                                   deadline=time.monotonic() + self.body_seconds)
        return self.app(environ, start_response)


class BodyInterrupted(Exception):
    """The client stopped sending (timeout, reset, closed) before the body's end."""


def piecewise_reader(stream, environ) -> Callable[[int], bytes]:
    """A ``read(size)`` over the request body for code that stores bytes as
    they come (tus uploads): reads at most :data:`PIECE` at a time; when the
    connection dies it first returns what arrived but was not yet read
    (:meth:`TimedInput.rescue`), then raises :class:`BodyInterrupted`."""
    failure: list[BaseException] = []

    def read(size: int) -> bytes:
        if failure:
            raise BodyInterrupted(str(failure[0])) from failure[0]
        try:
            return stream.read(min(size, PIECE))
        except (OSError, ClientDisconnected) as exc:
            failure.append(exc)
            source = environ.get("wsgi.input")
            rescued = source.rescue() if isinstance(source, TimedInput) else b""
            if rescued:
                return rescued
            raise BodyInterrupted(str(exc)) from exc

    return read


# ---- compressed request bodies ---------------------------------------------------------------------------

class BodyRefused(Exception):
    """Raised from a read of an inflated body; :func:`refusal` says how to answer."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class InflatedInput:
    """A ``Content-Encoding: gzip`` body, inflated as it is read and never past
    ``limit`` bytes: a small body that would inflate to gigabytes (a zip bomb)
    is refused after inflating ``limit + 1`` bytes, at the cost of inflating
    those only."""

    def __init__(self, inner, limit: int):
        import zlib

        self.inner = inner
        self.limit = limit
        self.produced = 0
        self.inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        self.pending = b""  # compressed bytes not yet inflated (bounded by PIECE)
        self.done = False

    def _inflate(self, want: int) -> bytes:
        import zlib

        while True:
            if self.pending:
                try:
                    out = self.inflater.decompress(self.pending, want)
                except zlib.error as exc:
                    raise BodyRefused(400, "malformed_body_encoding",
                                       "The body is not valid gzip (Content-Encoding: gzip).") from exc
                self.pending = self.inflater.unconsumed_tail
                if self.inflater.eof:
                    self.done = True
                if out:
                    return out
            if self.done:
                return b""
            compressed = self.inner.read(PIECE)
            if not compressed:
                if not self.inflater.eof:
                    raise BodyRefused(400, "malformed_body_encoding", "The gzip body ends early.")
                self.done = True
                return b""
            self.pending = compressed

    def read(self, size=-1):
        chunks = []
        wanted = size if size is not None and size >= 0 else None
        while wanted is None or wanted > 0:
            piece = self._inflate(min(wanted, PIECE) if wanted is not None else PIECE)
            if not piece:
                break
            self.produced += len(piece)
            if self.produced > self.limit:
                raise BodyRefused(413, "payload_too_large",
                                   f"The body inflates to more than {self.limit} bytes.",
                                   {"max_bytes": self.limit})
            chunks.append(piece)
            if wanted is not None:
                wanted -= len(piece)
        return b"".join(chunks)

    def readline(self, size=-1):  # JSON bodies are read whole; this only completes the file interface
        return self.read(size)


class InflateRequests:
    """WSGI middleware: request bodies sent with ``Content-Encoding: gzip`` are
    inflated for the app (which then sees a plain body of unknown length,
    capped at ``limit``); other encodings are refused (415). tus uploads are
    left alone: their offsets count the bytes as sent."""

    def __init__(self, app, *, limit: int, skip_prefixes: tuple[str, ...] = ("/api/v1/uploads",)):
        self.app = app
        self.limit = limit
        self.skip_prefixes = skip_prefixes

    def __call__(self, environ, start_response):
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding in ("", "identity") or environ.get("PATH_INFO", "").startswith(self.skip_prefixes):
            return self.app(environ, start_response)
        if encoding not in ("gzip", "x-gzip"):
            return _refuse(environ, start_response, 415, "unsupported_content_encoding",
                           "Request bodies may be sent with Content-Encoding: gzip, or none.")
        environ["fieldsync.content_encoding"] = encoding
        environ["wsgi.input"] = InflatedInput(environ["wsgi.input"], self.limit)
        environ["wsgi.input_terminated"] = True  # read to the end of the inflated body, not Content-Length
        environ.pop("CONTENT_LENGTH", None)
        environ.pop("HTTP_CONTENT_ENCODING", None)
        return self.app(environ, start_response)


def _refuse(environ, start_response, status: int, code: str, message: str):
    import json
    from http import HTTPStatus

    body = json.dumps({"error": {"status": status, "code": code, "message": message}}).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json"),
                                                              ("Content-Length", str(len(body)))])
    return [body]
