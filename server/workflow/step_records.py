"""What a pipeline step's exit leaves on record: its artifacts and its cache entry.

The step executor only reports what a step read and wrote (StepOutputs on its exit).
Once the engine applied a successful exit, the job runtime saves the job with the rows
made here riding in the same transaction (store.base.Rider): a dependent launches only
after that commit, so it never starts ahead of the outputs it reads, and an exit that is
stale or whose save fails records nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.catalog import Artifact, ArtifactType, CacheEntry
from dagwire.server.engine.model import Job, JobKind
from dagwire.server.executors.base import PartyExited
from dagwire.server.store.base import Rider
from dagwire.server.store.workflow import RecordArtifacts, RecordCacheEntry, RecordCacheReuse
from dagwire.server.workflow.compile import StepConfig


def step_exit_riders(job: Job, alias: str, exited: PartyExited, now: datetime) -> Sequence[Rider]:
    """The rows a run's step's applied successful exit records (runtime.jobs.ExitRiders):
    the artifacts it read and wrote, and a cache entry when it ran with the cache on (a
    reuse of recorded outputs makes none: it records the reuse, which keeps the reused
    run from a DeleteRun with check_cache)."""
    produced = exited.step_outputs
    if job.spec.kind is not JobKind.RUN or produced is None:
        return ()
    # A loop's copies share one config: each records under its own name (its alias).
    config = replace(StepConfig.from_json(job.spec.task(alias).task_input_config), step=alias)
    riders: list[Rider] = [
        RecordArtifacts(
            (
                *_artifacts(config, produced.inputs, ArtifactType.INPUT, now),
                *_artifacts(config, produced.outputs, ArtifactType.OUTPUT, now),
            )
        )
    ]
    if exited.cached_from:
        riders.append(RecordCacheReuse(config.run_id, config.step, exited.cached_from))
    elif config.cache_enable and produced.first_fp and produced.second_fp:
        riders.append(
            RecordCacheEntry(
                CacheEntry(
                    cache_id=f"cch-{secrets.token_hex(4)}",
                    first_fp=produced.first_fp,
                    second_fp=produced.second_fp,
                    run_id=config.run_id,
                    step_name=config.step,
                    username=config.username,
                    expired_time=config.cache_max_expired_time,
                    create_time=now,
                    pipeline_id=config.pipeline_id,
                    owner=config.owner,
                )
            )
        )
    return riders


def _artifacts(
    config: StepConfig, paths: Mapping[str, str], kind: ArtifactType, now: datetime
) -> list[Artifact]:
    return [
        Artifact(
            config.run_id, config.step, name, path, kind, config.username, now, owner=config.owner
        )
        for name, path in paths.items()
    ]
