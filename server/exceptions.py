"""Domain errors. They know nothing of HTTP: the API layer maps each to a
status and the one error body (see ``server/api/errors.py``)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. ``code`` is stable and machine-readable; clients switch on it."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"


class AuthenticationFailed(DomainError):
    code = "unauthorized"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a domain rule."""

    code = "invalid"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class Conflict(DomainError):
    code = "conflict"


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Gone(DomainError):
    """Was there, is no more: a spent link, an expired upload, a cursor past retention."""

    code = "gone"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class Locked(DomainError):
    """Busy with another request right now; retry shortly."""

    code = "locked"


class Unsupported(DomainError):
    """A request this server cannot serve as asked (e.g. an old protocol version)."""

    code = "unsupported"


class UpgradeRequired(DomainError):
    """The client is too old for this server (e.g. an app below the minimum version)."""

    code = "upgrade_required"
