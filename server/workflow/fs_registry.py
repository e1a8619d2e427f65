"""The file-system registry: named file systems of a domain (PaddleFlow's fs), for the
fs_options and fs_name of its runs.

- `local:///abs/path` is a host folder. It opens the host to the runs that name it, so
  only an operator registers one (never inside the server's data dir).
- `s3://bucket/prefix` is a prefix of an S3-compatible bucket (properties: endpoint,
  region, access_key, secret_key): a step's view of it is synced into a folder of its
  own before it runs and back after (workflow.s3_sync).

A file system belongs to its creator's domain: a tenant sees, uses and deletes its own
only, and another domain's answers exactly as a missing one. A name registered nowhere
keeps meaning the server-managed folder `<fs dir>/<domain>/<name>` (workflow.filesystems).
Secret properties never leave the server: responses mask them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from dagwire.server.engine.catalog import FileSystem
from dagwire.server.engine.quoting import quoted
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.store.file_systems import FileSystemNameTaken, SqlFileSystems
from dagwire.server.workflow.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    Forbidden,
    InvalidArgument,
    NotFound,
)
from dagwire.server.workflow.spec import MAX_NAME_LENGTH, check_fs_name

MAX_FILE_SYSTEMS = 100  # per domain
MAX_PROPERTIES = 16
MAX_PROPERTY_LENGTH = 2048
MAX_URL_LENGTH = 1024
MASK = "******"
_PROPERTY_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SECRET = re.compile(r"(secret|password|token)(_?key)?$", re.IGNORECASE)
_PATH_PART = re.compile(r"^[A-Za-z0-9._-]+$")
# PaddleFlow spells them in camel case; ours in snake case: both are read.
_ALIASES = {"accessKey": "access_key", "secretKey": "secret_key"}

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a registered file system's content is: a host folder, or a bucket prefix."""

    scheme: str  # "local" or "s3"
    path: str  # local: the absolute folder; s3: the key prefix ("" for the whole bucket)
    bucket: str = ""
    properties: Mapping[str, str] | None = None


