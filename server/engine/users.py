"""PaddleFlow's users, as dagwire's tenancy sees them: pure values and rules.

A user has a name (PaddleFlow's rule, `RegPatternUserName` in pkg/apiserver/common/
utils.go: 4 to 16 letters and digits), a domain (dagwire's tenancy: the user sees and
acts on that domain's resources only), its password's hash, when it was added, and the
moment from which its tokens are valid (a token issued earlier is refused: it is moved
on every password change). `root` is PaddleFlow's operator (common.IsRootUser compares
without case) and maps onto an operator principal.

Names are unique regardless of case (PaddleFlow's MySQL index compares without case, and
a user `Root` must not pass for root anywhere). A user's domain is, unless the operator
names one, its name lower-cased: every user is then a tenant of its own, as PaddleFlow's
users own their resources, and two users share a domain only when the operator says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dagwire.server.engine.errors import FieldViolation
from dagwire.server.engine.names import is_dns1123_label

ROOT = "root"
# PaddleFlow's RegPatternUserName (pkg/apiserver/common/utils.go).
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9]{4,16}")
# PaddleFlow's CheckPasswordLever (pkg/apiserver/controller/user/user.go): at least 6
# characters with a digit and a lower-case letter. The upper bound is ours: a password is
# hashed on every login, and the hash's cost must not grow with what a caller sends.
PASSWORD_MIN = 6
PASSWORD_MAX_BYTES = 256
# PaddleFlow's list default (maxKeys, pkg/apiserver/router/util) and our bound.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    # None: root, an operator who sees every domain.
    domain: str | None
    password_hash: str
    create_time: datetime
    # Tokens issued before this moment are refused (password changed since).
    tokens_valid_after: datetime

    @property
    def key(self) -> str:
        """What makes a name unique: the name without case."""
        return user_key(self.name)

    @property
    def is_root(self) -> bool:
        return is_root(self.name)


def micros(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch (exact, unlike a float): how a
    stamp is kept in the store and carried in a token."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def user_key(name: str) -> str:
    return name.lower()


def is_root(name: str) -> bool:
    return user_key(name) == ROOT


def username_problem(name: str) -> FieldViolation | None:
    if USERNAME_PATTERN.fullmatch(name) is None:
        return FieldViolation(
            "username", f"must be 4 to 16 letters and digits (PaddleFlow's rule), not {name[:40]!r}"
        )
    return None


def password_problem(password: str) -> FieldViolation | None:
    """PaddleFlow's rule, plus an upper bound. The password itself is never quoted."""
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        return FieldViolation("password", f"must be at most {PASSWORD_MAX_BYTES} bytes")
    if (
        len(password) < PASSWORD_MIN
        or re.search(r"[0-9]", password) is None
        or re.search(r"[a-z]", password) is None
    ):
        return FieldViolation(
            "password",
            f"must be at least {PASSWORD_MIN} characters with a digit and a lower-case letter",
        )
    return None


def domain_for(name: str, requested: str) -> tuple[str | None, FieldViolation | None]:
    """The domain a new user belongs to: the one the operator names, else the user's name
    lower-cased; root has none (an operator)."""
    if is_root(name):
        if requested:
            return None, FieldViolation("domain", "root is the operator and has no domain")
        return None, None
    domain = requested or user_key(name)
    if not is_dns1123_label(domain):
        return None, FieldViolation("domain", f"must be a DNS-1123 label, not {domain[:70]!r}")
    return domain, None
