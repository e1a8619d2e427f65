"""The public surface of dagwire.client is exactly what __all__ lists."""

import dagwire.client

EXPECTED = {
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
    "Grant",
    "FieldViolation",
    "FileSystem",
    "Flavour",
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
    "StepTransition",
    "StepLog",
    "StepStatistics",
    "StepStatus",
    "TLSConfig",
    "TaskSpec",
    "TaskStatus",
    "User",
    "UsageSample",
    "WaitTimeoutError",
    "WatchExpiredError",
    "job_request_from_dict",
    "job_request_from_text",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(dagwire.client.__all__) == EXPECTED


def test_every_listed_name_is_importable() -> None:
    for name in dagwire.client.__all__:
        assert hasattr(dagwire.client, name), name


def test_all_has_no_duplicates() -> None:
    assert len(dagwire.client.__all__) == len(set(dagwire.client.__all__))
