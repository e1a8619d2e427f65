"""AK/SK request signatures as Huawei Cloud's API gateway checks them (SDK-HMAC-SHA256,
the signing the official SDKs do), for the gateway's ModelArts path.

The operator lists the pairs in a YAML file:

    access_keys:
      - ak: "HPUAEXAMPLEKEY"
        sk: "the-secret-key"

A signed request carries `X-Sdk-Date: 20250101T120000Z` and
`Authorization: SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<h1;h2>, Signature=<hex>`,
where the signature is HMAC-SHA256(sk, string to sign) and

    string to sign    = "SDK-HMAC-SHA256" \\n <X-Sdk-Date> \\n hex(SHA256(canonical request))
    canonical request = METHOD \\n path (each segment URL-encoded, ending in "/") \\n
                        sorted query (k=v&...) \\n "name:value\\n" per signed header \\n
                        signed header names \\n hex(SHA256(body))

The signature says who holds the secret; who the caller is, and what it may do, still
comes from its token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import yaml

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# How far a request's X-Sdk-Date may be from the server's clock (APIG allows 15 minutes).
MAX_SKEW = timedelta(minutes=15)

_AUTHORIZATION = re.compile(
    rf"{ALGORITHM} Access=(?P<ak>[^,]+), SignedHeaders=(?P<headers>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]+)"
)


class SignatureRefused(Exception):
    """The request is not signed by a configured key; the text says why."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a signature covers, as received."""

    method: str
    path: str  # without the query
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class AccessKeys:
    def __init__(self, secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)

    @classmethod
    def load(cls, path: Path) -> AccessKeys:
        """Read a key file. A malformed file raises ValueError naming the entry."""
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from error
        entries = document.get("access_keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected `access_keys: [{{ak, sk}}, ...]`")
        secrets: dict[str, str] = {}
        for index, entry in enumerate(entries):
            if not (
                isinstance(entry, dict)
                and set(entry) == {"ak", "sk"}
                and all(isinstance(v, str) and v for v in entry.values())
            ):
                raise ValueError(f"{path}: access_keys[{index}] needs exactly ak and sk, as text")
            secrets[entry["ak"]] = entry["sk"]
        return cls(secrets)

    def verify(self, request: SignedRequest, now: datetime) -> str:
        """The AK that signed `request`, or SignatureRefused."""
        match = _AUTHORIZATION.fullmatch(request.headers.get("authorization", "").strip())
        if match is None:
            raise SignatureRefused(f"the request is not signed with {ALGORITHM}")
        secret = self._secrets.get(match["ak"])
        if secret is None:
            raise SignatureRefused("the access key is unknown")
        stamp = request.headers.get(DATE_HEADER.lower(), "")
        try:
            signed_at = datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise SignatureRefused(f"{DATE_HEADER} is missing or malformed") from None
        if abs(now - signed_at) > MAX_SKEW:
            raise SignatureRefused(f"{DATE_HEADER} is more than 15 minutes from the server's time")
        signed_headers = match["headers"].split(";")
        if DATE_HEADER.lower() not in signed_headers or any(
            name not in request.headers for name in signed_headers
        ):
            raise SignatureRefused("the signed headers are not all present")
        expected = signature(secret, stamp, canonical_request(request, signed_headers))
        if not hmac.compare_digest(expected, match["signature"]):
            raise SignatureRefused("verify aksk signature fail")
        return match["ak"]


def canonical_request(request: SignedRequest, signed_headers: list[str]) -> str:
    segments = [quote(segment, safe="~") for segment in unquote(request.path).split("/")]
    path = "/".join(segments)
    if not path.endswith("/"):
        path += "/"
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(request.query))
    headers = "".join(f"{name}:{request.headers[name].strip()}\n" for name in signed_headers)
    body_hash = request.headers.get(CONTENT_HASH_HEADER.lower()) or _hex_sha256(request.body)
    return "\n".join(
        (request.method.upper(), path, query, headers, ";".join(signed_headers), body_hash)
    )


def signature(secret: str, stamp: str, canonical: str) -> str:
    to_sign = f"{ALGORITHM}\n{stamp}\n{_hex_sha256(canonical.encode())}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def _hex_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
