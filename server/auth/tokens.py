"""Static API tokens from a YAML file:

    tokens:
      - token: "s3cret-for-alice"
        domain: alice          # bound: sees and acts only on alice's resources
        user: alice-ml         # optional: the username of what this caller creates
      - token: "s3cret-for-ops"
        name: ops              # no domain: an operator, who sees everything

`name` (optional) labels the caller in logs; it defaults to the domain. `user`
(optional) is who the caller is within its domain: the `username` of the pipelines,
runs and schedules it creates; it defaults to `name`. Files without `user` keep working.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path

import yaml

from dagwire.server.auth.principal import Principal

_KEYS = frozenset({"token", "domain", "name", "user"})


class TokenRegistry:
    def __init__(self, entries: Sequence[tuple[str, Principal]]) -> None:
        # Tokens are compared as SHA-256 digests: every comparison then has the same
        # length, so its timing reveals nothing about the length of a configured token.
        self._entries = tuple((_digest(token), principal) for token, principal in entries)

    @classmethod
    def load(cls, path: Path) -> TokenRegistry:
        """Read a token file. A malformed file raises ValueError naming the entry."""
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from error
        return cls.parse(document, source=str(path))

    @classmethod
    def parse(cls, document: object, *, source: str) -> TokenRegistry:
        if not isinstance(document, dict) or not isinstance(document.get("tokens"), list):
            raise ValueError(f"{source}: expected a mapping with a 'tokens' list")
        entries: list[tuple[str, Principal]] = []
        first_seen: dict[str, int] = {}
        for index, entry in enumerate(document["tokens"]):
            where = f"{source}: tokens[{index}]"
            token, principal = _entry(entry, where)
            if token in first_seen:
                raise ValueError(f"{where}: same token as tokens[{first_seen[token]}]")
            first_seen[token] = index
            entries.append((token, principal))
        if not entries:
            raise ValueError(f"{source}: the 'tokens' list is empty, so nobody could call")
        return cls(entries)

    def lookup(self, token: str) -> Principal | None:
        """The caller a token belongs to, or None. Compares against every entry without
        stopping at a match, so the time taken does not tell which entry matched."""
        presented = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:
            if hmac.compare_digest(digest, presented):
                found = principal
        return found


def _entry(entry: object, where: str) -> tuple[str, Principal]:
    if not isinstance(entry, dict):
        raise ValueError(
            f"{where}: expected a mapping with 'token' and optional 'domain', 'name', 'user'"
        )
    # A misspelt 'domain' would silently make an operator of a domain's token.
    unknown = sorted(str(key) for key in entry.keys() - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed: token, domain, name, user")
    token = entry.get("token")
    if not isinstance(token, str) or not token:
        raise ValueError(f"{where}: 'token' must be a non-empty string (quote numbers)")
    domain = entry.get("domain")
    if domain is not None and (not isinstance(domain, str) or not domain):
        raise ValueError(
            f"{where}: 'domain' must be a non-empty string, or left out for an operator"
        )
    name = entry.get("name", domain or "operator")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: 'name' must be a non-empty string")
    user = entry.get("user")
    if user is not None and (not isinstance(user, str) or not user):
        raise ValueError(f"{where}: 'user' must be a non-empty string, or left out for 'name'")
    return token, Principal(domain=domain, name=name, user=user)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
