"""Server configuration: flags, with environment variables as defaults."""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from dagwire.server.engine.names import is_dns1123_label
from dagwire.server.executors.sandbox import Limits, quantity

# --executor: run tasks as local processes, or as tasks on a Ray cluster. "kubernetes"
# (a Job per party) is the production design described in the README; it is refused at
# start with the reason, since this build cannot reach a cluster to run on.
EXECUTORS = ("local", "ray", "kubernetes")
KUBERNETES_UNAVAILABLE = (
    "--executor kubernetes is not available: {why}. This build runs tasks as local "
    "processes (--executor local) or on Ray (--executor ray); the Kubernetes Jobs "
    'executor is described in the README ("Kubernetes") and not implemented yet'
)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: str = "127.0.0.1:8083"
    data_dir: Path = Path("data")
    database_url: str | None = None
    heartbeat_interval: float = 10.0
    app_images_file: Path | None = None
    approval_domains: frozenset[str] = field(default_factory=frozenset)
    event_retention: int = 100_000
    watch_queue_size: int = 10_000
    max_message_bytes: int = 8 << 20
    shutdown_grace: float = 5.0
    log_format: str = "console"
    # Auth is on when either a token file or a client CA is given; see dagwire.server.auth.
    token_file: Path | None = None
    # PaddleFlow's users (server/auth/users.py): root's first password (unset: root has
    # no password login, and users do not make credentials necessary); the secret login
    # tokens are signed with (unset: made once in the data dir); their lifetime in hours
    # (-1: they do not expire, PaddleFlow's default `tokenExpirationHour: -1`).
    root_password_file: Path | None = None
    session_secret_file: Path | None = None
    token_expiry_hours: float = -1.0
    # AK/SK pairs the ModelArts path verifies signatures with; unset: signatures unchecked.
    access_key_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    auth_health: bool = False
    # The HTTP/JSON gateway (Kuscia's REST paths and /metrics) listens here when set.
    http_listen: str | None = None
    # The web UI at /ui/ on the gateway's port (--no-ui turns it off).
    ui: bool = True
    # A listener serving only /metrics, for Prometheus without the gateway.
    metrics_listen: str | None = None
    # Several replicas on one PostgreSQL database (on whenever the URL is PostgreSQL):
    # this replica's name (default: unique per process) and its lease on its jobs.
    replica_id: str | None = None
    lease_seconds: float = 10.0
    # How long after its lease expires a replica's processes may still run (None: one
    # lease); takers relaunch its parties no earlier (dagwire.server.executors.fencing).
    fence_seconds: float | None = None
    # Where tasks run: "local" processes (images may still ask for Ray with `executor:
    # ray`), or "ray" for every image not run in-process; and the Ray cluster to use.
    executor: str = "local"
    ray_address: str = "auto"
    # --- admission (runtime/admission.py): the default queue's max, that is how many
    # cores and bytes of memory the processes of launches that name no queue may hold
    # at once; 0: the machine's.
    capacity_cpu: float = 0.0
    capacity_mem: int = 0
    # Tenant code runs in a sandbox (dagwire.server.executors.sandbox). Without a working
    # one, tenants' free `command:` steps are refused unless the operator says
    # --unsandboxed, and then run bare on the host.
    unsandboxed: bool = False
    # Domains whose tenants may run free `command:` steps (operators always may); the
    # token file's `command_domains` list adds to these.
    command_domains: frozenset[str] = field(default_factory=frozenset)
    # Whether an image that asks for the network (`network: true`) gets it.
    sandbox_network: bool = False
    # Host paths every sandbox may write besides its own (the data dir stays hidden).
    sandbox_shared: tuple[Path, ...] = ()
    # Host paths every sandbox may read where the private /tmp would hide them (tools or
    # data under /tmp); the data dir stays hidden.
    sandbox_readable: tuple[Path, ...] = ()
    sandbox_limits: Limits = field(default_factory=Limits)
    # The bubblewrap program (a name on PATH, or a path).
    bwrap: str = "bwrap"
    # The user (name or uid) sandboxed processes run as; empty: the server's own. For a
    # server running as root (root owns the host's secrets and ignores process limits).
    sandbox_user: str = ""
    # Where the file systems of runs live (workflow.filesystems); None: <data dir>/fs.
    fs_dir: Path | None = None
    # S3 endpoints a tenant's registered file system may name (the server connects to
    # them, so a tenant must not point it at internal addresses); operators any.
    s3_endpoints: frozenset[str] = frozenset()
    # --- federation (dagwire.server.federation): one node per domain ---------------
    # The domain this node owns; None: a single server owning every domain (default).
    domain: str | None = None
    peers_file: Path | None = None
    # The mutual-TLS port peers deliver to; this node's certificate (CN = its domain).
    peer_listen: str | None = None
    peer_cert: Path | None = None
    peer_key: Path | None = None
    # How long a peer may stay unreachable before the jobs shared with it fail.
    peer_deadline: float = 300.0
    # The most messages queued for one peer (outbox.py says what happens at the bound).
    peer_queue_bound: int = 10_000
    # API worker processes on one port (dagwire.server.workers); more than one needs
    # PostgreSQL. `shared_port`: this process is one of them (its port is shared with its
    # siblings by SO_REUSEPORT, so it is not checked for being free first).
    workers: int = 1
    shared_port: bool = False

    def __post_init__(self) -> None:
        self._check_federation()
        if self.executor not in EXECUTORS:
            raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}")
        if self.executor == "kubernetes":
            in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
            why = (
                "no executor for Kubernetes Jobs is built in"
                if in_cluster
                else "no Kubernetes cluster is reachable from here "
                "(KUBERNETES_SERVICE_HOST is unset)"
            )
            raise ValueError(KUBERNETES_UNAVAILABLE.format(why=why))
        if self.token_expiry_hours != -1 and not self.token_expiry_hours > 0:
            raise ValueError("--token-expiry-hours must be > 0, or -1 for tokens that never expire")
        if not self.ray_address:
            raise ValueError("--ray-address must not be empty (use 'auto' to find the cluster)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key must be given together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError(
                "--tls-client-ca needs --tls-cert and --tls-key: client certificates "
                "are only checked over TLS"
            )
        for flag, address in (
            ("--http-listen", self.http_listen),
            ("--metrics-listen", self.metrics_listen),
        ):
            if address is not None and not _is_host_port(address):
                raise ValueError(f"{flag} expects host:port, got {address!r}")
        if (
            self.http_listen is not None
            and self.http_listen == self.metrics_listen
            and not self.http_listen.endswith(":0")  # ":0" picks a free port for each
        ):
            raise ValueError(
                "--metrics-listen must differ from --http-listen, which serves /metrics too"
            )

    def _check_federation(self) -> None:
        if self.domain is None:
            return
        missing = [
            flag
            for flag, value in (
                ("--peers", self.peers_file),
                ("--peer-listen", self.peer_listen),
                ("--peer-cert", self.peer_cert),
                ("--peer-key", self.peer_key),
            )
            if value is None
        ]
        if missing:
            raise ValueError(f"--domain needs {', '.join(missing)} (README, Federation)")
        if not is_dns1123_label(self.domain):
            raise ValueError(f"--domain must be a DNS-1123 label, got {self.domain!r}")
        if self.peer_listen is not None and not _is_host_port(self.peer_listen):
            raise ValueError(f"--peer-listen expects host:port, got {self.peer_listen!r}")
        if self.store_url.startswith("postgresql"):
            raise ValueError("--domain runs one node on its own SQLite store, not replicas")
        if self.peer_deadline <= 0 or self.peer_queue_bound <= 0:
            raise ValueError("--peer-deadline and --peer-queue-bound must be positive")

    @property
    def file_systems_dir(self) -> Path:
        return self.fs_dir if self.fs_dir is not None else self.data_dir / "fs"

    @property
    def token_lifetime(self) -> timedelta | None:
        """How long a login token lasts; None: for ever (until its password changes)."""
        return None if self.token_expiry_hours == -1 else timedelta(hours=self.token_expiry_hours)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'dagwire.db'}"

    @property
    def replicated(self) -> bool:
        """PostgreSQL is the shared store of replicas: any number of servers may use one
        database, so each runs as a replica (see dagwire.server.runtime.replicas)."""
        return self.store_url.startswith("postgresql")


