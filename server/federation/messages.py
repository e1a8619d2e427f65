"""Between the engine's words and the InterconnectService's: the messages a node sends
about a job, and the engine commands a received report becomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dagwire.server.engine import reducer
from dagwire.server.engine.model import Job, JobSpec, PartyState
from dagwire.server.executors.base import (
    ExecutorReport,
    PartyExited,
    PartyProgress,
    PartyStarted,
)
from dagwire.server.federation.outbox import EndpointKey
from dagwire.v1 import interconnect_pb2 as pb

Lifecycle = pb.LifecycleAction.ValueType


def endpoint_list(job_id: str, endpoints: Mapping[EndpointKey, str]) -> list[pb.PartyEndpoint]:
    return [
        pb.PartyEndpoint(task_id=task_id, domain_id=domain_id, endpoint=endpoint)
        for (job, task_id, domain_id), endpoint in sorted(endpoints.items())
        if job == job_id
    ]


def endpoints_of(
    spec: JobSpec, domain: str, entries: Iterable[pb.PartyEndpoint]
) -> dict[EndpointKey, str]:
    """The endpoints a peer named for its own domain's parties of the job's tasks
    (anything else it named is ignored: a node speaks only for its domain)."""
    task_ids = {task.task_id for task in spec.tasks}
    return {
        (spec.job_id, entry.task_id, entry.domain_id): entry.endpoint[:300]
        for entry in entries
        if entry.domain_id == domain and entry.task_id in task_ids and entry.endpoint
    }


def party_report(report: ExecutorReport) -> pb.PartyReport:
    key = report.key
    message = pb.PartyReport(task_id=key.task_id, domain_id=key.domain_id, attempt=key.attempt)
    match report:
        case PartyStarted():
            message.event = pb.PARTY_EVENT_STARTED
        case PartyProgress(progress=progress):
            message.event = pb.PARTY_EVENT_PROGRESS
            message.progress = progress
        case PartyExited(lost=True, message=why):
            message.event = pb.PARTY_EVENT_LOST
            message.message = why[:4000]
        case PartyExited(exit_code=code, message=why):
            message.event = pb.PARTY_EVENT_EXITED
            message.exit_code = code
            message.message = why[:4000]
    return message


def settled_reports(job: Job, domain: str) -> list[pb.PartyReport]:
    """What a restarted node tells its peers again about its own parties, as stored:
    whatever of it they had already applied they ignore as stale."""
    reports = []
    for task in job.tasks:
        party = task.party(domain)
        if party is None or party.state is PartyState.PENDING:
            continue
        task_id = job.spec.task(task.alias).task_id
        report = pb.PartyReport(task_id=task_id, domain_id=domain, attempt=task.attempt)
        if party.state is PartyState.RUNNING:
            report.event = pb.PARTY_EVENT_STARTED
        elif party.state is PartyState.SUCCEEDED:
            report.event = pb.PARTY_EVENT_EXITED
        else:
            report.event = pb.PARTY_EVENT_EXITED
            report.exit_code = 1
            report.message = party.err_msg[:4000] or party.state.value
        reports.append(report)
    return reports


PeerReport = (
    reducer.ProcessStarted | reducer.ProgressReported | reducer.ProcessExited | reducer.ProcessLost
)


def report_command(job: Job, report: pb.PartyReport) -> PeerReport | None:
    """The engine command a peer's report about its party becomes; None if it names no
    task of the job."""
    alias = next((t.alias for t in job.spec.tasks if t.task_id == report.task_id), None)
    if alias is None:
        return None
    domain, attempt = report.domain_id, report.attempt
    match report.event:
        case pb.PARTY_EVENT_STARTED:
            return reducer.ProcessStarted(alias, attempt, domain)
        case pb.PARTY_EVENT_PROGRESS:
            return reducer.ProgressReported(alias, attempt, domain, report.progress)
        case pb.PARTY_EVENT_EXITED:
            return reducer.ProcessExited(alias, attempt, domain, report.exit_code, report.message)
        case pb.PARTY_EVENT_LOST:
            return reducer.ProcessLost(alias, attempt, domain, report.message)
    return None
