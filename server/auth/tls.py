"""TLS for the server, and mTLS: with a client CA, every client must present a certificate
that CA signed, and the certificate's subject CN names the caller's domain (as in Kuscia)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import grpc


def server_credentials(cert: Path, key: Path, client_ca: Path | None) -> grpc.ServerCredentials:
    """Credentials from PEM files; with `client_ca`, a client without a certificate signed
    by it fails the TLS handshake."""
    return grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())],
        root_certificates=client_ca.read_bytes() if client_ca is not None else None,
        require_client_auth=client_ca is not None,
    )


def client_common_name(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The subject CN of the verified client certificate of a call, if there is one."""
    # gRPC reports a certificate without a CN as one empty name, not as none.
    names = [name.decode() for name in auth_context.get("x509_common_name", ()) if name]
    return names[0] if len(names) == 1 else None
