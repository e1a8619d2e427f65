"""How a call's credentials resolve to a caller: tokens, client certificates, both."""

from __future__ import annotations

import pytest

from dagwire.server.auth.errors import Unauthenticated
from dagwire.server.auth.interceptor import Authenticator
from dagwire.server.auth.principal import OPERATOR, Principal
from dagwire.server.auth.tokens import TokenRegistry

TOKENS = TokenRegistry(
    [("t-alice", Principal("alice", "alice")), ("t-ops", Principal(None, "ops"))]
)
NO_CERT: dict[str, list[bytes]] = {}


def cert(common_name: str) -> dict[str, list[bytes]]:
    return {"x509_common_name": [common_name.encode()]}


async def test_without_tokens_or_client_certificates_every_caller_is_an_operator() -> None:
    assert await Authenticator().authenticate([], NO_CERT) == OPERATOR


async def test_a_known_token_resolves_to_its_caller() -> None:
    found = await Authenticator(tokens=TOKENS).authenticate([("token", "t-alice")], NO_CERT)
    assert found == Principal("alice", "alice")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        pytest.param([], "missing token", id="missing"),
        pytest.param([("authorization", "t-alice")], "missing token", id="other-key"),
        pytest.param([("token", "t-bob")], "invalid token", id="unknown"),
        pytest.param([("token", "t-ops"), ("token", "t-alice")], "invalid token", id="two"),
    ],
)
async def test_a_call_without_exactly_one_known_token_is_refused(
    metadata: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(Unauthenticated, match=message):
        await Authenticator(tokens=TOKENS).authenticate(metadata, NO_CERT)


async def test_a_client_certificate_binds_the_caller_to_its_common_name() -> None:
    found = await Authenticator(bind_client_certificate=True).authenticate([], cert("bob"))
    assert found == Principal("bob", "bob")


@pytest.mark.parametrize(
    "auth_context",
    [pytest.param(NO_CERT, id="no-name"), pytest.param(cert(""), id="empty-name")],
)
async def test_a_client_certificate_without_a_common_name_is_refused(
    auth_context: dict[str, list[bytes]],
) -> None:
    with pytest.raises(Unauthenticated, match="no subject common name"):
        await Authenticator(bind_client_certificate=True).authenticate([], auth_context)


async def test_an_operator_token_over_a_client_certificate_is_bound_to_the_certificate() -> None:
    both = Authenticator(tokens=TOKENS, bind_client_certificate=True)
    assert await both.authenticate([("token", "t-ops")], cert("alice")) == Principal("alice", "ops")


async def test_a_token_of_another_domain_than_the_client_certificate_is_refused() -> None:
    both = Authenticator(tokens=TOKENS, bind_client_certificate=True)
    with pytest.raises(Unauthenticated, match="token is for domain 'alice'"):
        await both.authenticate([("token", "t-alice")], cert("bob"))
