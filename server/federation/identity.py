"""Which node is calling: the domain its client certificate names (CN), accepted only
when the certificate was issued by the CA pinned for that domain in the peers file.

gRPC has verified the chain against the bundle of every peer's CA; the pinning then
compares the certificate's issuer with the pinned CA's subject (the peers file refuses
two CAs with one subject, so the issuer names the CA that verified it). The X.509
fields are read with a few lines of DER walking: the standard library has no parser.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)


def pem_subject(pem: bytes) -> bytes | None:
    """The DER subject of the first certificate in `pem`."""
    fields = _tbs_fields(pem)
    return fields[5] if fields else None


def pem_issuer(pem: bytes) -> bytes | None:
    """The DER issuer of the first certificate in `pem`."""
    fields = _tbs_fields(pem)
    return fields[3] if fields else None


def calling_domain(
    auth_context: Mapping[str, Iterable[bytes]], pinned: Mapping[str, bytes]
) -> str | None:
    """The domain of the calling node, or None when its certificate names no known peer
    or was not issued by the CA pinned for the domain it names."""
    names = [name.decode() for name in auth_context.get("x509_common_name", ()) if name]
    certificates = list(auth_context.get("x509_pem_cert", ()))
    if len(names) != 1 or len(certificates) != 1:
        return None
    domain = names[0]
    expected = pinned.get(domain)
    if expected is None or pem_issuer(certificates[0]) != expected:
        return None
    return domain


def _tbs_fields(pem: bytes) -> list[bytes] | None:
    """The elements of a certificate's TBSCertificate, each as its full DER encoding,
    with a version element always first ([0] or an empty placeholder): 0 version,
    1 serial, 2 signature algorithm, 3 issuer, 4 validity, 5 subject, ..."""
    match = _PEM.search(pem)
    if match is None:
        return None
    try:
        der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        certificate = _content(der, 0)
        tbs = _content(certificate, 0)
        fields = _elements(tbs)
    except (ValueError, IndexError):
        return None
    if not fields or fields[0][0] != 0xA0:  # v1 certificates have no version element
        fields.insert(0, b"")
    return fields if len(fields) >= 6 else None


def _header(der: bytes, offset: int) -> tuple[int, int]:
    """(start of content, end of element) of the DER element at offset."""
    length = der[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return start, end


def _content(der: bytes, offset: int) -> bytes:
    start, end = _header(der, offset)
    return der[start:end]


def _elements(der: bytes) -> list[bytes]:
    elements = []
    offset = 0
    while offset < len(der):
        _, end = _header(der, offset)
        elements.append(der[offset:end])
        offset = end
    return elements
