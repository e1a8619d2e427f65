"""Login and users at PaddleFlow's REST paths, with the bodies its SDK sends and reads:
client/paddleflow/client.py (login: POST /login {username, password}, then the header
`x-pf-authorization: <authorization>`) and client/paddleflow/user/user_api.py (add_user:
POST /user {username, password}; list_user: GET /user?maxKeys= reading userList[].name
and .createTime; del_user: DELETE /user/<name>; update_password: PUT /user/<name>
{password}; an empty answer is success, a body with `message` a failure). Error codes
and statuses from pkg/apiserver/common/errors.go; routes from pkg/apiserver/router/v1/
user.go."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.users.conftest import OPS_TOKEN, ROOT_PASSWORD

PREFIX = "/api/paddleflow/v1"


async def _send(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    headers = {"x-pf-authorization": token} if token is not None else {}
    async with http.request(
        method, PREFIX + path, json=body, headers=headers, params=params
    ) as reply:
        text = await reply.text()
        return reply.status, (await reply.json() if text else None)


async def _login(http: aiohttp.ClientSession, name: str, password: str) -> str:
    status, body = await _send(
        http, "POST", "/login", body={"username": name, "password": password}
    )
    assert status == 200, body
    token: str = body["authorization"]
    return token


async def test_root_logs_in_and_lists_users_with_the_token_in_x_pf_authorization(
    http: aiohttp.ClientSession,
) -> None:
    token = await _login(http, "root", ROOT_PASSWORD)
    status, body = await _send(http, "GET", "/user", token, params={"maxKeys": "100"})
    assert status == 200
    assert [u["name"] for u in body["userList"]] == ["root"]
    assert body["userList"][0]["createTime"]
    assert (body["maxKeys"], body["isTruncated"]) == (100, False)


async def test_a_wrong_password_answers_auth_failed(http: aiohttp.ClientSession) -> None:
    status, body = await _send(
        http, "POST", "/login", body={"username": "root", "password": "wrongpass1"}
    )
    assert (status, body["code"]) == (400, "AuthFailed")
    assert set(body) == {"requestID", "code", "message"}


async def test_root_adds_a_user_who_logs_in_and_changes_its_password(
    http: aiohttp.ClientSession,
) -> None:
    root = await _login(http, "root", ROOT_PASSWORD)
    status, body = await _send(
        http, "POST", "/user", root, body={"username": "alice", "password": "alicepass1"}
    )
    assert (status, body) == (200, {"username": "alice"})
    alice = await _login(http, "alice", "alicepass1")
    status, body = await _send(http, "PUT", "/user/alice", alice, body={"password": "alicepass2"})
    assert (status, body) == (200, None)
    status, body = await _send(http, "GET", "/user", alice)  # the old token is refused
    assert (status, body["code"]) == (400, "AuthInvalidToken")
    await _login(http, "alice", "alicepass2")


async def test_a_user_who_is_not_root_cannot_add_users(http: aiohttp.ClientSession) -> None:
    root = await _login(http, "root", ROOT_PASSWORD)
    await _send(http, "POST", "/user", root, body={"username": "bobby", "password": "bobbypass1"})
    bobby = await _login(http, "bobby", "bobbypass1")
    status, body = await _send(
        http, "POST", "/user", bobby, body={"username": "eve1", "password": "evepass123"}
    )
    assert (status, body["code"]) == (403, "OnlyRootAllowed")


async def test_a_deleted_users_token_is_refused(http: aiohttp.ClientSession) -> None:
    await _send(
        http, "POST", "/user", OPS_TOKEN, body={"username": "carol", "password": "carolpass1"}
    )
    carol = await _login(http, "carol", "carolpass1")
    status, body = await _send(http, "DELETE", "/user/carol", OPS_TOKEN)
    assert (status, body) == (200, None)
    status, body = await _send(http, "PUT", "/user/carol", carol, body={"password": "carolpass2"})
    assert (status, body["code"]) == (400, "AuthInvalidToken")


async def test_bad_names_and_weak_passwords_answer_paddleflows_codes(
    http: aiohttp.ClientSession,
) -> None:
    answers = []
    for name, password in (("a_b", "goodpass1"), ("goodname", "weak")):
        status, body = await _send(
            http, "POST", "/user", OPS_TOKEN, body={"username": name, "password": password}
        )
        answers.append((status, body["code"]))
    assert answers == [(400, "InvalidNamePattern"), (400, "UserPasswordWeak")]


async def test_adding_a_user_twice_answers_user_name_duplicated(
    http: aiohttp.ClientSession,
) -> None:
    body = {"username": "dave", "password": "davepass1"}
    await _send(http, "POST", "/user", OPS_TOKEN, body=body)
    status, answer = await _send(http, "POST", "/user", OPS_TOKEN, body=body)
    assert (status, answer["code"]) == (403, "UserNameDuplicated")


async def test_a_missing_user_answers_user_not_exist(http: aiohttp.ClientSession) -> None:
    status, body = await _send(http, "DELETE", "/user/nobody1", OPS_TOKEN)
    assert (status, body["code"]) == (400, "UserNotExist")


async def test_a_login_body_field_of_the_wrong_type_answers_malformed_json(
    http: aiohttp.ClientSession,
) -> None:
    status, body = await _send(http, "POST", "/login", body={"username": "root", "password": 12})
    assert (status, body["code"]) == (400, "MalformedJSON")