# A bound on --workers: each is a process with its own database pools.
MAX_WORKERS = 64


def _is_host_port(address: str) -> bool:
    host, separator, port = address.rpartition(":")
    return bool(separator and host and port.isdigit())


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DAGWIRE_{name}", default)


def _env_flag(name: str) -> bool:
    return _env(name, "").lower() in ("1", "true", "yes", "on")


def _path(value: str) -> Path | None:
    return Path(value) if value else None


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog="dagwire serve",
        description="Run the dagwire server: gRPC, plus the HTTP/JSON gateway with --http-listen.",
    )
    parser.add_argument("--listen", default=_env("LISTEN", defaults.listen), help="host:port")
    parser.add_argument(
        "--data-dir",
        default=_env("DATA_DIR", str(defaults.data_dir)),
        help="where the SQLite store, task logs and exit records live",
    )
    parser.add_argument(
        "--fs-dir",
        default=_env("FS_DIR", ""),
        help="where the file systems of runs (fs_options.main_fs, extra_fs) live, one "
        "folder per owner domain and name (default: <data-dir>/fs)",
    )
    parser.add_argument(
        "--database-url",
        default=_env("DATABASE_URL", ""),
        help="SQLAlchemy async URL (default: SQLite in the data dir); "
        "e.g. postgresql+asyncpg://user@host/db",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=float(_env("HEARTBEAT_INTERVAL", str(defaults.heartbeat_interval))),
        help="seconds of quiet before a watch stream gets a HEARTBEAT",
    )
    parser.add_argument(
        "--app-images",
        default=_env("APP_IMAGES", ""),
        help="YAML file mapping app_image names to commands (added to the built-in images)",
    )
    parser.add_argument(
        "--approval-domains",
        default=_env("APPROVAL_DOMAINS", ""),
        help="comma-separated domains whose approval a job needs before it runs",
    )
    parser.add_argument(
        "--event-retention",
        type=int,
        default=int(_env("EVENT_RETENTION", str(defaults.event_retention))),
        help="how many events the log keeps for watch resumption",
    )
    parser.add_argument(
        "--watch-queue-size",
        type=int,
        default=int(_env("WATCH_QUEUE_SIZE", str(defaults.watch_queue_size))),
        help="events a watch may fall behind before it is cut off (RESOURCE_EXHAUSTED)",
    )
    parser.add_argument(
        "--log-format", choices=("console", "json"), default=_env("LOG_FORMAT", "console")
    )
    parser.add_argument(
        "--token-file",
        default=_env("TOKEN_FILE", ""),
        help="YAML file of API tokens (`tokens: [{token, domain, name}]`); when given, "
        "every call needs a known token in the gRPC metadata `token`",
    )
    parser.add_argument(
        "--root-password-file",
        default=_env("ROOT_PASSWORD_FILE", ""),
        help="file holding the first password of the user root (PaddleFlow's operator); "
        "when given, users log in (UserService.Login, POST /api/paddleflow/v1/login) and "
        "every other call needs credentials. Unset: root has no password login",
    )
    parser.add_argument(
        "--session-secret-file",
        default=_env("SESSION_SECRET_FILE", ""),
        help="file holding the secret (>= 32 bytes) login tokens are signed with; default: "
        "made once at random in <data-dir>/session.key (replicas must share one)",
    )
    parser.add_argument(
        "--token-expiry-hours",
        type=float,
        default=float(_env("TOKEN_EXPIRY_HOURS", str(defaults.token_expiry_hours))),
        help="hours a login token lasts; -1 (default, as PaddleFlow's): until its user's "
        "password changes or the user is deleted",
    )
    parser.add_argument(
        "--access-key-file",
        default=_env("ACCESS_KEY_FILE", ""),
        help="YAML file of AK/SK pairs (`access_keys: [{ak, sk}]`); when given, requests on "
        "the gateway's ModelArts path must be signed with one (SDK-HMAC-SHA256)",
    )
    parser.add_argument(
        "--tls-cert", default=_env("TLS_CERT", ""), help="server certificate (PEM); enables TLS"
    )
    parser.add_argument(
        "--tls-key", default=_env("TLS_KEY", ""), help="private key of --tls-cert (PEM)"
    )
    parser.add_argument(
        "--tls-client-ca",
        default=_env("TLS_CLIENT_CA", ""),
        help="CA (PEM) that signs client certificates; enables mTLS: clients need a "
        "certificate it signed, whose subject CN binds them to that domain",
    )
    parser.add_argument(
        "--auth-health",
        action="store_true",
        default=_env_flag("AUTH_HEALTH"),
        help="require credentials for health checks and reflection too (open by default)",
    )
    parser.add_argument(
        "--http-listen",
        default=_env("HTTP_LISTEN", ""),
        help="host:port of the HTTP/JSON gateway: Kuscia's REST paths (POST "
        "/api/v1/job/create, ...), /metrics and /openapi.yaml; off when empty "
        "(Kuscia uses 8082)",
    )
    parser.add_argument(
        "--no-ui",
        action="store_true",
        default=_env_flag("NO_UI"),
        help="do not serve the web UI at /ui/ on the HTTP gateway's port",
    )
    parser.add_argument(
        "--metrics-listen",
        default=_env("METRICS_LISTEN", ""),
        help="host:port serving only Prometheus /metrics (the gateway serves it too); "
        "off when empty",
    )
    parser.add_argument(
        "--replica-id",
        default=_env("REPLICA_ID", ""),
        help="with a PostgreSQL database: this replica's name, unique among the replicas "
        "(default: host-pid-random); a replica restarted under the same name picks up "
        "its jobs at once instead of after its old lease expires",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", "0")),
        help="API worker processes serving --listen together (SO_REUSEPORT), each a "
        "replica on the shared PostgreSQL database (default: the number of cores with "
        "PostgreSQL, 1 with SQLite, which allows no more)",
    )
    # Set by the supervisor on the workers it starts (dagwire.server.workers).
    parser.add_argument("--shared-port", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=float(_env("LEASE_SECONDS", str(defaults.lease_seconds))),
        help="with a PostgreSQL database: how long a replica's jobs stay its own without "
        "renewal; other replicas take over the jobs of a replica silent this long",
    )
    parser.add_argument(
        "--fence-seconds",
        type=float,
        default=float(_env("FENCE_SECONDS", "0")) or None,
        help="with a PostgreSQL database: how long after its lease expires a replica's "
        "task processes may still run before they kill themselves; a replica that took "
        "its jobs over runs their tasks again no earlier (default: --lease-seconds)",
    )
    parser.add_argument(
        "--unsandboxed",
        action="store_true",
        default=_env_flag("UNSANDBOXED"),
        help="run tenant code bare on the host when no sandbox (bubblewrap) works here, "
        "instead of refusing tenants' free command steps; unsafe on a shared server",
    )
    parser.add_argument(
        "--command-domains",
        default=_env("COMMAND_DOMAINS", ""),
        help="comma-separated domains whose callers may run free `command:` pipeline "
        "steps (operators always may; others use registered app images)",
    )
    parser.add_argument(
        "--sandbox-network",
        action="store_true",
        default=_env_flag("SANDBOX_NETWORK"),
        help="give the network to sandboxes of images that ask for it (`network: true` "
        "in --app-images); off: no sandbox has a network",
    )
    parser.add_argument(
        "--sandbox-share",
        default=_env("SANDBOX_SHARE", ""),
        help="comma-separated host paths every sandbox may read and write (e.g. a "
        "scratch folder); the data dir stays hidden",
    )
    parser.add_argument(
        "--sandbox-read",
        default=_env("SANDBOX_READ", ""),
        help="comma-separated host paths every sandbox may read even under /tmp, which "
        "sandboxes otherwise see empty; the data dir stays hidden",
    )
    parser.add_argument(
        "--s3-endpoints",
        default=_env("S3_ENDPOINTS", ""),
        help="comma-separated S3 endpoint URLs (http[s]://host[:port]) tenants may register "
        "file systems on; the server connects to them (operators may name any; without an "
        "endpoint property a file system uses AWS's own)",
    )
    parser.add_argument(
        "--sandbox-limits",
        default=_env("SANDBOX_LIMITS", ""),
        help="default limits of a sandboxed process, e.g. 'processes=1024,memory=4Gi,"
        "cpu-seconds=3600,file-size=8Gi' (memory: address space; cpu-seconds per core "
        "a party asks for; a party's resources.memory overrides memory)",
    )
    parser.add_argument(
        "--sandbox-user",
        default=_env("SANDBOX_USER", ""),
        help="run sandboxed processes as this user (name or uid; e.g. nobody) when the "
        "server runs as root; default: the server's own user",
    )
    parser.add_argument(
        "--bwrap",
        default=_env("BWRAP", defaults.bwrap),
        help="the bubblewrap program that sandboxes tenant code (Debian: bubblewrap)",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=_env("EXECUTOR", defaults.executor),
        help="where tasks run: local processes, or tasks on a Ray cluster (every image "
        "but dagwire-noop); with local, images may still ask for Ray (`executor: ray` "
        "in --app-images); kubernetes is not available in this build",
    )
    parser.add_argument(
        "--ray-address",
        default=_env("RAY_ADDRESS", defaults.ray_address),
        help="the Ray cluster (ray.init's address): 'auto' finds the one `ray start` "
        "started on this machine (or $RAY_ADDRESS), or host:port of its head",
    )
    parser.add_argument(
        "--capacity-cpu",
        type=float,
        default=float(_env("CAPACITY_CPU", "0")),
        help="cores the processes of launches that name no queue may hold at once (each "
        "asks for its resources.cpu, else 1); more wait, queued (default: the machine's)",
    )
    parser.add_argument(
        "--capacity-mem",
        default=_env("CAPACITY_MEM", ""),
        help="memory those processes may hold at once, e.g. 8Gi (default: the machine's)",
    )
    _federation_arguments(parser)
    args = parser.parse_args(argv)
    if args.capacity_cpu < 0:
        parser.error("--capacity-cpu must not be negative")
    if args.executor == "ray" and importlib.util.find_spec("ray") is None:
        parser.error(
            "--executor ray needs Ray, which is not installed: pip install 'dagwire[ray]' "
            "(or 'ray>=2.60')"
        )
    if args.heartbeat_interval <= 0:
        parser.error("--heartbeat-interval must be positive")
    if args.lease_seconds <= 0:
        parser.error("--lease-seconds must be positive")
    if args.fence_seconds is not None and args.fence_seconds <= 0:
        parser.error("--fence-seconds must be positive")
    if not 0 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be between 1 and {MAX_WORKERS}")
    postgres = (args.database_url or "").startswith("postgresql")
    if args.workers == 0:  # not given
        args.workers = (os.cpu_count() or 1) if postgres else 1
    if args.workers > 1 and not postgres:
        parser.error(
            f"--workers {args.workers} needs PostgreSQL (--database-url "
            "postgresql+asyncpg://...): the SQLite store has one writer, so one process "
            "serves it; use --workers 1 or a PostgreSQL database"
        )
    try:
        return _config(args)
    except ValueError as error:
        parser.error(str(error))


