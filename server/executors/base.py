"""The executor contract: run one party's process of a task somewhere, report back.

Executors never touch the store. They start processes when the runtime asks and
post what happened (started, progress, exited) to a report sink, as Argo's
TaskResult pattern does; the runtime turns reports into engine commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dagwire.server.engine.model import JobKind
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.engine.usage import ProcessUsage


@dataclass(frozen=True, slots=True)
class PartyKey:
    """Identifies one attempt of one party's process of one task."""

    job_id: str
    task_id: str
    domain_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Fence:
    """The lease a party runs under when replicas share the work: its owner replica and
    that replica's lease epoch (which registration of the lease it launched under). The
    process dies by itself once its owner stops renewing the lease (see
    dagwire.server.executors.fencing). At recovery `settled_at` (time.monotonic) is when
    whatever the previous owner may still run elsewhere is surely dead: until then a
    party found nowhere is not reported lost, since it may still be running."""

    replica_id: str
    epoch: int
    settled_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ClusterParty:
    """One party of a task as the application sees it in the cluster definition."""

    domain_id: str
    role: str
    # host:port the party's process of the task listens on (allocated by its node).
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mount:
    """A host folder shown at another path inside the process's sandbox (PaddleFlow's
    mount_path of a file system); read-only when asked."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class PartyLaunch:
    """Everything a party's process needs to run."""

    key: PartyKey
    app_image: str
    role: str
    task_alias: str
    task_input_config: str
    parties: tuple[ClusterParty, ...]
    resources: Mapping[str, str] = field(default_factory=dict)
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    # A pipeline step's own command line, run instead of the app image's, and the
    # variables it adds (its parameters, artifact paths). Empty for Kuscia tasks.
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    job_kind: JobKind = JobKind.JOB
    # Parameter overrides a user gave the task (a retry or continue with parameters).
    parameters: Mapping[str, str] = field(default_factory=dict)
    # In a sandbox: host paths the process may read (its inputs) and write (its
    # declared outputs) besides its own directory; whether it asks for the network.
    readable_paths: tuple[str, ...] = ()
    writable_paths: tuple[str, ...] = ()
    network: bool = False
    # Host folders bound at other paths in its sandbox (an executor without a sandbox
    # cannot show them there: the step executor asks only where one is).
    mounts: tuple[Mount, ...] = ()
    # On a replica: the owner's lease; None for a single server (nothing to fence).
    fence: Fence | None = None
    # Admission (runtime/admission.py): the task's priority, who the process runs for
    # (the queue must be granted to it; None: the party's domain), and, at recovery,
    # whether the party was waiting for its queue (it never started, so finding no
    # trace of it is no loss: it waits again).
    priority: int = 0
    tenant: Tenant | None = None
    queued: bool = False
    # How many of the task attempt's parties this server launches: admission's gang
    # (they are admitted together). 0: all of them. A federated node launches only its
    # own domain's parties, so its gang is smaller than the task's cluster.
    gang_size: int = 0
    # A copy of a loop task made at run time: the item it runs for (TaskSpec.loop_item).
    loop_item: str | None = None


@dataclass(frozen=True, slots=True)
class PartyStarted:
    """The process is running."""

    key: PartyKey


@dataclass(frozen=True, slots=True)
class PartyQueued:
    """The process waits for its queue's quota before it starts (runtime/admission.py);
    `reason` says for what."""

    key: PartyKey
    reason: str


@dataclass(frozen=True, slots=True)
class PartyProgress:
    """The application reported progress, a fraction in [0, 1]."""

    key: PartyKey
    progress: float


@dataclass(frozen=True, slots=True)
class StepOutputs:
    """What a pipeline step read and wrote, reported with its exit as Argo's TaskResult
    carries a node's outputs: the runtime records them as artifacts (and a cache entry
    when both fingerprints are given) with the save of the exit, so an exit that is not
    applied records nothing."""

    inputs: Mapping[str, str] = field(default_factory=dict)  # artifact name -> path
    outputs: Mapping[str, str] = field(default_factory=dict)
    first_fp: str = ""  # what the step is
    second_fp: str = ""  # what it read


@dataclass(frozen=True, slots=True)
class PartyExited:
    """The process ended. exit_code 0 is success; message explains anything else.
    `lost` means it is gone without an exit record (it vanished while the server was
    down): an infrastructure loss, not the application's verdict."""

    key: PartyKey
    exit_code: int
    message: str = ""
    lost: bool = False
    cached_from: str = ""  # the job whose recorded outputs were reused instead of running
    metrics: Mapping[str, str] = field(default_factory=dict)  # what the process reported
    step_outputs: StepOutputs | None = None  # a pipeline step's, on success
    # What the process cost, as its reaper measured it; None where nothing measured it.
    # A measurement, not part of what the report says: reports compare without it.
    usage: ProcessUsage | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PartyLoop:
    """Instead of running, a loop task read the items of its list (a parameter's value,
    an upstream artifact's content): the engine makes one copy of the task per item."""

    key: PartyKey
    items: tuple[str, ...]


ExecutorReport = PartyStarted | PartyQueued | PartyProgress | PartyExited | PartyLoop
ReportSink = Callable[[ExecutorReport], None]


class UnknownAppImageError(LookupError):
    """The app image has no entry in the registry."""


class Executor(Protocol):
    """Runs party processes and reports on them through the sink given at construction."""

    def knows_image(self, app_image: str) -> bool:
        """Whether launch() could run this image (used to reject jobs up front)."""
        ...

    async def launch(self, launch: PartyLaunch) -> None:
        """Start the process and return once it is started; report PartyStarted, then
        PartyProgress as it comes, then exactly one PartyExited. Raises
        UnknownAppImageError before starting anything when the image is unknown."""
        ...

    async def terminate(self, key: PartyKey, reason: str) -> None:
        """Kill the process (and its children) if it runs; its PartyExited follows.
        Terminating a process that is not running is a no-op."""
        ...

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        """After a restart: for each party that was running when the server stopped (as
        it was launched, or was about to be), report PartyExited from its on-disk exit
        record, or re-attach to it if it still runs, or report it lost if it vanished
        or never started."""
        ...

    def log_path(self, key: PartyKey) -> str:
        """Where the process's combined stdout/stderr is captured."""
        ...

    async def close(self) -> None:
        """Stop watching processes (they keep running and are recovered at next start)."""
        ...
