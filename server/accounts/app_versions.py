"""The oldest handheld app allowed to log in and sync (setting ``MIN_APP_VERSION``).

The app states its version in the ``X-App-Version`` header on every request
(at login the body's ``app_version`` does too). Versions are dotted numbers
(``2.4.1``); anything after the numbers (``2.4.1-beta``, ``+build``) is
ignored. With a minimum set, a handheld that states no readable version is
taken for an app older than version reporting, hence too old."""

from __future__ import annotations

import re

from server.exceptions import UpgradeRequired

APP_VERSION_HEADER = "X-App-Version"
# How the OpenAPI document states the header (login and the sync endpoints).
APP_VERSION_PARAMETER = {
    "in": "header", "name": APP_VERSION_HEADER, "required": False, "schema": {"type": "string", "maxLength": 32},
    "description": "The handheld app's version (dotted numbers, e.g. 2.4.1). With a minimum app version set "
                   "on the server, an older app or one stating none gets 426 `app_update_required`.",
}
_LEADING_NUMBERS = re.compile(r"^\s*v?(\d{1,9}(?:\.\d{1,9}){0,3})")


class AppUpdateRequired(UpgradeRequired):
    code = "app_update_required"


def parse_version(text) -> tuple[int, ...] | None:
    """``"2.4.1-beta"`` -> ``(2, 4, 1)``; None when there are no leading numbers."""
    if text is None:
        return None
    match = _LEADING_NUMBERS.match(str(text))
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 2.4 == 2.4.0
        parts.pop()
    return tuple(parts)


def check_app_version(stated, minimum) -> None:
    """Refuse an app older than ``minimum`` (None or empty: no minimum), naming it."""
    if minimum in (None, ""):
        return
    floor = parse_version(minimum)
    if floor is None:
        raise ValueError(f"MIN_APP_VERSION {minimum!r} is not a dotted version such as 2.4.1")
    version = parse_version(stated)
    if version is not None and version >= floor:
        return
    said = "states no version" if stated in (None, "") else f"is version {stated}"
    raise AppUpdateRequired(
        f"this app {said}; version {minimum} or newer is required: update the app",
        details={"minimum": str(minimum), "received": stated},
    )
