"""The token file: what a valid one grants, and how a malformed one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.server.auth.principal import Principal
from dagwire.server.auth.tokens import TokenRegistry


def registry(text: str, tmp_path: Path) -> TokenRegistry:
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    return TokenRegistry.load(path)


def test_a_token_with_a_domain_binds_its_caller_to_that_domain(tmp_path: Path) -> None:
    tokens = registry("tokens:\n  - {token: t-alice, domain: alice}\n", tmp_path)
    assert tokens.lookup("t-alice") == Principal(domain="alice", name="alice")


def test_a_token_without_a_domain_is_an_operator_named_for_logs(tmp_path: Path) -> None:
    tokens = registry("tokens:\n  - {token: t-ops, name: ops}\n", tmp_path)
    assert tokens.lookup("t-ops") == Principal(domain=None, name="ops")


def test_a_tokens_user_names_the_caller_within_its_domain(tmp_path: Path) -> None:
    tokens = registry("tokens:\n  - {token: t-ml, domain: alice, user: ml}\n", tmp_path)
    found = tokens.lookup("t-ml")
    assert found == Principal(domain="alice", name="alice", user="ml")
    assert found is not None and found.username == "ml"


def test_without_a_user_the_caller_is_its_name(tmp_path: Path) -> None:
    tokens = registry("tokens:\n  - {token: t-alice, domain: alice}\n", tmp_path)
    found = tokens.lookup("t-alice")
    assert found is not None and found.username == "alice"


def test_an_unknown_token_matches_nobody(tmp_path: Path) -> None:
    tokens = registry("tokens:\n  - {token: t-alice, domain: alice}\n", tmp_path)
    assert tokens.lookup("t-alic") is None
    assert tokens.lookup("") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[]", "expected a mapping with a 'tokens' list", id="not-a-mapping"),
        pytest.param("tokens: []", "the 'tokens' list is empty", id="empty"),
        pytest.param("tokens: [t-alice]", r"tokens\[0\]: expected a mapping", id="bare-string"),
        pytest.param(
            "tokens: [{token: a, domain: alice}, {domian: bob, token: b}]",
            r"tokens\[1\]: unknown keys \['domian'\]",
            id="misspelt-domain",
        ),
        pytest.param("tokens: [{domain: alice}]", r"tokens\[0\]: 'token' must be", id="no-token"),
        pytest.param("tokens: [{token: 1234}]", r"tokens\[0\]: 'token' must be", id="number"),
        pytest.param("tokens: [{token: a, domain: ''}]", r"tokens\[0\]: 'domain'", id="no-domain"),
        pytest.param("tokens: [{token: a, user: ''}]", r"tokens\[0\]: 'user'", id="empty-user"),
        pytest.param(
            "tokens: [{token: a, domain: alice}, {token: a, domain: bob}]",
            r"tokens\[1\]: same token as tokens\[0\]",
            id="duplicate",
        ),
        pytest.param("tokens: [{token: a", "not valid YAML", id="bad-yaml"),
    ],
)
def test_a_malformed_token_file_is_refused_naming_the_entry(
    text: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        registry(text, tmp_path)
