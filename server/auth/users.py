"""PaddleFlow's users: add, delete, list, change a password, log in, and resolve a login
token to the caller it stands for (the Authenticator asks, on every call with one).

Who may do what (PaddleFlow's pkg/apiserver/controller/user/user.go): operators (root,
and the token file's operators) add, delete and list users; a user changes its own
password, an operator anyone's. A tenant asking about another user is answered as if
there were no such user. root is added from the operator's --root-password-file, once:
later changes of its password go through UpdatePassword, and without the file root has
no password login at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog

from dagwire.server.auth.errors import PermissionDenied, Unauthenticated
from dagwire.server.auth.passwords import hash_password, password_matches
from dagwire.server.auth.principal import Principal
from dagwire.server.auth.sessions import SessionSigner
from dagwire.server.engine.errors import EngineError, FieldViolation, InvalidArgument
from dagwire.server.engine.users import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PASSWORD_MAX_BYTES,
    ROOT,
    User,
    domain_for,
    is_root,
    micros,
    password_problem,
    user_key,
    username_problem,
)

log = structlog.get_logger(__name__)

# Said the same for a missing user and a wrong password, as PaddleFlow's AuthFailed.
WRONG_LOGIN = "username or password not correct"


class UserStore(Protocol):
    async def insert(self, user: User) -> None: ...
    async def get(self, name: str) -> User | None: ...
    async def set_password(self, name: str, password_hash: str, valid_after: datetime) -> bool: ...
    async def delete(self, name: str) -> bool: ...
    async def page(self, after: str, limit: int) -> list[User]: ...


class UserNotFound(EngineError):
    """No such user, or one the caller may not see (the same answer)."""

    resource_type = "user"

    def __init__(self, name: str) -> None:
        super().__init__(f"user {name[:40]!r} does not exist")
        self.name = name[:40]


class UserExists(EngineError):
    resource_type = "user"

    def __init__(self, name: str) -> None:
        super().__init__(f"user {name[:40]!r} already exists (names are unique regardless of case)")
        self.name = name[:40]


class RootProtected(EngineError):
    """What nobody may do to root: delete it, or add it as a user."""


class NoRootPassword(EngineError):
    """root has no password: the operator gave none (--root-password-file)."""


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    expires: datetime | None
    user: User


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    # The key to continue after; "" when this page is the last.
    next_after: str


class Users:
    def __init__(
        self,
        store: UserStore,
        signer: SessionSigner,
        clock: Callable[[], datetime],
        *,
        exists_error: type[Exception],
    ) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock
        # The store's own "name taken" error type (store.users.UserExists): auth may
        # not import the store, so the composition root hands it over.
        self._exists_error = exists_error

    async def ensure_root(self, password_file: Path | None) -> None:
        """Add root with the operator's password, unless root exists already (its
        password may have been changed since; the file is its first one only)."""
        if password_file is None or await self._store.get(ROOT) is not None:
            return
        password = (await asyncio.to_thread(password_file.read_text)).strip()
        problem = password_problem(password)
        if problem is not None:
            raise ValueError(f"{password_file}: root's password {problem.description}")
        now = self._clock()
        user = User(ROOT, None, await hash_password(password), now, now)
        try:
            await self._store.insert(user)
        except self._exists_error:
            return  # another replica added it first
        log.info("root user added from the operator's password file")

    # --- login and tokens ------------------------------------------------------------

    async def login(self, name: str, password: str) -> Session:
        # An oversized password is refused before hashing: its cost must stay bounded.
        if not name or not password or len(password.encode()) > PASSWORD_MAX_BYTES:
            raise Unauthenticated(WRONG_LOGIN)
        user = await self._store.get(name) if username_problem(name) is None else None
        if user is None and is_root(name):
            raise NoRootPassword("root has no password login: the operator gave it none")
        # Checked even without a user, so that timing does not tell whether it exists.
        if not await password_matches(user.password_hash if user else None, password):
            log.warning("login refused", username=name[:40])
            raise Unauthenticated(WRONG_LOGIN)
        assert user is not None
        token, expires = self._signer.issue(user.name, _stamp(user), self._clock())
        log.info("login", username=user.name)
        return Session(token, expires, user)

    async def principal_for(self, token: str) -> Principal:
        """The caller a login token stands for. Raises Unauthenticated when it expired,
        is badly signed, its user was deleted or its password changed since."""
        claims = self._signer.verify(token)
        user = await self._store.get(claims.username)
        if user is None or user.name != claims.username:
            raise Unauthenticated("invalid token: its user no longer exists")
        if _stamp(user) != claims.stamp:
            raise Unauthenticated(
                "the login token was issued before a password change: log in again"
            )
        return principal_of(user)

    # --- management --------------------------------------------------------------------

    async def add(self, caller: Principal, name: str, password: str, domain: str) -> User:
        _operator(caller, "add users")
        violations = [v for v in (username_problem(name), password_problem(password)) if v]
        if is_root(name):
            raise RootProtected("root is the operator: its password comes from the operator")
        user_domain, problem = domain_for(name, domain)
        if problem is not None:
            violations.append(problem)
        if violations:
            raise InvalidArgument(violations)
        now = self._clock()
        user = User(name, user_domain, await hash_password(password), now, now)
        try:
            await self._store.insert(user)
        except self._exists_error:
            raise UserExists(name) from None
        log.info("user added", username=name, domain=user_domain, by=caller.name)
        return user

    async def delete(self, caller: Principal, name: str) -> None:
        _operator(caller, "delete users")
        if is_root(name):
            raise RootProtected("root cannot be deleted")
        if not await self._store.delete(name):
            raise UserNotFound(name)
        log.info("user deleted", username=name, by=caller.name)

    async def page(self, caller: Principal, size: int, after: str) -> UserPage:
        _operator(caller, "list users")
        if size < 0 or size > MAX_PAGE_SIZE:
            raise InvalidArgument(
                [FieldViolation("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")]
            )
        size = size or DEFAULT_PAGE_SIZE
        found = await self._store.page(after, size + 1)
        more = len(found) > size
        users = found[:size]
        return UserPage(users, users[-1].key if more else "")

    async def update_password(self, caller: Principal, name: str, password: str) -> User:
        # A tenant's own name only; any other is answered as missing (a foreign user
        # looks exactly like one that does not exist).
        if not caller.is_operator and user_key(name) != user_key(caller.username):
            raise UserNotFound(name)
        problem = password_problem(password)
        if problem is not None:
            raise InvalidArgument([problem])
        user = await self._store.get(name)
        if user is None or not (caller.is_operator or user.domain == caller.domain):
            raise UserNotFound(name)
        changed = self._clock()
        if changed <= user.tokens_valid_after:  # the stamp must move, even on a coarse clock
            changed = user.tokens_valid_after + timedelta(microseconds=1)
        if not await self._store.set_password(name, await hash_password(password), changed):
            raise UserNotFound(name)
        log.info("password changed", username=user.name, by=caller.name)
        return user


def principal_of(user: User) -> Principal:
    """root is an operator; anyone else a tenant of its domain, acting as itself."""
    if user.is_root:
        return Principal(domain=None, name=ROOT, user=ROOT)
    return Principal(domain=user.domain, name=user.name, user=user.name)


def _operator(caller: Principal, action: str) -> None:
    if not caller.is_operator:
        raise PermissionDenied(f"only root or an operator may {action}")


def _stamp(user: User) -> int:
    return micros(user.tokens_valid_after)
