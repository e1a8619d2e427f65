"""Server configuration: flags, with environment variables as defaults."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path


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

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'dagwire.db'}"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DAGWIRE_{name}", default)


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog="dagwire serve", description="Run the dagwire gRPC server."
    )
    parser.add_argument("--listen", default=_env("LISTEN", defaults.listen), help="host:port")
    parser.add_argument(
        "--data-dir",
        default=_env("DATA_DIR", str(defaults.data_dir)),
        help="where the SQLite store, task logs and exit records live",
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
        "--log-format", choices=("console", "json"), default=_env("LOG_FORMAT", "console")
    )
    args = parser.parse_args(argv)
    if args.heartbeat_interval <= 0:
        parser.error("--heartbeat-interval must be positive")
    return ServerConfig(
        listen=args.listen,
        data_dir=Path(args.data_dir),
        database_url=args.database_url or None,
        heartbeat_interval=args.heartbeat_interval,
        app_images_file=Path(args.app_images) if args.app_images else None,
        approval_domains=frozenset(
            d.strip() for d in args.approval_domains.split(",") if d.strip()
        ),
        event_retention=args.event_retention,
        log_format=args.log_format,
    )
