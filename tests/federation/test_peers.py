"""The peers file: checked at start, each peer's CA pinned by its subject."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.server.federation.identity import calling_domain, pem_issuer, pem_subject
from dagwire.server.federation.peers import PeerBook
from tests.federation.nodes import make_certs, openssl


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    make_certs(directory, ("alice", "bob"))
    return directory


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_peers_file_loads_each_peer_with_its_ca(certs: Path) -> None:
    peers = _write(
        certs / "peers.yaml",
        "peers:\n  - {domain: bob, address: '127.0.0.1:9000', ca: ca-bob.crt}\n",
    )
    book = PeerBook.load(peers, "alice")
    bob = book.get("bob")
    assert bob is not None and bob.address == "127.0.0.1:9000"
    assert bob.ca_subject == pem_subject((certs / "ca-bob.crt").read_bytes())
    assert "alice" not in book


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{domain: alice, address: 'h:1', ca: ca-bob.crt}", "own domain"),
        ("{domain: Bob, address: 'h:1', ca: ca-bob.crt}", "DNS-1123"),
        ("{domain: bob, address: 'nowhere', ca: ca-bob.crt}", "host:port"),
        ("{domain: bob, address: 'h:1', ca: missing.crt}", "cannot read the CA"),
        ("{domain: bob, address: 'h:1'}", "exactly the keys"),
    ],
    ids=["own-domain", "bad-domain", "bad-address", "missing-ca", "missing-key"],
)
def test_a_bad_peer_entry_is_refused_saying_why(certs: Path, entry: str, problem: str) -> None:
    peers = _write(certs / "bad.yaml", f"peers:\n  - {entry}\n")
    with pytest.raises(ValueError, match=problem):
        PeerBook.load(peers, "alice")


def test_two_different_cas_with_one_subject_are_refused(certs: Path) -> None:
    # Another CA with the subject of bob's: pinning by issuer could not tell them apart.
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "30", "-subj", "/CN=dagwire CA of bob", "-keyout", "twin.key",
        "-out", "ca-twin.crt", cwd=certs,
    )  # fmt: skip
    same = "peers:\n  - {domain: bob, address: 'h:1', ca: ca-bob.crt}\n"
    shared = _write(
        certs / "shared.yaml", same + "  - {domain: carol, address: 'h:2', ca: ca-bob.crt}\n"
    )
    PeerBook.load(shared, "alice")  # one CA for two peers is fine
    twins = _write(
        certs / "twins.yaml", same + "  - {domain: carol, address: 'h:2', ca: ca-twin.crt}\n"
    )
    with pytest.raises(ValueError, match="distinct subject"):
        PeerBook.load(twins, "alice")


def test_the_calling_domain_needs_its_name_from_its_own_pinned_ca(certs: Path) -> None:
    pinned = {"bob": pem_subject((certs / "ca-bob.crt").read_bytes()) or b""}
    genuine = (certs / "bob.crt").read_bytes()
    assert pem_issuer(genuine) == pinned["bob"]
    context = {"x509_common_name": [b"bob"], "x509_pem_cert": [genuine]}
    assert calling_domain(context, pinned) == "bob"
    alice = (certs / "alice.crt").read_bytes()
    assert calling_domain({"x509_common_name": [b"bob"], "x509_pem_cert": [alice]}, pinned) is None
    assert (
        calling_domain({"x509_common_name": [b"carol"], "x509_pem_cert": [genuine]}, pinned) is None
    )
    assert calling_domain({}, pinned) is None


NODE_FILES = ("--peer-cert", "c", "--peer-key", "k")


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--domain", "alice"], "--domain needs --peers, --peer-listen, --peer-cert, --peer-key"),
        (
            ["--domain", "Alice", "--peers", "p", "--peer-listen", "h:1", *NODE_FILES],
            "DNS-1123",
        ),
    ],
    ids=["incomplete", "bad-domain"],
)
def test_serve_refuses_an_incomplete_node_saying_what_is_missing(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from dagwire.server.config import parse_args

    with pytest.raises(SystemExit):
        parse_args(argv)
    assert problem in capsys.readouterr().err


def test_without_domain_a_server_owns_every_domain() -> None:
    from dagwire.server.config import parse_args

    assert parse_args([]).domain is None