def _config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        listen=args.listen,
        data_dir=Path(args.data_dir),
        fs_dir=Path(args.fs_dir) if args.fs_dir else None,
        database_url=args.database_url or None,
        heartbeat_interval=args.heartbeat_interval,
        app_images_file=Path(args.app_images) if args.app_images else None,
        approval_domains=frozenset(
            d.strip() for d in args.approval_domains.split(",") if d.strip()
        ),
        event_retention=args.event_retention,
        watch_queue_size=args.watch_queue_size,
        log_format=args.log_format,
        token_file=_path(args.token_file),
        root_password_file=_path(args.root_password_file),
        session_secret_file=_path(args.session_secret_file),
        token_expiry_hours=args.token_expiry_hours,
        access_key_file=_path(args.access_key_file),
        tls_cert=_path(args.tls_cert),
        tls_key=_path(args.tls_key),
        tls_client_ca=_path(args.tls_client_ca),
        auth_health=args.auth_health,
        http_listen=args.http_listen or None,
        ui=not args.no_ui,
        metrics_listen=args.metrics_listen or None,
        replica_id=args.replica_id or None,
        lease_seconds=args.lease_seconds,
        fence_seconds=args.fence_seconds,
        executor=args.executor,
        ray_address=args.ray_address,
        unsandboxed=args.unsandboxed,
        command_domains=_names(args.command_domains),
        sandbox_network=args.sandbox_network,
        sandbox_shared=tuple(Path(p) for p in sorted(_names(args.sandbox_share))),
        sandbox_readable=tuple(Path(p) for p in sorted(_names(args.sandbox_read))),
        sandbox_limits=parse_limits(args.sandbox_limits),
        bwrap=args.bwrap,
        sandbox_user=_checked_user(args.sandbox_user),
        domain=args.domain or None,
        peers_file=_path(args.peers),
        peer_listen=args.peer_listen or None,
        peer_cert=_path(args.peer_cert),
        peer_key=_path(args.peer_key),
        peer_deadline=args.peer_deadline,
        peer_queue_bound=args.peer_queue_bound,
        workers=args.workers,
        shared_port=args.shared_port,
        s3_endpoints=_names(args.s3_endpoints),
        capacity_cpu=args.capacity_cpu,
        capacity_mem=int(quantity(args.capacity_mem, "--capacity-mem")) if args.capacity_mem else 0,
    )


