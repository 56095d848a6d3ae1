"""Password hashing with Argon2id (argon2-cffi's current defaults in production)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Tests use a cheap profile so hashing does not dominate the suite.
_PROFILES = {
    "default": {},
    "fast": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
}


@cache
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher(**_PROFILES[profile])


def hash_password(password: str, profile: str = "default") -> str:
    return _hasher(profile).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher("default").verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """Verified against when the username is unknown, so that a wrong username
    takes as long as a wrong password and does not reveal which users exist.
    Made with the production profile: a cheaper one would answer unknown
    usernames measurably faster than known ones."""
    return hash_password("not-a-real-password", "default")
