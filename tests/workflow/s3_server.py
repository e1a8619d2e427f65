"""A real S3-compatible server on loopback for the S3 file system tests: moto's server
mode (a dev dependency), on a free port, for one test. Skipped with the reason when it
cannot start here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

ACCESS_KEY = "test-access"
SECRET_KEY = "test-secret-7f3a"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def properties(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:  # pragma: no cover - moto[server] is a dev dependency
        pytest.skip(f"moto's server mode is not installed: {error}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    try:
        server.start()
    except Exception as error:  # pragma: no cover - depends on the machine
        pytest.skip(f"the S3-compatible server could not start: {error}")
    try:
        port = server._server.server_port  # type: ignore[attr-defined]
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
