"""The peers file (`--peers peers.yaml`): the other nodes of the federation, each with
the domain it owns, its address and the CA that issued its certificates.

    peers:
      - domain: bob
        address: 127.0.0.1:9184
        ca: certs/ca.crt        # relative paths are relative to the peers file

Each peer's CA is pinned: a node calling this one must present a certificate with CN =
its domain issued by the CA listed for that domain, not merely by any CA listed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from dagwire.server.engine.names import is_dns1123_label
from dagwire.server.federation.identity import pem_subject

# A federation of more nodes than this is not what a peers file is for.
MAX_PEERS = 64
_KEYS = frozenset({"domain", "address", "ca"})


@dataclass(frozen=True, slots=True)
class Peer:
    """Another node: the domain it owns, where it listens, the CA it is pinned to."""

    domain: str
    address: str
    ca_pem: bytes
    # The DER-encoded subject of the CA: a caller's certificate must name it as issuer.
    ca_subject: bytes


class PeerBook:
    """The peers of this node, by domain."""

    def __init__(self, own_domain: str, peers: Mapping[str, Peer]) -> None:
        self.own_domain = own_domain
        self._peers = dict(peers)

    @classmethod
    def load(cls, path: Path, own_domain: str) -> PeerBook:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: cannot read the peers file: {error}") from error
        entries = document.get("peers") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a mapping with a 'peers' list")
        if len(entries) > MAX_PEERS:
            raise ValueError(f"{path}: at most {MAX_PEERS} peers, got {len(entries)}")
        peers: dict[str, Peer] = {}
        for index, entry in enumerate(entries):
            peer = _peer(path, index, entry)
            if peer.domain == own_domain:
                raise ValueError(f"{path}: peers[{index}] is this node's own domain {own_domain!r}")
            if peer.domain in peers:
                raise ValueError(f"{path}: domain {peer.domain!r} is listed twice")
            peers[peer.domain] = peer
        _check_distinct_issuers(path, peers)
        return cls(own_domain, peers)

    def get(self, domain: str) -> Peer | None:
        return self._peers.get(domain)

    def __iter__(self) -> Iterator[Peer]:
        return iter(self._peers.values())

    def __contains__(self, domain: object) -> bool:
        return domain in self._peers

    def ca_bundle(self) -> bytes:
        """Every peer's CA, for the TLS handshake (pinning per peer happens after it)."""
        distinct = dict.fromkeys(peer.ca_pem for peer in self._peers.values())
        return b"\n".join(distinct)


def _peer(path: Path, index: int, entry: object) -> Peer:
    where = f"{path}: peers[{index}]"
    if not isinstance(entry, dict) or set(entry) != _KEYS:
        raise ValueError(f"{where}: expected exactly the keys domain, address and ca")
    domain, address, ca = entry["domain"], entry["address"], entry["ca"]
    if not isinstance(domain, str) or not is_dns1123_label(domain):
        raise ValueError(f"{where}: domain must be a DNS-1123 label, got {domain!r}")
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{where}: address must be host:port, got {address!r}")
    ca_path = path.parent / str(ca)
    try:
        ca_pem = ca_path.read_bytes()
    except OSError as error:
        raise ValueError(f"{where}: cannot read the CA {ca_path}: {error}") from error
    subject = pem_subject(ca_pem)
    if subject is None:
        raise ValueError(f"{where}: {ca_path} holds no PEM certificate")
    return Peer(domain, str(address), ca_pem, subject)


def _check_distinct_issuers(path: Path, peers: Mapping[str, Peer]) -> None:
    """Two different CAs with one subject would make the pinning ambiguous (a handshake
    verified by one could pass as issued by the other): refuse them."""
    seen: dict[bytes, bytes] = {}
    for peer in peers.values():
        known = seen.setdefault(peer.ca_subject, peer.ca_pem)
        if known != peer.ca_pem:
            raise ValueError(
                f"{path}: the CA of {peer.domain!r} has the subject of another peer's CA "
                "but is a different certificate: give each CA a distinct subject"
            )
