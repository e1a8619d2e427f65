"""Domain records of pipelines and what runs leave behind: versions, run metadata,
cache entries and artifacts. Immutable values, like the rest of the engine's model."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dagwire.server.engine.model import FailureStrategy


@dataclass(frozen=True, slots=True)
class Pipeline:
    pipeline_id: str
    name: str
    username: str
    description: str
    create_time: datetime
    update_time: datetime
    latest_version_id: str
    owner: str = ""  # the domain that created it; "" an operator (engine.tenancy)


@dataclass(frozen=True, slots=True)
class PipelineVersion:
    pipeline_id: str
    version_id: str
    pipeline_yaml: str
    username: str
    description: str
    create_time: datetime
    owner: str = ""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a run was created from and with; its state lives in its job."""

    run_id: str
    name: str
    username: str
    run_yaml: str
    source: str
    create_time: datetime
    description: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    disabled: tuple[str, ...] = ()
    failure_strategy: FailureStrategy = FailureStrategy.FAIL_FAST
    docker_env: str = ""
    pipeline_id: str = ""
    pipeline_version_id: str = ""
    schedule_id: str = ""
    scheduled_time: datetime | None = None
    retried_from: str = ""
    owner: str = ""
    # The run's main file system (PaddleFlow's run fsName): fs_options.main_fs.name of
    # its spec, else the fs_name it was created with; "" when it has none.
    fs_name: str = ""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    cache_id: str
    first_fp: str
    second_fp: str
    run_id: str
    step_name: str
    username: str
    expired_time: int  # seconds of validity; -1 for ever
    create_time: datetime
    pipeline_id: str = ""
    owner: str = ""

    def expired(self, now: datetime) -> bool:
        return (
            self.expired_time >= 0 and (now - self.create_time).total_seconds() > self.expired_time
        )


class ArtifactType(enum.Enum):
    INPUT = "input"
    OUTPUT = "output"


@dataclass(frozen=True, slots=True)
class Artifact:
    run_id: str
    step_name: str
    name: str
    path: str
    type: ArtifactType
    username: str
    create_time: datetime
    owner: str = ""


@dataclass(frozen=True, slots=True)
class FileSystem:
    """A file system registered by name for its owner's runs (PaddleFlow's fs): `url`
    is `local:///abs/path` or `s3://bucket/prefix`, `properties` its settings (an S3
    endpoint and credentials)."""

    name: str
    url: str
    properties: Mapping[str, str]
    username: str
    create_time: datetime
    owner: str = ""
