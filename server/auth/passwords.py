"""Password hashing with Argon2id (argon2-cffi, at its default parameters: RFC 9106's
low-memory choice, 64 MiB and tens of milliseconds of CPU per hash, on purpose). Both
hashing and checking run in a small pool of threads of their own, never on the event
loop: at most HASH_THREADS hashes at once, so that a burst of logins neither holds
gigabytes nor takes the threads the rest of the server uses (asyncio.to_thread's).
Passwords are never stored, logged or put in an error message; only their hashes are
kept."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
HASH_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="dagwire-argon2")
# Checked when a name matches no user, so that a login's time does not tell whether the
# user exists (the work is the same as for a wrong password).
_DUMMY = _HASHER.hash("no user has this password 0")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_POOL, _HASHER.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from. None: no user; the
    check still costs what a real one does, and fails."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, _matches, password_hash, password)


def _matches(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
