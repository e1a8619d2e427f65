"""An S3-compatible file system as a step sees it: its prefix copied into a folder of
the step's own before it runs, and what the step changed copied back after (new and
edited files put, removed files deleted). Blocking (boto3): callers run it in a thread.

Object keys are the bucket owner's: one that would land outside the folder (`..`, an
absolute path) is refused, and a prefix of more than MAX_OBJECTS objects or
MAX_BYTES bytes is not synced at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from dagwire.server.engine.names import path_below

MAX_OBJECTS = 10_000
MAX_BYTES = 1 << 30
_TIMEOUTS = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3})


class SyncError(Exception):
    """The prefix cannot be synced; the message says why."""


@dataclass(frozen=True, slots=True)
class S3Folder:
    """A bucket prefix and the local folder it is synced with."""

    bucket: str
    prefix: str  # "" or "a/b" (no trailing '/')
    folder: str
    properties: Mapping[str, str] = field(default_factory=dict)
    # relative path -> md5 of what was downloaded; filled by download()
    manifest: Mapping[str, str] = field(default_factory=dict)


def _client(properties: Mapping[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=properties.get("endpoint") or None,
        region_name=properties.get("region") or "us-east-1",
        aws_access_key_id=properties.get("access_key") or None,
        aws_secret_access_key=properties.get("secret_key") or None,
        config=_TIMEOUTS,
    )


def _key_prefix(prefix: str) -> str:
    return f"{prefix}/" if prefix else ""


def download(target: S3Folder) -> S3Folder:
    """Copy the prefix into the folder (made empty first); the folder with its manifest."""
    client = _client(target.properties)
    root = Path(target.folder)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    keys: list[tuple[str, Path]] = []
    total = 0
    paginator = client.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=target.bucket, Prefix=_key_prefix(target.prefix)):
            for item in page.get("Contents", []):
                relative = item["Key"][len(_key_prefix(target.prefix)) :]
                if not relative or relative.endswith("/"):
                    continue  # a folder marker
                try:
                    local = path_below(root, *relative.split("/"))
                except ValueError:
                    raise SyncError(
                        f"object {item['Key']!r} cannot be a file below the folder"
                    ) from None
                keys.append((item["Key"], local))
                total += int(item.get("Size", 0))
                if len(keys) > MAX_OBJECTS or total > MAX_BYTES:
                    raise SyncError(
                        f"the prefix holds more than {MAX_OBJECTS} objects or {MAX_BYTES} bytes"
                    )
        manifest: dict[str, str] = {}
        for key, local in keys:
            local.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(target.bucket, key, str(local))
            manifest[local.relative_to(root).as_posix()] = _md5(local)
    except client.exceptions.NoSuchBucket:
        raise SyncError(f"bucket {target.bucket!r} does not exist") from None
    except SyncError:
        raise
    except Exception as error:  # botocore's errors: endpoint, credentials, network
        raise SyncError(f"could not read s3://{target.bucket}/{target.prefix}: {error}") from None
    return S3Folder(target.bucket, target.prefix, target.folder, target.properties, manifest)


def upload(target: S3Folder) -> int:
    """Put the folder's new and changed files, delete the objects of removed ones; the
    folder is removed after. Returns how many objects changed."""
    client = _client(target.properties)
    root = Path(target.folder)
    present = {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
    changed = 0
    try:
        for relative, path in present.items():
            if target.manifest.get(relative) != _md5(path):
                client.upload_file(str(path), target.bucket, _key_prefix(target.prefix) + relative)
                changed += 1
        for relative in sorted(set(target.manifest) - set(present)):
            client.delete_object(Bucket=target.bucket, Key=_key_prefix(target.prefix) + relative)
            changed += 1
    except Exception as error:
        raise SyncError(f"could not write s3://{target.bucket}/{target.prefix}: {error}") from None
    shutil.rmtree(root, ignore_errors=True)
    return changed


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