def _federation_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("federation (one node per domain; README, Federation)")
    group.add_argument(
        "--domain",
        default=_env("DOMAIN", ""),
        help="the domain this node owns: it runs only that domain's parties, and jobs with "
        "other domains' parties run together with their nodes (--peers); unset: one "
        "server owning every domain",
    )
    group.add_argument("--peers", default=_env("PEERS", ""), help="the peers file (YAML)")
    group.add_argument(
        "--peer-listen",
        default=_env("PEER_LISTEN", ""),
        help="host:port peers deliver to (mutual TLS); its host is also where this node's "
        "parties listen for the other parties",
    )
    group.add_argument(
        "--peer-cert", default=_env("PEER_CERT", ""), help="this node's certificate (CN = domain)"
    )
    group.add_argument("--peer-key", default=_env("PEER_KEY", ""), help="its private key")
    group.add_argument(
        "--peer-deadline",
        type=float,
        default=float(_env("PEER_DEADLINE", "300")),
        help="seconds a peer may stay unreachable before the jobs shared with it fail",
    )
    group.add_argument(
        "--peer-queue-bound",
        type=int,
        default=int(_env("PEER_QUEUE_BOUND", "10000")),
        help="the most messages queued for one peer; at the bound, new jobs with it are "
        "refused and a job whose message does not fit fails here",
    )


