"""dagwire's Python SDK (sync and asyncio) for the Kuscia-compatible JobService.

    from dagwire.client import DagwireClient

    with DagwireClient(target="127.0.0.1:8083") as client:
        handle = client.submit_job(kuscia_json_body)
        job = handle.result(timeout=600)
        print(job.status.state, [t.progress for t in job.status.tasks])

The command-line tool lives in :mod:`dagwire.client.cli`.
"""

from ._async import AsyncDagwireClient, AsyncJobHandle
from ._base import TLS, BaseDagwireClient, JobRequest, TLSConfig
from ._errors import (
    ERROR_CLASSES,
    AuthError,
    DagwireError,
    IllegalStateError,
    InvalidRequestError,
    JobAlreadyExistsError,
    JobNotFoundError,
    KusciaError,
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
from ._sync import DagwireClient, JobHandle

__all__ = [
    "ERROR_CLASSES",
    "TERMINAL_STATES",
    "TLS",
    "AsyncDagwireClient",
    "AsyncJobHandle",
    "AuthError",
    "BaseDagwireClient",
    "DagwireClient",
    "DagwireError",
    "Endpoint",
    "EventType",
    "IllegalStateError",
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
    "Party",
    "PartyStatus",
    "RPCError",
    "ScheduleConfig",
    "TLSConfig",
    "TaskSpec",
    "TaskStatus",
    "WaitTimeoutError",
    "WatchExpiredError",
    "job_request_from_dict",
    "job_request_from_text",
]
