"""dagwire's Python SDK (sync and asyncio) for the Kuscia-compatible JobService and for
WorkflowService (pipelines, runs, cache, artifacts, logs, schedules).

    from pathlib import Path
    from dagwire.client import DagwireClient

    with DagwireClient(target="127.0.0.1:8083") as client:
        handle = client.submit_job(kuscia_json_body)
        job = handle.result(timeout=600)
        print(job.status.state, [t.progress for t in job.status.tasks])

        pipeline = client.create_pipeline(Path("diamond.yaml"))
        run = client.create_run(pipeline_id=pipeline.pipeline_id).result(timeout=600)
        print(run.status, [(step.name, step.status) for step in run.steps])

The command-line tool lives in :mod:`dagwire.client.cli`.
"""

from ._async import AsyncDagwireClient, AsyncJobHandle, AsyncRunHandle
from ._base import TLS, BaseDagwireClient, JobRequest, TLSConfig
from ._errors import (
    ERROR_CLASSES,
    RPC_ERROR_CLASSES,
    AlreadyExistsError,
    AuthError,
    DagwireError,
    FailedPreconditionError,
    FieldViolation,
    IllegalStateError,
    InvalidArgumentError,
    InvalidRequestError,
    JobAlreadyExistsError,
    JobNotFoundError,
    KusciaError,
    NotFoundError,
    RPCError,
    WaitTimeoutError,
    WatchExpiredError,
)
from ._models import (
    TERMINAL_STATES,
    Endpoint,
    EventType,
    Job,
    JobEvent,
    JobState,
    JobStatus,
    Party,
    PartyStatus,
    ScheduleConfig,
    TaskSpec,
    TaskStatus,
    job_request_from_dict,
    job_request_from_text,
)
from ._queue_models import Cluster, ClusterResource, Flavour, Grant, Queue, Resources
from ._step_models import StepAction, StepExecution, StepExecutionStatus, StepIO, StepTransition
from ._sync import DagwireClient, JobHandle, RunHandle
from ._user_models import Session, User
from ._workflow_calls import PipelineSpec
from ._workflow_models import (
    Artifact,
    ArtifactType,
    CacheEntry,
    ConcurrencyPolicy,
    FailureStrategy,
    FileSystem,
    LogChunk,
    LogPosition,
    Page,
    Pipeline,
    PipelineVersion,
    Run,
    RunEvent,
    RunStatus,
    Schedule,
    ScheduleStatus,
    Step,
    StepLog,
    StepStatistics,
    StepStatus,
    UsageSample,
)

__all__ = [
    "ERROR_CLASSES",
    "RPC_ERROR_CLASSES",
    "TERMINAL_STATES",
    "TLS",
    "AlreadyExistsError",
    "Artifact",
    "ArtifactType",
    "AsyncDagwireClient",
    "AsyncJobHandle",
    "AsyncRunHandle",
    "AuthError",
    "BaseDagwireClient",
    "CacheEntry",
    "Cluster",
    "ClusterResource",
    "ConcurrencyPolicy",
    "DagwireClient",
    "DagwireError",
    "Endpoint",
    "EventType",
    "FailedPreconditionError",
    "FailureStrategy",
    "FieldViolation",
    "FileSystem",
    "Flavour",
    "Grant",
    "IllegalStateError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "Job",
    "JobAlreadyExistsError",
    "JobEvent",
    "JobHandle",
    "JobNotFoundError",
    "JobRequest",
    "JobState",
    "JobStatus",
    "KusciaError",
    "LogChunk",
    "LogPosition",
    "NotFoundError",
    "Page",
    "Party",
    "PartyStatus",
    "Pipeline",
    "PipelineSpec",
    "PipelineVersion",
    "Queue",
    "RPCError",
    "Resources",
    "Run",
    "RunEvent",
    "RunHandle",
    "RunStatus",
    "Schedule",
    "ScheduleConfig",
    "ScheduleStatus",
    "Session",
    "Step",
    "StepAction",
    "StepExecution",
    "StepExecutionStatus",
    "StepIO",
    "StepLog",
    "StepStatistics",
    "StepStatus",
    "StepTransition",
    "TLSConfig",
    "TaskSpec",
    "TaskStatus",
    "UsageSample",
    "User",
    "WaitTimeoutError",
    "WatchExpiredError",
    "job_request_from_dict",
    "job_request_from_text",
]
