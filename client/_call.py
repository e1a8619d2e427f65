"""One unary RPC as data: which service's stub, which method, the request, and how to read
the response. The base builds these; the sync and asyncio twins perform them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar

T = TypeVar("T")

#: ``job``: the Kuscia-compatible JobService; ``workflow``: dagwire.v1.WorkflowService;
#: ``steps``: dagwire.v1.StepExecutionService; ``queues``: dagwire.v1.QueueService;
#: ``users``: dagwire.v1.UserService.
#: ``statistics``: dagwire.v1.JobStatisticsService.
Service: TypeAlias = Literal["job", "workflow", "steps", "queues", "users", "statistics"]


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One unary RPC: the stub method's name, its request, and how to read the response."""

    method: str
    request: Any
    parse: Callable[[Any], T]
    service: Service = "job"
