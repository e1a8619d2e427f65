"""GET /version (PaddleFlow's pkg/apiserver/router/v1/version.go answers its build info:
gitVersion, gitCommit, gitBranch, buildDate, goVersion, compiler, platform)."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import Call, PaddleFlowApi


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    return [api.route("GET", "/version", get_version)]


async def get_version(call: Call) -> dict[str, Any]:
    try:
        release = metadata.version("dagwire")
    except metadata.PackageNotFoundError:
        release = "unknown"
    return {
        "gitVersion": release,
        "gitCommit": "",
        "gitBranch": "",
        "buildDate": "",
        # No Go: the server's language, so that the field says what it runs on.
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation(),
        "platform": f"{platform.system().lower()}/{platform.machine()}",
    }