def location(url: str, properties: Mapping[str, str] | None = None) -> Location:
    """The parsed URL; InvalidArgument on `url` says what is wrong."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidArgument.of("url", f"at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise InvalidArgument.of("url", "takes no query or fragment")
    segments = [s for s in parts.path.split("/") if s]
    if any(s in (".", "..") or not _PATH_PART.match(s) for s in segments):
        raise InvalidArgument.of(
            "url",
            f"path parts are letters, digits, '.', '_' or '-', without . or ..: {quoted(url)}",
        )
    if parts.scheme == "local":
        if parts.netloc or not parts.path.startswith("/") or not segments:
            raise InvalidArgument.of(
                "url", f"must be local:///an/absolute/folder, got {quoted(url)}"
            )
        return Location("local", "/" + "/".join(segments))
    if parts.scheme == "s3":
        if not _BUCKET.match(parts.netloc):
            raise InvalidArgument.of(
                "url", f"must be s3://bucket/prefix with a bucket name, got {quoted(url)}"
            )
        return Location("s3", "/".join(segments), parts.netloc, properties or {})
    raise InvalidArgument.of("url", f"must start with local:/// or s3://, got {quoted(url)}")


def check_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """Bounded keys and values, PaddleFlow's camel-case names read as ours."""
    violations: list[FieldViolation] = []
    if len(properties) > MAX_PROPERTIES:
        raise InvalidArgument.of("properties", f"at most {MAX_PROPERTIES} properties")
    checked: dict[str, str] = {}
    for key, value in properties.items():
        if not _PROPERTY_KEY.match(key):
            violations.append(
                FieldViolation(
                    f"properties.{key[:63]}",
                    "a key is a letter then letters, digits, '_', '.' or '-'",
                )
            )
        elif len(value) > MAX_PROPERTY_LENGTH or "\0" in value:
            violations.append(
                FieldViolation(
                    f"properties.{key}", f"at most {MAX_PROPERTY_LENGTH} characters, no NUL"
                )
            )
        else:
            checked[_ALIASES.get(key, key)] = value
    endpoint = checked.get("endpoint", "")
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        violations.append(
            FieldViolation(
                "properties.endpoint", f"must be an http or https URL, got {quoted(endpoint)}"
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return checked


def masked(fs: FileSystem) -> FileSystem:
    """The file system as responses show it: secret values replaced."""
    return replace(
        fs, properties={k: MASK if _SECRET.search(k) else v for k, v in fs.properties.items()}
    )


def endpoint_origin(url: str) -> str:
    """An endpoint as the allow-list compares it: scheme://host:port, lower case."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # not a port number: matches no allowed endpoint
        return url
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


class FileSystems:
    def __init__(
        self,
        rows: SqlFileSystems,
        clock: Clock,
        data_dir: Path,
        s3_endpoints: frozenset[str] = frozenset(),
    ) -> None:
        self._rows = rows
        self._clock = clock
        self._data_dir = data_dir.absolute()
        # The server connects to a file system's endpoint: a tenant may name only those
        # the operator lists (--s3-endpoints), never an internal address of its choosing.
        self._s3_endpoints = frozenset(endpoint_origin(url) for url in s3_endpoints)

    async def create(
        self, tenant: Tenant, name: str, url: str, properties: Mapping[str, str]
    ) -> FileSystem:
        if not name:
            raise InvalidArgument.of("name", "is required")
        check_fs_name(name, "name")
        checked = check_properties(properties)
        where = location(url, checked)
        if where.scheme == "local":
            if not tenant.is_operator:
                raise Forbidden(
                    "a local:// file system exposes a host folder: only an operator registers one"
                )
            if Path(where.path).is_relative_to(self._data_dir) or self._data_dir.is_relative_to(
                where.path
            ):
                raise InvalidArgument.of("url", "must not hold or lie inside the server's data dir")
        endpoint = checked.get("endpoint", "")
        if (
            where.scheme == "s3"
            and endpoint
            and not tenant.is_operator
            and (endpoint_origin(endpoint) not in self._s3_endpoints)
        ):
            raise Forbidden(
                f"the S3 endpoint {quoted(endpoint)} is not one the operator lets tenants "
                "name (--s3-endpoints): the server itself connects to it"
            )
        if await self._rows.count(tenant.owner) >= MAX_FILE_SYSTEMS:
            raise FailedPrecondition(
                "file system", name, f"the domain already has {MAX_FILE_SYSTEMS}; delete one first"
            )
        fs = FileSystem(name, url, checked, tenant.user, self._clock(), owner=tenant.owner)
        try:
            await self._rows.insert(fs)
        except FileSystemNameTaken:
            raise AlreadyExists("file system", name) from None
        return fs

    async def get(self, tenant: Tenant, name: str) -> FileSystem:
        fs = await self._rows.get(tenant.owner, name) if len(name) <= MAX_NAME_LENGTH else None
        if fs is None:
            raise NotFound("file system", name)
        return fs

    async def list(self, tenant: Tenant) -> list[FileSystem]:
        return await self._rows.list(tenant.owner)

    async def delete(self, tenant: Tenant, name: str) -> None:
        if len(name) > MAX_NAME_LENGTH or not await self._rows.delete(tenant.owner, name):
            raise NotFound("file system", name)

    async def registered(self, owner: str, names: set[str]) -> frozenset[str]:
        """Those of `names` that `owner` has registered."""
        if not names:
            return frozenset()
        return frozenset(fs.name for fs in await self._rows.list(owner)) & names  # <= 100 rows

    async def lookup(self, owner: str, name: str) -> Location | None:
        """Where `owner`'s file system `name` is (None: not registered)."""
        fs = await self._rows.get(owner, name)
        return None if fs is None else location(fs.url, fs.properties)
