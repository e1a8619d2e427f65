"""Fixtures for the auth tests: a token file, test certificates, and jobs with chosen
parties. Every module here runs the real server with a token file unless it says
otherwise."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from google.rpc.error_details_pb2 import ErrorInfo

from dagwire.kuscia.v1alpha1 import common_pb2
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig

ALICE_TOKEN = "alice-3f9c2b7e"
BOB_TOKEN = "bob-81d04a6c"
OPS_TOKEN = "ops-5e7a19f3"

Metadata = tuple[tuple[str, str], ...]


def with_token(token: str) -> Metadata:
    """A token, and the ask for ErrorInfo in error answers (dagwire leaves it out of
    Kuscia's `details` unless asked)."""
    return (("token", token), ("dagwire-error-info", "1"))


ALICE = with_token(ALICE_TOKEN)
BOB = with_token(BOB_TOKEN)
OPS = with_token(OPS_TOKEN)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        f"tokens:\n"
        f"  - {{token: {ALICE_TOKEN}, domain: alice}}\n"
        f"  - {{token: {BOB_TOKEN}, domain: bob}}\n"
        f"  - {{token: {OPS_TOKEN}, name: ops}}\n"
    )
    return path


@pytest.fixture
def server_config(server_config: ServerConfig, token_file: Path) -> ServerConfig:
    return dataclasses.replace(server_config, token_file=token_file)


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> job_pb2_grpc.JobServiceStub:
    return job_pb2_grpc.JobServiceStub(channel)


def job(job_id: str, *parties: str, seconds: float = 0.0) -> pb.CreateJobRequest:
    """A one-task job whose parties are `parties`, the first one initiating."""
    task = pb.Task(
        alias="t",
        app_image="dagwire-sleep",
        parties=[pb.Party(domain_id=domain, role="partner") for domain in parties],
        task_input_config=json.dumps({"sleep_seconds": seconds}),
    )
    return pb.CreateJobRequest(job_id=job_id, initiator=parties[0], tasks=[task])


async def create(
    stub: job_pb2_grpc.JobServiceStub, request: pb.CreateJobRequest, metadata: Metadata = OPS
) -> None:
    response = await stub.CreateJob(request, metadata=metadata)
    assert response.status.code == 0, response.status.message


def error_reason(status: common_pb2.Status) -> str:
    """The ErrorInfo reason of an in-band Kuscia status."""
    info = ErrorInfo()
    assert status.details and status.details[0].Unpack(info)
    return info.reason


# --- test certificates -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pki:
    """A CA with a server certificate (localhost, 127.0.0.1) and client certificates for
    alice, bob and a subject without a CN, plus an alice certificate from a rogue CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    alice_cert: Path
    alice_key: Path
    bob_cert: Path
    bob_key: Path
    no_cn_cert: Path
    no_cn_key: Path
    rogue_alice_cert: Path
    rogue_alice_key: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    # The `cryptography` package is not installed in this venv; openssl does the job.
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so no test certificates can be made")
    folder = tmp_path_factory.mktemp("pki")
    ca = _ca(folder, "ca")
    rogue = _ca(folder, "rogue-ca")
    server = _leaf(
        folder, ca, "server", "/CN=localhost", "serverAuth", "DNS:localhost,IP:127.0.0.1"
    )
    alice = _leaf(folder, ca, "alice", "/CN=alice", "clientAuth")
    bob = _leaf(folder, ca, "bob", "/CN=bob", "clientAuth")
    no_cn = _leaf(folder, ca, "no-cn", "/O=dagwire tests", "clientAuth")
    rogue_alice = _leaf(folder, rogue, "rogue-alice", "/CN=alice", "clientAuth")
    return Pki(ca, *server, *alice, *bob, *no_cn, *rogue_alice)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


_NEW_KEY = ("-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def _ca(folder: Path, name: str) -> Path:
    cert = folder / f"{name}.pem"
    _openssl(
        "req", "-x509", *_NEW_KEY, "-keyout", folder / f"{name}.key", "-out", cert,
        "-days", "2", "-subj", f"/CN=dagwire test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert


def _leaf(
    folder: Path, ca: Path, name: str, subject: str, usage: str, san: str = ""
) -> tuple[Path, Path]:
    cert, key, csr, ext = (folder / f"{name}.{suffix}" for suffix in ("pem", "key", "csr", "ext"))
    ext.write_text(
        f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"
        + (f"subjectAltName={san}\n" if san else "")
    )
    _openssl("req", "-new", *_NEW_KEY, "-keyout", key, "-out", csr, "-subj", subject)
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca.with_suffix(".key"),
        "-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext,
    )  # fmt: skip
    return cert, key
