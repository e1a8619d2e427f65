"""PaddleFlow's REST paths (/api/paddleflow/v1/...), so that PaddleFlow's Python SDK and
its `paddleflow` CLI work against dagwire, served by the HTTP gateway on its port.

The interface resource modules build on, kept stable (other branches add modules):

- Each resource is one module of this package exposing
  `def routes(api: PaddleFlowApi) -> list[aiohttp.web.RouteDef]`, and is listed once in
  RESOURCES below; nothing else needs to change to add one.
- A route is made with `api.route(method, path, handler)`, `path` below
  /api/paddleflow/v1 (e.g. "/run/{runID}"), `public=True` for a path without a caller
  (login). The handler takes a `Call` (the request, the admitted caller, a servicer
  context, the request id) and answers an `Answer(body, status)`, a dict (200) or None.
- `await api.call(call, "WorkflowService", "CreateRun", {...})` calls the servicer the
  gRPC server runs, request and response in the protobuf JSON mapping (snake_case); a
  refusal becomes PaddleFlow's error body by the tables in common.py (ERRORS,
  NOT_FOUND_CODES, HTTP_STATUS). Raise `PaddleFlowError(code, message)` for the
  gateway's own refusals.
- The caller comes from `x-pf-authorization` (PaddleFlowAuthenticator): dagwire's token
  file today; a branch adding PaddleFlow's login tokens calls
  `api.authenticator.add_verifier(verifier)`.
- `page_of(call)` reads `marker`/`maxKeys`; `Page.answer(next_token, xList=[...])` writes
  `marker`, `isTruncated`, `nextMarker`.

No module implements a rule of its own: each translates PaddleFlow's JSON to a dagwire
RPC and back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

from aiohttp import web

from dagwire.server.auth.interceptor import Authenticator
from dagwire.server.gateway.paddleflow import (
    artifact,
    cluster,
    flavour,
    fs,
    log,
    pipeline,
    queue,
    run,
    runcache,
    schedule,
    statistics,
    users,
    version,
)
from dagwire.server.gateway.paddleflow.common import PaddleFlowApi, PaddleFlowAuthenticator
from dagwire.server.gateway.services import GatewayService
from dagwire.server.observability.metrics import ServerMetrics

# Every resource module, in the order their routes are added. Add yours here.
RESOURCES: Sequence[ModuleType] = (
    version,
    pipeline,
    run,
    runcache,
    artifact,
    log,
    schedule,
    fs,
    queue,
    flavour,
    cluster,
    users,
    statistics,
)


def routes(api: PaddleFlowApi, resources: Sequence[ModuleType] = RESOURCES) -> list[web.RouteDef]:
    defined: list[web.RouteDef] = []
    for module in resources:
        make: Callable[[PaddleFlowApi], list[web.RouteDef]] = module.routes
        defined.extend(make(api))
    return defined


class PaddleFlowGateway:
    """Adds PaddleFlow's paths to the gateway's application (as ModelArtsGateway does)."""

    def __init__(
        self,
        *,
        services: Mapping[str, GatewayService],
        authenticator: Authenticator,
        metrics: ServerMetrics,
    ) -> None:
        self.api = PaddleFlowApi(services, PaddleFlowAuthenticator(authenticator), metrics)

    def register(self, app: web.Application) -> None:
        app.router.add_routes(routes(self.api))
