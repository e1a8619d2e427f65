"""Why a call is refused. Both are domain errors, so each API maps them in its one error
table (JobService: Kuscia's 11102) like any other."""

from __future__ import annotations

from dagwire.server.engine.errors import EngineError


class AuthError(EngineError):
    """Root of the refusals."""


class Unauthenticated(AuthError):
    """No credentials, or credentials this server does not accept."""


class PermissionDenied(AuthError):
    """The caller is known, but its domain may not see or act on what it asked for."""