def sandbox_user_ids(name: str) -> tuple[int, int] | None:
    """--sandbox-user as (uid, gid): a user name, or a uid (its gid the same number);
    ValueError for a name this host does not know."""
    if not name:
        return None
    if name.isdigit():
        return int(name), int(name)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ValueError(f"--sandbox-user: no user named {name!r} on this host") from None
    return entry.pw_uid, entry.pw_gid


def _checked_user(name: str) -> str:
    sandbox_user_ids(name)
    return name


def _names(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


# --sandbox-limits key -> Limits field (quantities: 4Gi, 1k, 3600).
_LIMIT_KEYS = {
    "processes": "processes",
    "memory": "memory_bytes",
    "cpu-seconds": "cpu_seconds",
    "file-size": "file_bytes",
}


def parse_limits(text: str) -> Limits:
    """`processes=1024,memory=4Gi,...` over the defaults; ValueError names a bad entry."""
    values: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, _, value = item.partition("=")
        if key.strip() not in _LIMIT_KEYS:
            raise ValueError(
                f"--sandbox-limits: unknown limit {key.strip()!r}; known: {', '.join(_LIMIT_KEYS)}"
            )
        name = _LIMIT_KEYS[key.strip()]
        amount = int(quantity(value.strip(), key.strip()))
        if amount < 1:
            raise ValueError(f"--sandbox-limits: {key.strip()} must be at least 1")
        values[name] = amount
    return Limits(**values)
