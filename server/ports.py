"""The server's ports, taken before anything starts, and the one line a port that cannot be
taken gets (which port, which flag picks another) instead of a traceback."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ListenError(Exception):
    """A port the server was told to listen on cannot be taken."""

    address: str
    flag: str
    reason: str

    def __str__(self) -> str:
        return (
            f"cannot listen on {self.address} ({self.flag}): {self.reason}; "
            f"choose another with {self.flag} HOST:PORT"
        )


def split_host_port(listen: str) -> tuple[str, int]:
    """ "127.0.0.1:8082" -> ("127.0.0.1", 8082); "[::]:8082" -> ("::", 8082)."""
    host, separator, port = listen.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {listen!r}")
    return host.strip("[]"), int(port)


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (OSError when it cannot be had)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def reason(error: OSError) -> str:
    """``Address already in use``: the error without the address it was about."""
    return os.strerror(error.errno) if error.errno else str(error)


def check_free(listen: str, flag: str) -> None:
    """ListenError unless ``listen`` (host:port) can be bound now. gRPC, given a port it
    cannot bind, logs a C-level line and says only that it failed; asking first says why."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return  # not host:port (gRPC reads more forms), or any free port
    try:
        listen_socket(host.strip("[]"), int(port)).close()
    except OSError as error:
        raise ListenError(listen, flag, reason(error)) from None


def bind_as(bind: Callable[[], None], listen: str, flag: str) -> None:
    """Calls ``bind``; an OSError becomes the ListenError of ``listen`` and ``flag``."""
    try:
        bind()
    except OSError as error:
        raise ListenError(listen, flag, reason(error)) from None
