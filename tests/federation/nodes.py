"""Federation nodes as users run them: one `python -m dagwire.server --domain X` process
per domain on loopback, with certificates from `make certs` and a peers file each."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.eventually import assert_eventually
from tests.processes import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]
TERMINAL = {"Succeeded", "Failed", "Cancelled", "ApprovalReject"}


def make_certs(directory: Path, domains: Iterable[str]) -> None:
    """The README's way: `make certs`."""
    subprocess.run(
        ["make", "-s", "certs", f"CERTS_DIR={directory}", f"DOMAINS={' '.join(domains)}"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def forge_certificate(certs: Path, name: str, common_name: str, ca: str) -> None:
    """A certificate with CN=common_name issued by the CA `ca` (ca-<ca>.crt), which may
    be a stranger's CA made here."""
    if not (certs / f"ca-{ca}.crt").exists():
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "30", "-subj", f"/CN=dagwire CA of {ca}",
            "-keyout", f"ca-{ca}.key", "-out", f"ca-{ca}.crt", cwd=certs,
        )  # fmt: skip
    (certs / f"{name}.ext").write_text(
        f"subjectAltName=DNS:{common_name},DNS:localhost,IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", f"/CN={common_name}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=certs,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"ca-{ca}.crt", "-CAkey", f"ca-{ca}.key",
        "-CAcreateserial", "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
        cwd=certs,
    )  # fmt: skip


@dataclass
class Node:
    domain: str
    workdir: Path
    certs: Path
    peer_port: int = field(default_factory=free_port)
    client_port: int = field(default_factory=free_port)
    process: ServerProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def peer_address(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def start(
        self, peers: Sequence[Node], *extra: str, secret: int = 0, more_images: str = ""
    ) -> Node:
        self.workdir.mkdir(parents=True, exist_ok=True)
        peers_file = self.workdir / "peers.yaml"
        peers_file.write_text(
            "peers:\n"
            + "".join(
                f"  - domain: {peer.domain}\n    address: {peer.peer_address}\n"
                f"    ca: {self.certs / f'ca-{peer.domain}.crt'}\n"
                for peer in peers
            )
        )
        images = self.workdir / "images.yaml"
        # The node's operator gives its party its secret; no other node sees it.
        images.write_text(
            "images:\n  dagwire-secure-sum:\n"
            f"    command: [{sys.executable}, -m, dagwire.server.executors.demo_apps, secure-sum]\n"
            f"    env: {{SECURE_SUM_SECRET: '{secret}'}}\n    network: true\n" + more_images
        )
        self.process = ServerProcess(
            self.workdir,
            "--domain", self.domain,
            "--peers", str(peers_file),
            "--peer-listen", self.peer_address,
            "--peer-cert", str(self.certs / f"{self.domain}.crt"),
            "--peer-key", str(self.certs / f"{self.domain}.key"),
            "--sandbox-network",
            "--app-images", str(images),
            *extra,
            port=self.client_port,
        ).start()  # fmt: skip
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP the node (its party processes, in their own groups, run on)."""
        assert self.process is not None and self.process._process is not None
        self.process._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None and self.process._process is not None
        self.process._process.send_signal(signal.SIGCONT)

    def log(self) -> str:
        return (self.workdir / "server.log").read_text()

    # --- the Kuscia API at this node --------------------------------------------------

    async def call(self, method: str, request: object) -> object:
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            return await getattr(stub, method)(request)

    async def query(self, job_id: str) -> pb.QueryJobResponse:
        response = await self.call("QueryJob", pb.QueryJobRequest(job_id=job_id))
        assert isinstance(response, pb.QueryJobResponse)
        return response

    async def state(self, job_id: str) -> str:
        response = await self.query(job_id)
        return response.data.status.state if response.status.code == 0 else ""

    async def wait_state(self, job_id: str, states: set[str], timeout: float = 40) -> str:
        return await assert_eventually(
            lambda: self.state(job_id),
            lambda state: state in states,
            timeout=timeout,
            interval=0.2,
            what=f"job {job_id} in {sorted(states)} at {self.domain}'s node",
        )

    def attempts(self, job_id: str, domain: str) -> list[Path]:
        """The attempt folders of `domain`'s parties of the job under this node's data dir."""
        return sorted((self.data_dir / "tasks" / job_id).glob(f"*/{domain}/*"))


def sum_job(job_id: str, *, timeout: int = 60) -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=1,
        tasks=[
            pb.Task(
                alias="sum",
                task_id=f"{job_id}-sum",
                app_image="dagwire-secure-sum",
                parties=[pb.Party(domain_id="alice"), pb.Party(domain_id="bob")],
                task_input_config=f'{{"timeout_seconds": {timeout}}}',
            )
        ],
    )


def approve(job_id: str, accept: bool = True, reason: str = "") -> pb.ApproveJobRequest:
    result = pb.APPROVE_RESULT_ACCEPT if accept else pb.APPROVE_RESULT_REJECT
    return pb.ApproveJobRequest(job_id=job_id, result=result, reason=reason)
