"""The sync engine's errors (domain errors: the API maps them to statuses)."""

from __future__ import annotations

from server.exceptions import Gone, InvalidInput, PayloadTooLarge, Unsupported

# The protocol versions this server speaks. Version 1: FieldSync push/pull.
PROTOCOL_MIN = 1
PROTOCOL_MAX = 1


class ResyncRequired(Gone):
    """The cursor is older than the tombstone retention: deletions may have
    been forgotten, so the device must drop its copy and sync from scratch."""

    code = "resync_required"


class ProtocolUnsupported(Unsupported):
    code = "protocol_unsupported"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


def check_protocol(version) -> int:
    """Refuse a protocol version this server does not speak, naming the range."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = None
    details = {"minimum": PROTOCOL_MIN, "maximum": PROTOCOL_MAX, "received": version}
    if number is not None and number > PROTOCOL_MAX:
        # The app is newer than the server: updating the app would not help.
        raise ProtocolUnsupported(
            f"sync protocol {number} is newer than this server speaks (maximum {PROTOCOL_MAX}): "
            "the server needs an update; the app should sync with a protocol it supports",
            details={**details, "update": "server"},
        )
    if number is None or number < PROTOCOL_MIN:
        raise ProtocolUnsupported(
            f"sync protocol {version!r} is not supported: update the app (minimum {PROTOCOL_MIN}, "
            f"maximum {PROTOCOL_MAX})",
            details={**details, "update": "app"},
        )
    return number
