"""Typed results of UserService (``dagwire.v1``): users and login sessions. Frozen
dataclasses built by ``_from_proto`` that keep the proto as ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagwire.v1 import user_request_response_pb2 as ur

from ._workflow_models import _time


@dataclass(frozen=True)
class User:
    """A user: ``domain`` is the domain whose resources it sees (empty for root, the
    operator). Its password never leaves the server."""

    name: str
    domain: str
    create_time: datetime | None
    raw: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, message: ur.User) -> User:
        return cls(message.name, message.domain, _time(message, "create_time"), message)


@dataclass(frozen=True)
class Session:
    """What a login gives: the ``token`` to send afterwards (``token=`` of a client, or
    ``dagwire login``), when it expires (None: it does not), and the user."""

    token: str
    expire_time: datetime | None
    user: User
    raw: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, message: ur.LoginResponse) -> Session:
        return cls(
            message.token,
            _time(message, "expire_time"),
            User._from_proto(message.user),
            message,
        )
