"""UserService (``dagwire.v1``) calls as data: login, and users managed by operators.
The asyncio client performs them (client/_async.py), and the blocking one generated from
it."""

from __future__ import annotations

from dagwire.v1 import user_request_response_pb2 as ur

from ._call import _Call
from ._user_models import Session, User
from ._workflow_models import Page


def login_call(username: str, password: str) -> _Call[Session]:
    request = ur.LoginRequest(username=username, password=password)
    return _Call("Login", request, Session._from_proto, "users")


def add_user_call(username: str, password: str, domain: str) -> _Call[User]:
    request = ur.AddUserRequest(username=username, password=password, domain=domain)
    return _Call("AddUser", request, lambda r: User._from_proto(r.user), "users")


def delete_user_call(username: str) -> _Call[None]:
    request = ur.DeleteUserRequest(username=username)
    return _Call("DeleteUser", request, lambda r: None, "users")


def list_users_call(page_size: int, page_token: str) -> _Call[Page[User]]:
    request = ur.ListUsersRequest(page_size=page_size, page_token=page_token)
    return _Call(
        "ListUsers",
        request,
        lambda r: Page(tuple(User._from_proto(u) for u in r.users), r.next_page_token, r),
        "users",
    )


def update_password_call(username: str, password: str) -> _Call[None]:
    request = ur.UpdatePasswordRequest(username=username, password=password)
    return _Call("UpdatePassword", request, lambda r: None, "users")
