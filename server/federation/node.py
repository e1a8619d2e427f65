"""A federated node: the job runtime of one domain among peers.

Each node owns one domain (`--domain`) and runs only that domain's parties. A job with
parties of other domains is created at its initiator's node, stored there and carried
to every other party's node (and to no other node), where it is stored too. From then
on each node tells the others of the job what happens at its end, as the engine's own
commands, and every node applies them to its copy with the same reducer:

- a party's node reports its party's processes (started, progress, exited, lost): the
  party's node is the authority on its party's state;
- a party's node decides on the job (ApproveJob there) and says so; a reject anywhere
  ends the job ApprovalReject everywhere;
- the initiator's node alone suspends, restarts, cancels or deletes the job and carries
  the command to the others; any party's node may stop the job (its own participation,
  which fails the job, saying who stopped it).

Messages travel through a persistent outbox per peer, numbered; a receiver applies each
once (outbox.py). A restarted node catches up: its runtime recovers its parties from
their records, it tells its peers again what it knows of its own parties and decisions
(they ignore what they had), and its peers' queued messages reach it. A peer that
cannot be reached makes its parties show why they wait, and after `deadline` seconds
fails the jobs shared with it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from dagwire.server.engine import reducer
from dagwire.server.engine.commands import UserOp
from dagwire.server.engine.errors import EngineError, InvalidRequest
from dagwire.server.engine.lifecycle import on_user_op
from dagwire.server.engine.model import (
    ApprovalState,
    ChangeType,
    Job,
    JobChange,
    JobKind,
    JobSpec,
    JobState,
)
from dagwire.server.executors.base import ExecutorReport
from dagwire.server.federation import messages
from dagwire.server.federation.outbox import EndpointKey, Outbox, QueueFull
from dagwire.server.federation.peers import PeerBook
from dagwire.server.runtime.jobs import Guard, JobRuntime, allow_all
from dagwire.server.store.base import Rider
from dagwire.server.store.codec import spec_from_json, spec_json
from dagwire.v1 import interconnect_pb2 as pb

log = structlog.get_logger(__name__)

# How the reasons of failures carried between nodes start (a domain follows): a failure
# that came as one is not carried on again.
STOPPED_BY = "stopped by "
FAILED_AT = "failed at the node of "
_INITIATOR_ONLY = {
    pb.LIFECYCLE_ACTION_SUSPEND: "suspend",
    pb.LIFECYCLE_ACTION_RESTART: "restart",
    pb.LIFECYCLE_ACTION_CANCEL: "cancel",
    pb.LIFECYCLE_ACTION_DELETE: "delete",
}


class FederatedRuntime(JobRuntime):
    def __init__(
        self,
        *,
        domain: str,
        peers: PeerBook,
        outbox: Outbox,
        endpoint_host: str,
        deadline: float,
        **runtime: Any,
    ) -> None:
        self.domain = domain
        self._peers = peers
        self._outbox = outbox
        self._endpoint_host = endpoint_host
        self._deadline = deadline
        self._receiving: dict[str, asyncio.Lock] = {}
        # Batches being applied (kept referenced while their calls may be gone).
        self._receipts: set[asyncio.Task[int]] = set()
        # Messages that may have to wait are applied one at a time, parked ones first.
        self._early = asyncio.Lock()
        super().__init__(**runtime)

    # --- which parties run here, and where they listen ---------------------------------

    def runs_here(self, domain_id: str) -> bool:
        """Every party but a peer's: this node's domain's, and those of the jobs no peer
        shares (a pipeline run's steps, domain "local")."""
        return domain_id not in self._peers

    def party_endpoints(self, job_id: str, task_id: str, domain_id: str) -> tuple[str, ...]:
        endpoint = self._outbox.endpoints.get((job_id, task_id, domain_id))
        return (endpoint,) if endpoint else ()

    def shares_jobs(self, peer: str) -> bool:
        """Whether an unfinished job here has a party of the peer's domain."""
        return any(peer in job.spec.domains for job in self._active.values())

    def _others(self, spec: JobSpec) -> list[str]:
        """The peers a job is shared with (none: a job of this node alone)."""
        return sorted(domain for domain in spec.domains if domain in self._peers)

    def _allocate(self, spec: JobSpec) -> dict[EndpointKey, str]:
        """An endpoint per task for this domain's party: a port free on this host now,
        the party's process binds it when it runs."""
        return {
            (
                spec.job_id,
                task.task_id,
                self.domain,
            ): f"{self._endpoint_host}:{_free_port(self._endpoint_host)}"
            for task in spec.tasks
            if self.domain in {party.domain_id for party in task.parties}
        }

    # --- commands at this node -------------------------------------------------------

    async def create(
        self,
        spec: JobSpec,
        riders: Sequence[Rider] = (),
        approval_domains: frozenset[str] | None = None,
    ) -> Job:
        if spec.kind is not JobKind.JOB:  # a pipeline run: this node's alone
            return await super().create(spec, riders, approval_domains)
        foreign = [domain for domain in spec.domains if domain != self.domain]
        if self.domain not in spec.domains:
            raise InvalidRequest(
                f"job {spec.job_id[:200]!r} has no party of {self.domain!r}, the domain of "
                "this node: create it at the node of its initiator"
            )
        if not foreign:
            return await super().create(spec, riders, approval_domains)
        others = self._others(spec)
        if spec.initiator != self.domain:
            raise InvalidRequest(
                f"job {spec.job_id[:200]!r} is initiated by {spec.initiator[:200]!r}: create "
                "it at that domain's node, which carries it here"
            )
        unknown = [domain for domain in foreign if domain not in self._peers]
        if unknown:
            raise InvalidRequest(
                f"no peer node owns domain(s) {', '.join(d[:100] for d in unknown)}: add them "
                "to this node's peers file"
            )
        full = [domain for domain in others if self._outbox.room(domain) < 1]
        if full:
            raise InvalidRequest(
                f"the queue to peer(s) {', '.join(full)} is full (--peer-queue-bound "
                f"{self._outbox.bound}): no new job with them until they catch up"
            )
        awaited = frozenset(others) | (self._settings.approval_domains & {self.domain})
        if await self._store.get_job(spec.job_id) is not None:
            return await super().create(spec, riders, awaited)  # refused: the id is taken
        endpoints = self._allocate(spec)
        await self._outbox.save_endpoints(endpoints)
        try:
            job = await super().create(spec, riders, awaited)
        except BaseException:
            await self._outbox.drop_endpoints(spec.job_id)
            raise
        carried = pb.CarriedJob(
            spec_json=spec_json(spec),
            awaiting_approval=sorted(awaited),
            endpoints=messages.endpoint_list(spec.job_id, endpoints),
        )
        await self._send(job, pb.PeerMessage(carried_job=carried))
        return job

    async def approve(
        self,
        job_id: str,
        domain_id: str | None,
        accept: bool,
        reason: str,
        guard: Guard = allow_all,
    ) -> Job:
        if domain_id not in (None, self.domain):
            raise InvalidRequest(
                f"this node decides for {self.domain!r} only: {domain_id[:100]!r} decides at "
                "its own node"
            )
        job = await super().approve(job_id, self.domain, accept, reason, guard)
        await self._decided(job, accept, reason)
        return job

    async def _decided(self, job: Job, accept: bool, reason: str) -> None:
        own = {k: v for k, v in self._outbox.endpoints.items() if k[0] == job.job_id}
        decision = pb.ApprovalDecision(
            domain_id=self.domain,
            accept=accept,
            reason=reason[:4000],
            endpoints=[
                e for e in messages.endpoint_list(job.job_id, own) if e.domain_id == self.domain
            ],
        )
        await self._send(job, pb.PeerMessage(approval_decision=decision))

    async def stop(
        self, job_id: str, reason: str, guard: Guard = allow_all, *, keep_post: bool = False
    ) -> Job:
        before = await self.get(job_id, guard)
        if not self._others(before.spec):
            return await super().stop(job_id, reason, guard, keep_post=keep_post)
        said = f"{STOPPED_BY}{self.domain}" + (f": {reason}" if reason else "")
        stop = reducer.Stop(said, keep_post)
        await self._lifecycle(before, pb.LIFECYCLE_ACTION_STOP, said, stop)
        return await super().stop(job_id, said, guard, keep_post=keep_post)

    async def suspend(self, job_id: str, reason: str, guard: Guard = allow_all) -> Job:
        job = await self._initiator_only(job_id, "suspend", guard)
        await self._lifecycle(job, pb.LIFECYCLE_ACTION_SUSPEND, reason, reducer.Suspend(reason))
        return await super().suspend(job_id, reason, guard)

    async def restart(self, job_id: str, reason: str, guard: Guard = allow_all) -> Job:
        job = await self._initiator_only(job_id, "restart", guard)
        await self._lifecycle(job, pb.LIFECYCLE_ACTION_RESTART, reason, reducer.Restart(reason))
        return await super().restart(job_id, reason, guard)

    async def cancel(self, job_id: str, reason: str, guard: Guard = allow_all) -> Job:
        job = await self._initiator_only(job_id, "cancel", guard)
        await self._lifecycle(job, pb.LIFECYCLE_ACTION_CANCEL, reason, reducer.Cancel(reason))
        return await super().cancel(job_id, reason, guard)

    async def delete(self, job_id: str, guard: Guard = allow_all) -> None:
        job = await self._initiator_only(job_id, "delete", guard)
        await self._lifecycle(job, pb.LIFECYCLE_ACTION_DELETE, "", None)
        await super().delete(job_id, guard)
        await self._outbox.drop_endpoints(job_id)

    async def _initiator_only(self, job_id: str, verb: str, guard: Guard) -> Job:
        job = await self.get(job_id, guard)
        if self._others(job.spec) and job.spec.initiator != self.domain:
            raise InvalidRequest(
                f"only the node of the initiator {job.spec.initiator!r} may {verb} job "
                f"{job_id[:200]!r}; this node ({self.domain}) may stop its participation"
            )
        return job

    async def _lifecycle(
        self,
        job: Job,
        action: pb.LifecycleAction.ValueType,
        reason: str,
        op: UserOp | None,
    ) -> None:
        """Queue a user's lifecycle command for the other parties' nodes BEFORE it
        commits here: a crash between the two must not lose it (a restarted node has no
        trace of what it had still to say). A command this job's state refuses is not
        sent (the change that follows raises the refusal); one that a race makes the
        change refuse after all is refused at the peers too, where a refused command is
        skipped."""
        if not self._others(job.spec):
            return
        if op is not None:
            try:
                on_user_op(job, op, datetime.now(UTC))
            except EngineError:
                return
        command = pb.LifecycleCommand(action=action, reason=reason[:4000])
        await self._send(job, pb.PeerMessage(lifecycle_command=command))

    # --- reports of this node's parties -----------------------------------------------

    def report(self, report: ExecutorReport) -> None:
        super().report(report)
        if report.key.domain_id != self.domain:
            return
        job = self._active.get(report.key.job_id)
        if job is not None and self._others(job.spec):
            self._spawn(self._send(job, pb.PeerMessage(party_report=messages.party_report(report))))

    async def _send(
        self, job: Job, message: pb.PeerMessage, to: Sequence[str] | None = None
    ) -> None:
        """Queue the message for the job's other parties' nodes (or `to`). A queue at
        its bound fails the job here: its peers can no longer be kept in step."""
        message.job_id = job.job_id
        message.resource_version = job.resource_version
        body = message.SerializeToString()
        recipients = self._others(job.spec) if to is None else to
        try:
            await self._outbox.enqueue([(peer, job.job_id, body) for peer in recipients])
        except QueueFull as error:
            log.error("peer queue full", job_id=job.job_id, error=str(error))
            if not job.state.is_terminal:
                await super().stop(job.job_id, f"cannot tell the other parties' nodes: {error}")

    # --- catching up after a restart ---------------------------------------------------

    async def start(self) -> None:
        await super().start()
        for job in list(self._active.values()):
            if not self._others(job.spec):
                continue
            if job.spec.initiator == self.domain:
                await self._send(job, pb.PeerMessage(carried_job=self._carried(job)))
            decision = job.approvals.get(self.domain)
            if decision is not None and decision is not ApprovalState.AWAITING:
                await self._decided(job, decision is ApprovalState.ACCEPTED, "")
            for report in messages.settled_reports(job, self.domain):
                await self._send(job, pb.PeerMessage(party_report=report))

    def _carried(self, job: Job) -> pb.CarriedJob:
        own = {k: v for k, v in self._outbox.endpoints.items() if k[0] == job.job_id}
        return pb.CarriedJob(
            spec_json=spec_json(job.spec),
            awaiting_approval=sorted(job.approvals),
            endpoints=[
                e for e in messages.endpoint_list(job.job_id, own) if e.domain_id == self.domain
            ],
        )

    # --- messages from peers -----------------------------------------------------------

    async def receive(self, origin: str, batch: Sequence[pb.PeerMessage]) -> int:
        """Apply a peer's messages once each, in order; the highest sequence number
        applied. A message the job's state refuses (a duplicate, a decision on a job
        that moved on) is skipped; an unexpected failure stops the batch there, and
        the peer sends the rest again. The work is shielded from the call's
        cancellation (the peer gave up waiting): a change committed here must be
        carried out (its processes launched) whatever becomes of the call."""
        work = asyncio.ensure_future(self._receive(origin, batch))
        self._receipts.add(work)
        work.add_done_callback(self._receipts.discard)
        return await asyncio.shield(work)

    async def _receive(self, origin: str, batch: Sequence[pb.PeerMessage]) -> int:
        lock = self._receiving.setdefault(origin, asyncio.Lock())
        async with lock:
            for message in batch:
                if message.sequence <= self._outbox.mark(origin):
                    continue
                try:
                    await self._apply(origin, message)
                except EngineError as error:
                    log.info(
                        "peer message skipped",
                        peer=origin,
                        job_id=message.job_id[:200],
                        reason=str(error)[:300],
                    )
                except Exception as error:  # the peer resends from here
                    log.error("peer message failed", peer=origin, error=repr(error)[:300])
                    break
                await self._outbox.set_mark(origin, message.sequence)
            return self._outbox.mark(origin)

    async def _apply(self, origin: str, message: pb.PeerMessage) -> None:
        if message.WhichOneof("body") == "carried_job":
            await self._accept(origin, message.job_id, message.carried_job)
            return
        async with self._early:
            await self._replay(message.job_id)
            if await self._take(origin, message):
                return
            body = message.SerializeToString()
            if not await self._outbox.park(message.job_id, origin, body):
                log.warning("peer message dropped: too many waiting", peer=origin)

    async def _take(self, origin: str, message: pb.PeerMessage) -> bool:
        """Apply a peer's message about a job shared with it; False when it came before
        what it follows from: the job was not carried here yet, or a report is about an
        attempt that has not begun here yet (the decision or restart that begins it is
        on its way from another node, or behind it)."""
        job = await self._store.get_job(message.job_id)
        if job is None:
            return False
        if origin not in job.spec.domains or not self._others(job.spec):
            log.info("peer message about no job shared with it", peer=origin)
            return True
        match message.WhichOneof("body"):
            case "party_report":
                report = message.party_report
                command = messages.report_command(job, report)
                if report.domain_id != origin or command is None:
                    return True
                task = job.task(command.alias)
                if command.attempt > task.attempt and not job.state.is_final:
                    return False
                await self._command(job.job_id, command, allow_all)
            case "approval_decision":
                decision = message.approval_decision
                if decision.domain_id != origin:
                    return True
                await self._outbox.save_endpoints(
                    messages.endpoints_of(job.spec, origin, decision.endpoints)
                )
                await super().approve(job.job_id, origin, decision.accept, decision.reason)
            case "lifecycle_command":
                await self._obey(origin, job, message.lifecycle_command)
        return True

    async def _replay(self, job_id: str) -> None:
        """Apply the job's parked messages that may now be, oldest first, stopping at
        the first that still may not (they keep their order)."""
        done: set[int] = set()
        for entry in self._outbox.parked(job_id):
            try:
                if not await self._take(entry.origin, pb.PeerMessage.FromString(entry.body)):
                    break
            except EngineError as error:
                log.info("parked peer message skipped", job_id=job_id[:200], reason=str(error))
            done.add(entry.id)
        if done:
            await self._outbox.unpark(job_id, done)

    async def _replay_after_change(self, job_id: str) -> None:
        async with self._early:
            await self._replay(job_id)

    async def _obey(self, origin: str, job: Job, command: pb.LifecycleCommand) -> None:
        action = command.action
        if action in _INITIATOR_ONLY and origin != job.spec.initiator:
            log.warning("lifecycle command refused", peer=origin, action=_INITIATOR_ONLY[action])
            return
        match action:
            case pb.LIFECYCLE_ACTION_STOP:
                await super().stop(job.job_id, command.reason)
            case pb.LIFECYCLE_ACTION_SUSPEND:
                await super().suspend(job.job_id, command.reason)
            case pb.LIFECYCLE_ACTION_RESTART:
                await super().restart(job.job_id, command.reason)
            case pb.LIFECYCLE_ACTION_CANCEL:
                await super().cancel(job.job_id, command.reason)
            case pb.LIFECYCLE_ACTION_DELETE:
                await super().delete(job.job_id)
                await self._outbox.drop_endpoints(job.job_id)

    async def _accept(self, origin: str, job_id: str, carried: pb.CarriedJob) -> None:
        """A job carried here by its initiator's node: store it, with this domain's
        endpoints, and decide on it unless this node's operator decides by hand
        (--approval-domains naming this domain)."""
        try:
            spec = spec_from_json(carried.spec_json)
        except ValueError as error:
            log.warning("carried job unreadable", peer=origin, error=str(error)[:300])
            return
        if (
            spec.job_id != job_id
            or spec.kind is not JobKind.JOB
            or spec.initiator != origin
            or self.domain not in spec.domains
        ):
            log.warning(
                "carried job refused: not initiated by its sender for this domain", peer=origin
            )
            return
        existing = await self._store.get_job(job_id)
        if existing is not None:
            if existing.spec.initiator != origin:
                await self._refuse(origin, job_id, "its job id is taken by another job there")
            return  # else carried again (a restarted initiator's node): nothing new
        strangers = [d for d in spec.domains if d != self.domain and d not in self._peers]
        awaited = frozenset(carried.awaiting_approval) & frozenset(spec.domains)
        try:
            if strangers:
                raise InvalidRequest(f"no peer node owns domain(s) {', '.join(strangers)} here")
            await self._outbox.save_endpoints(
                messages.endpoints_of(spec, origin, carried.endpoints)
            )
            await self._outbox.save_endpoints(self._allocate(spec))
            job = await super().create(spec, (), awaited)
        except EngineError as error:
            await self._outbox.drop_endpoints(job_id)
            await self._refuse(origin, job_id, str(error)[:1000])
            return
        log.info("job carried here", job_id=job_id, initiator=origin, state=job.state.value)
        if self.domain in awaited and self.domain not in self._settings.approval_domains:
            await self.approve(job_id, self.domain, True, f"accepted by the node of {self.domain}")

    async def _refuse(self, origin: str, job_id: str, why: str) -> None:
        """Nothing stored here: tell the initiator's node this party cannot take part
        (its job ends ApprovalReject there, saying why); what waited for it goes."""
        await self._outbox.unpark(job_id)
        decision = pb.ApprovalDecision(
            domain_id=self.domain,
            accept=False,
            reason=f"the node of {self.domain} cannot run the job: {why}",
        )
        message = pb.PeerMessage(job_id=job_id, approval_decision=decision)
        try:
            await self._outbox.enqueue([(origin, job_id, message.SerializeToString())])
        except QueueFull as error:  # the initiator's node fails it at its deadline
            log.error("refusal not queued", job_id=job_id[:200], error=str(error))

    def _published(self, change: JobChange) -> None:
        """After each change of a job here: a job that can never run again needs its
        endpoints and parked reports no more; a changed one may let parked reports in;
        a shared job that failed here on its own (a deadline, a party's failure) fails
        at the other nodes too, for the reason it failed here."""
        job = change.job
        before = self._active.get(job.job_id)
        super()._published(change)
        if change.type is ChangeType.DELETED or job.state.is_final:
            self._spawn(self._outbox.drop_endpoints(job.job_id))
            self._spawn(self._outbox.unpark(job.job_id))
            return
        if self._outbox.parked(job.job_id):
            self._spawn(self._replay_after_change(job.job_id))
        failed_here = (
            job.state is JobState.FAILED
            and before is not None
            and not before.state.is_terminal
            and not job.err_msg.startswith((STOPPED_BY, FAILED_AT))  # carried already
        )
        if failed_here and self._others(job.spec):
            reason = f"{FAILED_AT}{self.domain}: {job.err_msg}"
            self._spawn(self._lifecycle(job, pb.LIFECYCLE_ACTION_STOP, reason, None))

    # --- peers that cannot be reached ------------------------------------------------

    async def reachability(self, peer: str, since: float | None) -> None:
        """Show on the peer's parties why they wait (or that they no longer do), and fail
        the jobs shared with it once it has been unreachable longer than the deadline."""
        reason = ""
        if since is not None:
            reason = f"waiting for peer {peer}: unreachable since {_moment(since)}"
        overdue = since is not None and datetime.now(UTC).timestamp() - since > self._deadline
        for job in list(self._active.values()):
            if peer not in job.spec.domains:
                continue
            try:
                await self._command(job.job_id, reducer.PeerWaiting(peer, reason), allow_all)
                if overdue:
                    await self.stop(
                        job.job_id,
                        f"peer {peer} unreachable since {_moment(since or 0)}, longer than "
                        f"the deadline of {self._deadline:g} s (--peer-deadline)",
                    )
            except EngineError as error:
                log.info("peer wait not recorded", job_id=job.job_id, reason=str(error)[:300])


def _moment(timestamp: float) -> str:
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
