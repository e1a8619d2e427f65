"""Who may act at ModelArts' path, with Huawei Cloud's official SDK (files listed in
modelarts_sdk.py): the operator configured tokens and AK/SK pairs, so a request must be
signed with a configured pair (SDK-HMAC-SHA256) and carry a token in `X-Auth-Token`, and
a token bound to a domain may only name that domain as the project."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import message_pb2 as pb
from tests.conftest import ServerThread
from tests.gateway.modelarts_sdk import AK, SK, Dagwire, Refusal, act, modelarts_client, refusal

pytestmark = pytest.mark.timeout(60)

OPERATOR_TOKEN = "ops-3b7f21c9"
ALICE_TOKEN = "alice-9c04e5aa"
FAILING = 'name: failing\nentry_points:\n  a: {command: "exit 1"}\n'
NOT_AUTHENTICATED = "Incorrect IAM authentication information: "


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f"tokens:\n  - {{token: {OPERATOR_TOKEN}}}\n  - {{token: {ALICE_TOKEN}, domain: alice}}\n"
    )
    keys = tmp_path / "access-keys.yaml"
    keys.write_text(f"access_keys:\n  - {{ak: {AK}, sk: {SK}}}\n")
    return dataclasses.replace(server_config, token_file=tokens, access_key_file=keys)


@pytest.fixture
def failed_step(dagwire_server: ServerThread) -> Iterator[tuple[Dagwire, pb.StepExecution]]:
    calls = Dagwire(dagwire_server, token=OPERATOR_TOKEN)
    try:
        handle = calls.client.create_run(FAILING)
        handle.result(timeout=20)
        yield calls, calls.step(handle.run_id, "a")
    finally:
        calls.close()


def test_a_signed_request_with_a_known_token_is_accepted(
    dagwire_server: ServerThread, failed_step: tuple[Dagwire, pb.StepExecution]
) -> None:
    calls, step = failed_step
    sdk = modelarts_client(dagwire_server, token=OPERATOR_TOKEN)

    assert act(sdk, step, "retry").status_code == 201
    assert calls.step(step.run_id, "a").attempt == 2


def test_a_request_signed_with_the_wrong_secret_is_refused(
    dagwire_server: ServerThread, failed_step: tuple[Dagwire, pb.StepExecution]
) -> None:
    calls, step = failed_step
    sdk = modelarts_client(dagwire_server, token=OPERATOR_TOKEN, sk="not-the-secret")

    refused = refusal(lambda: act(sdk, step, "retry"))

    assert refused == Refusal(401, "APIGW.0301", NOT_AUTHENTICATED + "verify aksk signature fail")
    assert calls.step(step.run_id, "a").attempt == 1


def test_an_unknown_access_key_is_refused(
    dagwire_server: ServerThread, failed_step: tuple[Dagwire, pb.StepExecution]
) -> None:
    _, step = failed_step
    sdk = modelarts_client(dagwire_server, token=OPERATOR_TOKEN, ak="HPUAUNKNOWN")

    refused = refusal(lambda: act(sdk, step, "retry"))

    assert refused == Refusal(401, "APIGW.0301", NOT_AUTHENTICATED + "the access key is unknown")


def test_a_signed_request_without_a_token_is_refused(
    dagwire_server: ServerThread, failed_step: tuple[Dagwire, pb.StepExecution]
) -> None:
    _, step = failed_step
    sdk = modelarts_client(dagwire_server)

    refused = refusal(lambda: act(sdk, step, "retry"))

    assert refused == Refusal(401, "APIGW.0301", NOT_AUTHENTICATED + "x-auth-token not found")


def test_a_token_of_another_domain_than_the_project_is_refused(
    dagwire_server: ServerThread, failed_step: tuple[Dagwire, pb.StepExecution]
) -> None:
    calls, step = failed_step
    sdk = modelarts_client(dagwire_server, project_id="bob", token=ALICE_TOKEN)

    refused = refusal(lambda: act(sdk, step, "retry"))

    assert (refused.status_code, refused.error_code) == (403, "ModelArts.0203")
    assert calls.step(step.run_id, "a").attempt == 1
