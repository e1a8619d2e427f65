"""dagwire.v1.UserService: thin servicer over Users (auth/users.py).

Login is open (the interceptor lets it through without credentials); every other method
acts for the authenticated caller: operators manage users, a user changes its own
password. Errors map through the dagwire.v1 table (workflow_status.py).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from dagwire.server.api.workflow_status import workflow_errors
from dagwire.server.auth.principal import current_principal
from dagwire.server.auth.users import Users
from dagwire.server.engine.errors import FieldViolation, InvalidArgument
from dagwire.server.engine.users import USERNAME_PATTERN, User
from dagwire.v1 import user_request_response_pb2 as rr
from dagwire.v1 import user_service_pb2_grpc as rpc

Context = grpc.aio.ServicerContext[Any, Any]
_PAGE_PREFIX = "users:"


class UserServicer(rpc.UserServiceServicer):
    def __init__(self, users: Users) -> None:
        self._users = users

    @workflow_errors
    async def Login(self, request: rr.LoginRequest, context: Context) -> rr.LoginResponse:
        session = await self._users.login(request.username, request.password)
        response = rr.LoginResponse(token=session.token, user=user_to_proto(session.user))
        if session.expires is not None:
            response.expire_time.CopyFrom(_timestamp(session.expires))
        return response

    @workflow_errors
    async def AddUser(self, request: rr.AddUserRequest, context: Context) -> rr.AddUserResponse:
        user = await self._users.add(
            current_principal(), request.username, request.password, request.domain
        )
        return rr.AddUserResponse(user=user_to_proto(user))

    @workflow_errors
    async def DeleteUser(
        self, request: rr.DeleteUserRequest, context: Context
    ) -> rr.DeleteUserResponse:
        await self._users.delete(current_principal(), request.username)
        return rr.DeleteUserResponse(username=request.username)

    @workflow_errors
    async def ListUsers(
        self, request: rr.ListUsersRequest, context: Context
    ) -> rr.ListUsersResponse:
        principal = current_principal()
        after = page_token_key(request.page_token)
        page = await self._users.page(principal, request.page_size, after)
        return rr.ListUsersResponse(
            users=[user_to_proto(user) for user in page.users],
            next_page_token=page_token(page.next_after),
        )

    @workflow_errors
    async def UpdatePassword(
        self, request: rr.UpdatePasswordRequest, context: Context
    ) -> rr.UpdatePasswordResponse:
        user = await self._users.update_password(
            current_principal(), request.username, request.password
        )
        return rr.UpdatePasswordResponse(username=user.name)


def user_to_proto(user: User) -> rr.User:
    return rr.User(
        name=user.name, domain=user.domain or "", create_time=_timestamp(user.create_time)
    )


def page_token(after: str) -> str:
    """An opaque page token for "the users after this key" ("" for none)."""
    if not after:
        return ""
    return base64.urlsafe_b64encode((_PAGE_PREFIX + after).encode()).decode()


def page_token_key(token: str) -> str:
    """The key a page token continues after ("" for the first page). Raises
    InvalidArgument for a token this server did not make."""
    if not token:
        return ""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    key = text.removeprefix(_PAGE_PREFIX)
    if not text.startswith(_PAGE_PREFIX) or USERNAME_PATTERN.fullmatch(key) is None:
        raise InvalidArgument(
            [FieldViolation("page_token", "is not a next_page_token of ListUsers")]
        )
    return key


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
