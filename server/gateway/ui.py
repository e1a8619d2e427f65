"""The web UI at /ui/, on the gateway's port (off with --no-ui).

The server renders only page shells (Jinja2): which page, which job or run. Everything a
page shows it fetches in the browser from the gateway's own API with the token the user
signed in with (kept in the browser, sent as the `Token` header), so every datum goes
through the same authenticator and tenancy rules as any API caller's: the UI shows a
caller exactly what the API shows it, and a foreign run's page says what a missing one's
does. Live pages read the API's NDJSON watch streams; a step's log follows
/api/v1/workflow/log/tail. Graphs are laid out in the browser by dagre (fetched at set-up into
web/static/vendor, see its README).

The shells carry no data, so they are served without credentials; a Content-Security-
Policy allows only this origin's scripts and styles, so nothing a tenant names (a job id,
a step's log) can run as script.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

PREFIX = "/ui"
WEB_DIR = "web"
# Page name -> template. Each shell names its page; the page's script does the rest.
LIST_PAGES = ("runs", "jobs", "pipelines", "schedules")
# Ids in paths: the longest any API accepts (a DNS-1123 subdomain's 253), printable, no
# slash; anything else is a 404 before a template sees it.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; worker-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebUi:
    """Registers the UI's routes on the gateway's application."""

    def __init__(self) -> None:
        root = Path(str(resources.files(__package__).joinpath(WEB_DIR)))
        self._static = root / "static"
        environment = Environment(
            loader=FileSystemLoader(root / "templates"),
            autoescape=select_autoescape(default=True),
        )
        # Compiled once, at startup: a page view then reads no file on the event loop.
        self._templates: dict[str, Template] = {
            name: environment.get_template(f"{name}.html") for name in (*LIST_PAGES, "signin")
        }
        # A job's page and a run's share one shell: the graph, the list, the detail.
        self._templates["job"] = self._templates["run"] = environment.get_template("detail.html")

    def register(self, app: web.Application) -> None:
        app.router.add_get(PREFIX, _redirect(f"{PREFIX}/runs"))
        app.router.add_get(f"{PREFIX}/", _redirect(f"{PREFIX}/runs"))
        app.router.add_get(f"{PREFIX}/signin", self._page("signin"))
        for name in LIST_PAGES:
            app.router.add_get(f"{PREFIX}/{name}", self._page(name))
        app.router.add_get(PREFIX + "/jobs/{id}", self._page("job"))
        app.router.add_get(PREFIX + "/runs/{id}", self._page("run"))
        app.router.add_static(f"{PREFIX}/static/", self._static, append_version=False)

    def _page(self, name: str) -> Handler:
        template = self._templates[name]

        async def handle(http: web.Request) -> web.StreamResponse:
            object_id = http.match_info.get("id", "")
            if object_id and not _ID.match(object_id):
                raise web.HTTPNotFound(text="no such page")
            body = template.render(page=name, object_id=object_id, prefix=PREFIX)
            return web.Response(
                text=body, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
            )

        return handle


def _redirect(location: str) -> Handler:
    async def handle(http: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location)

    return handle
