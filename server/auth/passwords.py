"""Password hashing with Argon2id (argon2-cffi, at its default parameters: RFC 9106's
low-memory choice). A hash takes tens of milliseconds of CPU on purpose, so both hashing
and checking run in a worker thread, never on the event loop. Passwords are never
stored, logged or put in an error message; only their hashes are kept."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Checked when a name matches no user, so that a login's time does not tell whether the
# user exists (the work is the same as for a wrong password).
_DUMMY = _HASHER.hash("no user has this password 0")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from. None: no user; the
    check still costs what a real one does, and fails."""
    return await asyncio.to_thread(_matches, password_hash, password)


def _matches(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
