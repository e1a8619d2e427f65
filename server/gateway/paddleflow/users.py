"""Login and users at PaddleFlow's paths (pkg/apiserver/router/v1/user.go), backed by
UserService. The bodies are those PaddleFlow's SDK sends and reads:

- `POST /login` {username, password} -> {authorization} (client/paddleflow/client.py
  login, which then sends `x-pf-authorization: <authorization>`);
- `POST /user` {username, password} -> {username} (user/user_api.py add_user);
- `GET /user?maxKeys=` -> {maxKeys, isTruncated, nextMarker, userList: [{name,
  createTime}]} (list_user; ListUserResponse in controller/user/user.go);
- `DELETE /user/{username}` and `PUT /user/{username}` {password} -> 200 with no body
  (del_user, update_password: an empty answer is success).

Refusals use PaddleFlow's codes for users (pkg/apiserver/common/errors.go): AuthFailed
for a wrong name or password (PaddleFlow answers UserNotExist for a missing name; dagwire
answers both alike, so a login does not tell which names exist), OnlyRootAllowed for a
tenant adding users, AccessDenied for its other management calls, UserNotExist,
UserNameDuplicated, InvalidNamePattern, UserPasswordWeak.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    ACCESS_DENIED,
    ACTION_NOT_ALLOWED,
    AUTH_FAILED,
    AUTH_INVALID_TOKEN,
    INVALID_ARGUMENTS,
    INVALID_NAME_PATTERN,
    ONLY_ROOT_ALLOWED,
    USER_PASSWORD_WEAK,
    Answer,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
    page_of,
    text,
)

USERS = "UserService"

# A refusal's code on these paths, by the code the shared table gave it.
NO_CODES: Mapping[str, str] = {}
LOGIN_CODES: Mapping[str, str] = {
    AUTH_INVALID_TOKEN: AUTH_FAILED,
    ACTION_NOT_ALLOWED: AUTH_FAILED,  # root without a password
}
ADD_CODES: Mapping[str, str] = {ACCESS_DENIED: ONLY_ROOT_ALLOWED}
DELETE_CODES: Mapping[str, str] = {ACTION_NOT_ALLOWED: ACCESS_DENIED}  # deleting root
# An invalid request's code by the field at fault (the first named in the message).
FIELD_CODES: Mapping[str, str] = {
    "username": INVALID_NAME_PATTERN,
    "password": USER_PASSWORD_WEAK,
}


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def user_call(
        call: Call, rpc: str, request: Mapping[str, Any], codes: Mapping[str, str] = NO_CODES
    ) -> dict[str, Any]:
        try:
            return await api.call(call, USERS, rpc, request)
        except PaddleFlowError as error:
            raise _refined(error, codes) from None

    async def login(call: Call) -> dict[str, Any]:
        body = await call.body()
        request = {"username": text(body, "username"), "password": text(body, "password")}
        answer = await user_call(call, "Login", request, LOGIN_CODES)
        return {"authorization": answer["token"]}

    async def add_user(call: Call) -> dict[str, Any]:
        body = await call.body()
        request = {"username": text(body, "username"), "password": text(body, "password")}
        answer = await user_call(call, "AddUser", request, ADD_CODES)
        return {"username": answer["user"]["name"]}

    async def list_users(call: Call) -> dict[str, Any]:
        page = page_of(call)
        answer = await user_call(call, "ListUsers", page.request())
        users = [{"name": u["name"], "createTime": u["create_time"]} for u in answer["users"]]
        listed = page.answer(answer["next_page_token"], userList=users)
        return {"maxKeys": page.max_keys, **listed}

    async def delete_user(call: Call) -> Answer:
        await user_call(call, "DeleteUser", {"username": call.path("username")}, DELETE_CODES)
        return Answer(None)

    async def update_user(call: Call) -> Answer:
        body = await call.body()
        request = {"username": call.path("username"), "password": text(body, "password")}
        await user_call(call, "UpdatePassword", request)
        return Answer(None)

    return [
        api.route("POST", "/login", login, public=True),
        api.route("POST", "/user", add_user),
        api.route("GET", "/user", list_users),
        api.route("DELETE", "/user/{username}", delete_user),
        api.route("PUT", "/user/{username}", update_user),
    ]


def _refined(error: PaddleFlowError, codes: Mapping[str, str]) -> PaddleFlowError:
    code = codes.get(error.code, error.code)
    if error.code == INVALID_ARGUMENTS:
        field = error.message.split(":", 1)[0].strip()
        code = FIELD_CODES.get(field, code)
    return PaddleFlowError(code, error.message) if code != error.code else error
