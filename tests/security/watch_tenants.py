"""Fixtures of the watch and answer-size tests: a server with a token file binding
alice's and bob's tokens to their domains, and an operator token."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest
from google.rpc import status_pb2
from google.rpc.error_details_pb2 import ErrorInfo

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.config import ServerConfig

ALICE = (("token", "tok-alice"),)
BOB = (("token", "tok-bob"),)
OPS = (("token", "tok-ops"),)


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        "  - {token: tok-alice, domain: alice}\n"
        "  - {token: tok-bob, domain: bob}\n"
        "  - {token: tok-ops, name: ops}\n"
    )
    return dataclasses.replace(server_config, token_file=tokens)


def noop_task(alias: str, *parties: str, after: str = "") -> pb.Task:
    return pb.Task(
        alias=alias,
        app_image="dagwire-noop",
        parties=[pb.Party(domain_id=domain, role="partner") for domain in parties],
        dependencies=[after] if after else [],
    )


def chain(job_id: str, tasks: int, *parties: str) -> pb.CreateJobRequest:
    """`tasks` tasks, each depending on the one before."""
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator=parties[0],
        max_parallelism=1,
        tasks=[noop_task(f"t{i}", *parties, after=f"t{i - 1}" if i else "") for i in range(tasks)],
    )


def stream_error_info(error: grpc.aio.AioRpcError) -> ErrorInfo:
    """The ErrorInfo of a failed stream's rich status (grpc-status-details-bin)."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            info = ErrorInfo()
            assert status.details and status.details[0].Unpack(info)
            return info
    raise AssertionError(f"no rich status in {error!r}")
