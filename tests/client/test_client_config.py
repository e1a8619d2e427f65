"""Client configuration: TLS material, token and metadata on every call, handles."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.client import DagwireClient, JobNotFoundError, TLSConfig
from dagwire.client._base import BaseDagwireClient
from tests.client.scripted import Script, ScriptedJobService, deleted


def test_tls_config_reads_the_pem_files_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "client.key").write_bytes(b"KEY")
    config = TLSConfig.from_files(ca=tmp_path / "ca.crt", key=tmp_path / "client.key")
    assert (config.root_certificates, config.private_key, config.certificate_chain) == (
        b"CA",
        b"KEY",
        None,
    )


def test_plaintext_is_the_default() -> None:
    assert BaseDagwireClient()._credentials is None


def test_tls_true_uses_the_system_roots() -> None:
    assert isinstance(BaseDagwireClient(tls=True)._credentials, grpc.ChannelCredentials)


def test_server_hostname_overrides_the_name_checked_in_the_certificate() -> None:
    client = BaseDagwireClient(tls=TLSConfig(server_hostname="kusciaapi"))
    assert client._options == [("grpc.ssl_target_name_override", "kusciaapi")]


def test_every_call_carries_the_token_and_extra_metadata(
    scripted_server: ScriptedJobService,
) -> None:
    with DagwireClient(
        target=scripted_server.address, token="s3cret", metadata={"x-request-id": "42"}
    ) as client:
        client.get_job("job-x")
    assert scripted_server.metadata[0]["token"] == "s3cret"
    assert scripted_server.metadata[0]["x-request-id"] == "42"


def test_job_handle_for_an_existing_job_makes_no_call(
    scripted_server: ScriptedJobService,
) -> None:
    with DagwireClient(target=scripted_server.address) as client:
        handle = client.job_handle("job-x")
        assert handle.job_id == "job-x"
    assert scripted_server.metadata == []


def test_waiting_on_a_job_that_gets_deleted_raises_job_not_found(
    scripted_server: ScriptedJobService,
) -> None:
    scripted_server.scripts = [Script([deleted("job-x", 5)])]
    with (
        DagwireClient(target=scripted_server.address) as client,
        pytest.raises(JobNotFoundError, match="deleted"),
    ):
        client.job_handle("job-x").result(timeout=5)
