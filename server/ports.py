"""Listening ports are taken exclusively: a second server on a taken port fails at start.

grpc sets SO_REUSEPORT by default, so a second server could bind a port another already
listens on and the kernel would split connections between them (and their databases).
The server turns that option off and, before anything else starts, binds each port once
itself without it: a taken port fails there, with one message naming it.
"""

from __future__ import annotations

import errno
import socket


class ListenError(OSError):
    """An address the server was told to listen on cannot be listened on."""


def split_host_port(listen: str) -> tuple[str, int]:
    """ "127.0.0.1:8082" -> ("127.0.0.1", 8082); "[::]:8082" -> ("::", 8082)."""
    host, separator, port = listen.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {listen!r}")
    return host.strip("[]"), int(port)


def exclusive_socket(listen: str) -> socket.socket:
    """A socket bound to `listen` without SO_REUSEPORT (not yet listening), or
    ListenError naming the address when another process holds it."""
    host, port = split_host_port(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise ListenError(f"cannot listen on {listen}: {error.strerror or error}") from error
    try:
        # SO_REUSEADDR only lets a restarted server reuse a port in TIME_WAIT; unlike
        # SO_REUSEPORT it does not admit a second listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        in_use = error.errno == errno.EADDRINUSE
        reason = "the port is taken by another process" if in_use else error.strerror or error
        raise ListenError(f"cannot listen on {listen}: {reason}") from error
    return sock


def ensure_free(listen: str) -> None:
    """ListenError naming `listen` if another process holds it."""
    if split_host_port(listen)[1] != 0:
        exclusive_socket(listen).close()
