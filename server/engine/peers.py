"""Why a federated party waits: its domain's node cannot be reached. The reason is shown
on the domain's unfinished parties (their err_msg) and cleared when the node is back;
nothing else of the job changes (the deadline that fails the job is the runtime's)."""

from __future__ import annotations

from dataclasses import replace

from dagwire.server.engine.commands import Outcome, PeerWaiting
from dagwire.server.engine.model import Job, PartyState, TaskRun

_UNFINISHED = (PartyState.PENDING, PartyState.RUNNING)


def on_peer_waiting(job: Job, command: PeerWaiting) -> Outcome:
    if job.state.is_terminal:
        return Outcome(job)
    tasks = tuple(_noted(task, command) for task in job.tasks)
    if all(new is old for new, old in zip(tasks, job.tasks, strict=True)):
        return Outcome(job)
    return Outcome(replace(job, tasks=tasks))


def _noted(task: TaskRun, command: PeerWaiting) -> TaskRun:
    if task.state.is_settled:
        return task
    changed = False
    parties = []
    for party in task.parties:
        if (
            party.domain_id == command.domain_id
            and party.state in _UNFINISHED
            and party.err_msg != command.reason
        ):
            party = replace(party, err_msg=command.reason)
            changed = True
        parties.append(party)
    return replace(task, parties=tuple(parties)) if changed else task
