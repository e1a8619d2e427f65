"""Login over gRPC, and what a login token is good for: written from PaddleFlow's user
controller (pkg/apiserver/controller/user/user.go: Login, CreateUser, UpdateUser,
DeleteUser, ListUser) and its JWT middleware (pkg/apiserver/middleware/jwt.go)."""

from __future__ import annotations

import grpc
import pytest

from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from tests.users.conftest import (
    FILE_ALICE_TOKEN,
    OPS,
    ROOT_PASSWORD,
    add_user,
    as_token,
    bearer,
    login,
)


async def test_root_logs_in_and_lists_users_with_its_token(
    users: urpc.UserServiceStub,
) -> None:
    token = await login(users, "root", ROOT_PASSWORD)
    listed = await users.ListUsers(ur.ListUsersRequest(), metadata=bearer(token))
    assert [u.name for u in listed.users] == ["root"]


async def test_a_login_token_works_in_the_token_metadata_too(users: urpc.UserServiceStub) -> None:
    token = await login(users, "root", ROOT_PASSWORD)
    listed = await users.ListUsers(ur.ListUsersRequest(), metadata=as_token(token))
    assert [u.name for u in listed.users] == ["root"]


@pytest.mark.parametrize(
    ("name", "password"),
    [
        pytest.param("root", "wrongpass1", id="wrong-password"),
        pytest.param("nobody1", ROOT_PASSWORD, id="no-such-user"),
    ],
)
async def test_a_wrong_name_or_password_is_refused_alike(
    users: urpc.UserServiceStub, name: str, password: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await login(users, name, password)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused.value.details() == "username or password not correct"


async def test_a_call_without_credentials_is_refused_once_root_has_a_password(
    users: urpc.UserServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.ListUsers(ur.ListUsersRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_badly_signed_token_is_refused(users: urpc.UserServiceStub) -> None:
    header, payload, _ = (await login(users, "root", ROOT_PASSWORD)).split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.ListUsers(ur.ListUsersRequest(), metadata=bearer(forged))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "signature" in (refused.value.details() or "")


async def test_a_deleted_users_token_is_refused(users: urpc.UserServiceStub) -> None:
    await add_user(users, "carol", "carolpass1")
    token = await login(users, "carol", "carolpass1")
    await users.UpdatePassword(  # the token works before...
        ur.UpdatePasswordRequest(username="carol", password="carolpass1"), metadata=bearer(token)
    )
    token = await login(users, "carol", "carolpass1")
    await users.DeleteUser(ur.DeleteUserRequest(username="carol"), metadata=OPS)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.UpdatePassword(
            ur.UpdatePasswordRequest(username="carol", password="carolpass2"),
            metadata=bearer(token),
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "no longer exists" in (refused.value.details() or "")


async def test_a_token_issued_before_a_password_change_is_refused(
    users: urpc.UserServiceStub,
) -> None:
    await add_user(users, "dave", "davepass1")
    old = await login(users, "dave", "davepass1")
    await users.UpdatePassword(
        ur.UpdatePasswordRequest(username="dave", password="davepass2"), metadata=bearer(old)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.UpdatePassword(
            ur.UpdatePasswordRequest(username="dave", password="davepass3"), metadata=bearer(old)
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "password change" in (refused.value.details() or "")
    new = await login(users, "dave", "davepass2")
    await users.UpdatePassword(
        ur.UpdatePasswordRequest(username="dave", password="davepass3"), metadata=bearer(new)
    )


async def test_a_user_who_is_not_root_cannot_add_users(users: urpc.UserServiceStub) -> None:
    await add_user(users, "erin", "erinpass1")
    token = await login(users, "erin", "erinpass1")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.AddUser(
            ur.AddUserRequest(username="frank", password="frankpass1"), metadata=bearer(token)
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_user_changing_another_users_password_is_told_there_is_no_such_user(
    users: urpc.UserServiceStub,
) -> None:
    await add_user(users, "gina", "ginapass1")
    await add_user(users, "hank", "hankpass1")
    token = await login(users, "gina", "ginapass1")
    answers = []
    for name in ("hank", "nosuchuser"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await users.UpdatePassword(
                ur.UpdatePasswordRequest(username=name, password="stolen123"),
                metadata=bearer(token),
            )
        answers.append((refused.value.code(), refused.value.details().replace(name, "X")))
    assert answers[0] == answers[1]
    assert answers[0][0] == grpc.StatusCode.NOT_FOUND


async def test_the_token_file_keeps_working_beside_users(users: urpc.UserServiceStub) -> None:
    await users.AddUser(ur.AddUserRequest(username="ivan", password="ivanpass1"), metadata=OPS)
    listed = await users.ListUsers(ur.ListUsersRequest(), metadata=OPS)
    assert [u.name for u in listed.users] == ["ivan", "root"]
    with pytest.raises(grpc.aio.AioRpcError) as refused:  # a file tenant is no operator
        await users.ListUsers(ur.ListUsersRequest(), metadata=as_token(FILE_ALICE_TOKEN))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_weak_password_is_refused_with_paddleflows_rule(
    users: urpc.UserServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.AddUser(ur.AddUserRequest(username="judy", password="short"), metadata=OPS)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "short" not in (refused.value.details() or "")  # the password is never echoed


async def test_names_are_unique_regardless_of_case(users: urpc.UserServiceStub) -> None:
    await users.AddUser(ur.AddUserRequest(username="kate", password="katepass1"), metadata=OPS)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.AddUser(ur.AddUserRequest(username="KATE", password="katepass1"), metadata=OPS)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_users_are_listed_a_page_at_a_time(users: urpc.UserServiceStub) -> None:
    for name in ("pag1", "pag2", "pag3"):
        await users.AddUser(ur.AddUserRequest(username=name, password="pagepass1"), metadata=OPS)
    first = await users.ListUsers(ur.ListUsersRequest(page_size=2), metadata=OPS)
    second = await users.ListUsers(
        ur.ListUsersRequest(page_size=2, page_token=first.next_page_token), metadata=OPS
    )
    assert [u.name for u in first.users] == ["pag1", "pag2"]
    assert [u.name for u in second.users] == ["pag3", "root"]
    assert second.next_page_token == ""


async def test_a_user_belongs_to_the_domain_named_as_it(users: urpc.UserServiceStub) -> None:
    added = await users.AddUser(
        ur.AddUserRequest(username="Lena", password="lenapass1"), metadata=OPS
    )
    chosen = await users.AddUser(
        ur.AddUserRequest(username="mike", password="mikepass1", domain="lab"), metadata=OPS
    )
    assert (added.user.domain, chosen.user.domain) == ("lena", "lab")


async def test_root_cannot_be_deleted(users: urpc.UserServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.DeleteUser(ur.DeleteUserRequest(username="root"), metadata=OPS)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
