"""Pipelines and their versions: the specs runs and schedules are made from.

Each belongs to the domain of the tenant that created it; every call names the tenant
it acts for, and another domain's pipeline answers exactly as a missing one. Names are
unique per user of a domain, as PaddleFlow's are per user."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from dagwire.server.engine.catalog import Pipeline, PipelineVersion
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.store.workflow import Page, PipelineNameTaken, SqlWorkflowStore
from dagwire.server.workflow.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from dagwire.server.workflow.paging import (
    Listing,
    decode_token,
    page_limit,
    parse_filter,
    required,
)
from dagwire.server.workflow.spec import parse_pipeline

DEFAULT_USER = "default"


class ScheduleRegistry(Protocol):
    """What the runtime asks the schedules before removing what they run."""

    async def active_schedules_of(
        self, pipeline_id: str, pipeline_version_id: str = ""
    ) -> Sequence[object]: ...


class Pipelines:
    def __init__(self, store: SqlWorkflowStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._schedules: ScheduleRegistry | None = None

    def use_schedules(self, schedules: ScheduleRegistry) -> None:
        """The schedules, built after this runtime (they start its runs)."""
        self._schedules = schedules

    async def _refuse_if_scheduled(self, pipeline_id: str, version_id: str = "") -> None:
        if self._schedules is None:
            return
        active = await self._schedules.active_schedules_of(pipeline_id, version_id)
        if active:
            what = f"{pipeline_id}/{version_id}" if version_id else pipeline_id
            ids = ", ".join(getattr(s, "schedule_id", "?") for s in active)
            raise FailedPrecondition(
                "pipeline version" if version_id else "pipeline",
                what,
                f"active schedules run it ({ids}); stop or delete them first",
            )

    async def create_pipeline(
        self, tenant: Tenant, pipeline_yaml: str, description: str, request_id: str
    ) -> tuple[Pipeline, PipelineVersion]:
        spec = parse_pipeline(pipeline_yaml, "pipeline_yaml")
        # Idempotency keys are per domain: another domain's key names nothing here.
        key = f"pipeline:{tenant.owner}:{request_id}" if request_id else ""
        if key and (known := await self._store.remembered(key)):
            return await self.get_version(tenant, known, "1")
        now = self._clock()
        pipeline = Pipeline(
            pipeline_id=f"ppl-{secrets.token_hex(4)}",
            name=spec.name,
            username=tenant.user or DEFAULT_USER,
            description=description,
            create_time=now,
            update_time=now,
            latest_version_id="1",
            owner=tenant.owner,
        )
        version = PipelineVersion(
            pipeline.pipeline_id,
            "1",
            pipeline_yaml,
            pipeline.username,
            description,
            now,
            owner=tenant.owner,
        )
        try:
            await self._store.insert_pipeline(pipeline, version)
        except PipelineNameTaken:
            raise AlreadyExists(
                "pipeline",
                spec.name,
                f"user {pipeline.username!r} has one; update it to add a version, "
                "or rename the spec",
            ) from None
        if key:
            await self._store.remember(key, pipeline.pipeline_id)
        return pipeline, version

    async def get_pipeline(
        self, tenant: Tenant, pipeline_id: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[Pipeline, Page[PipelineVersion]]:
        """The pipeline and its versions, newest first: every one when `page_size` is 0
        (and no token), else one page."""
        pipeline = await self._pipeline(tenant, pipeline_id)
        before = decode_token(Listing.PIPELINE_VERSIONS, page_token, pipeline_id)
        if page_size == 0 and before is None:
            return pipeline, Page(await self._store.versions(pipeline_id), None)
        limit = page_limit(page_size, 50)
        return pipeline, await self._store.version_page(pipeline_id, before=before, limit=limit)

    async def list_pipelines(
        self, tenant: Tenant, page_size: int, page_token: str, filter_text: str
    ) -> Page[Pipeline]:
        where = parse_filter(filter_text, {"name", "username"})
        return await self._store.list_pipelines(
            after=decode_token(Listing.PIPELINES, page_token, filter_text),
            limit=page_limit(page_size, 50),
            where=where,
            owner=tenant.domain,
        )

    async def update_pipeline(
        self, tenant: Tenant, pipeline_id: str, pipeline_yaml: str, description: str
    ) -> tuple[Pipeline, PipelineVersion]:
        """A new version, owned (like the pipeline) by the pipeline's domain: only that
        domain (or an operator) reaches the pipeline at all."""
        pipeline = await self._pipeline(tenant, pipeline_id)
        spec = parse_pipeline(pipeline_yaml, "pipeline_yaml")
        if spec.name != pipeline.name:
            raise InvalidArgument.of(
                "pipeline_yaml.name",
                f"must stay {pipeline.name!r}, the pipeline's name; got {spec.name!r}",
            )
        now = self._clock()
        added = await self._store.add_version(
            pipeline_id,
            lambda version_id: PipelineVersion(
                pipeline_id,
                version_id,
                pipeline_yaml,
                tenant.user or pipeline.username,
                description,
                now,
                owner=pipeline.owner,
            ),
        )
        if added is None:
            raise NotFound("pipeline", pipeline_id)
        return added

    async def delete_pipeline(self, tenant: Tenant, pipeline_id: str) -> None:
        await self._pipeline(tenant, pipeline_id)
        await self._refuse_if_scheduled(pipeline_id)
        if not await self._store.delete_pipeline(pipeline_id):
            raise NotFound("pipeline", pipeline_id)

    async def get_version(
        self, tenant: Tenant, pipeline_id: str, version_id: str
    ) -> tuple[Pipeline, PipelineVersion]:
        pipeline = await self._pipeline(tenant, pipeline_id)
        version = await self._store.get_version(
            pipeline_id, required("pipeline_version_id", version_id)
        )
        if version is None:
            raise NotFound("pipeline version", f"{pipeline_id}/{version_id}")
        return pipeline, version

    async def delete_version(self, tenant: Tenant, pipeline_id: str, version_id: str) -> None:
        _, version = await self.get_version(tenant, pipeline_id, version_id)
        await self._refuse_if_scheduled(pipeline_id, version.version_id)
        if len(await self._store.versions(pipeline_id)) == 1:
            raise FailedPrecondition(
                "pipeline version",
                f"{pipeline_id}/{version_id}",
                "it is the pipeline's only version; delete the pipeline instead",
            )
        await self._store.delete_version(pipeline_id, version.version_id)

    async def resolve_version(
        self, tenant: Tenant, pipeline_id: str, pipeline_version_id: str
    ) -> str:
        """The version to run ("" means the latest); NotFound when there is none."""
        pipeline = await self._pipeline(tenant, pipeline_id)
        version_id = pipeline_version_id or pipeline.latest_version_id
        await self.get_version(tenant, pipeline_id, version_id)
        return version_id

    async def _pipeline(self, tenant: Tenant, pipeline_id: str) -> Pipeline:
        """The pipeline; NotFound, in the same words, when it is missing or another
        domain's. Its owner never changes, so later writes by id stay within it."""
        pipeline = await self._store.get_pipeline(required("pipeline_id", pipeline_id))
        if pipeline is None or not tenant.sees(pipeline.owner):
            raise NotFound("pipeline", pipeline_id)
        return pipeline
