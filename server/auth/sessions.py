"""Login tokens: JWTs signed with HS256 (PyJWT), as PaddleFlow's (pkg/apiserver/
middleware/jwt.go), with a server secret instead of PaddleFlow's constant one.

A token names its user (`sub`) and carries the user's `tokens_valid_after` stamp at
issue time (`stp`, microseconds); it is accepted while its signature holds, it has not
expired (`exp`, absent when the server's expiry is off, PaddleFlow's default
`tokenExpirationHour: -1`), its user still exists and the user's stamp has not moved
since (a password change moves it). No password, hashed or not, goes into a token
(PaddleFlow puts the bcrypt hash in its claims).

The secret is the operator's (--session-secret-file), or made once at random in the data
dir (`session.key`, mode 0600) and kept there across restarts. Several replicas sharing
one database must share the secret too (give each the same --session-secret-file).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from dagwire.server.auth.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "dagwire"
SECRET_FILE = "session.key"
# HS256 wants a key of at least 256 bits; an operator's shorter secret is refused.
MIN_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says."""

    username: str
    stamp: int


@dataclass(frozen=True, slots=True)
class SessionSigner:
    """Issues and verifies tokens. `lifetime` None: tokens do not expire."""

    secret: bytes
    lifetime: timedelta | None = None

    def issue(self, username: str, stamp: int, now: datetime) -> tuple[str, datetime | None]:
        """A token for `username` under `stamp`, and when it expires (None: never)."""
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": username,
            "iat": int(now.timestamp()),
            "stp": stamp,
        }
        expires = None
        if self.lifetime is not None:
            expires = now + self.lifetime
            claims["exp"] = int(expires.timestamp())
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires

    def verify(self, token: str) -> Claims:
        """The claims of a valid token. Raises Unauthenticated (expired, badly signed,
        malformed), saying which without echoing the token."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "iat", "stp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the login token has expired: log in again") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("invalid token: its signature does not verify") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        username, stamp = claims["sub"], claims["stp"]
        if not isinstance(username, str) or not isinstance(stamp, int):
            raise Unauthenticated("invalid token: malformed claims")
        return Claims(username, stamp)


def looks_like_jwt(token: str) -> bool:
    """Whether a presented token has a JWT's shape (three dot-separated parts), so that
    it is checked as a login token rather than looked up in the token file."""
    return token.count(".") == 2 and token.startswith("eyJ")


def load_secret(data_dir: Path, given: Path | None) -> bytes:
    """The operator's secret file's bytes (stripped), else the data dir's, made on first
    use with mode 0600. Raises ValueError for a secret too short to sign with."""
    if given is not None:
        secret = given.read_bytes().strip()
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(
                f"{given}: the session secret must be at least {MIN_SECRET_BYTES} bytes"
            )
        return secret
    path = data_dir / SECRET_FILE
    if not path.exists():
        # Written aside, then linked into place: link fails when the file exists, so
        # two servers starting on one data dir agree on the first one's whole secret.
        fd, aside = tempfile.mkstemp(dir=data_dir, prefix=".session-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_hex(32).encode())
            with contextlib.suppress(FileExistsError):
                os.link(aside, path)
        finally:
            os.unlink(aside)
    return path.read_bytes().strip()


def now_utc() -> datetime:
    return datetime.now(UTC)
