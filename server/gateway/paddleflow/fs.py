"""File systems at PaddleFlow's paths (pkg/apiserver/router/v1/fs.go), mapped onto
dagwire's file-system registry (WorkflowService CreateFileSystem ...). Bodies and
fields as the SDK sends and reads them (client/paddleflow/fs/fs_api.py): {name, url,
properties}; `fsList`, `truncated` (PaddleFlow's fs list says `truncated`).

dagwire registers `local://` folders and `s3://` bucket prefixes; PaddleFlow's other
kinds (hdfs, sftp, cfs, ...), fs caches, links and mounts do not map: dagwire syncs a
file system around a step rather than mounting it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    INVALID_ARGUMENTS,
    Answer,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
    obj,
    page_of,
    text,
)

WORKFLOW = "WorkflowService"


def fs_json(fs: dict[str, Any]) -> dict[str, Any]:
    url = urlsplit(fs["url"])
    return {
        "id": f"fs-{fs['username']}-{fs['name']}",
        "name": fs["name"],
        "type": url.scheme,
        "serverAddress": url.netloc,
        "subPath": url.path,
        "username": fs["username"],
        "properties": fs["properties"],
    }


def _not_mapped(what: str) -> PaddleFlowError:
    return PaddleFlowError(
        INVALID_ARGUMENTS,
        f"{what} does not map onto dagwire: it syncs a registered file system around a "
        "step instead of mounting or caching it",
    )


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_fs(call: Call) -> Answer:
        # client/paddleflow/fs/fs_api.py add_fs
        body = await call.body()
        properties = obj(body, "properties")
        request = {
            "name": text(body, "name"),
            "url": text(body, "url"),
            "properties": {str(k): str(v) for k, v in properties.items()},
        }
        answer = await api.call(call, WORKFLOW, "CreateFileSystem", request)
        created = fs_json(answer["file_system"])
        return Answer({"fsName": created["name"], "fsID": created["id"]}, 201)

    async def list_fs(call: Call) -> dict[str, Any]:
        # client/paddleflow/fs/fs_api.py list_fs. The registry lists a domain's file
        # systems at once: one page.
        page = page_of(call)
        answer = await api.call(call, WORKFLOW, "ListFileSystems", {})
        listed = page.answer("", fsList=[fs_json(fs) for fs in answer["file_systems"]])
        return listed | {"truncated": False}

    async def get_fs(call: Call) -> dict[str, Any]:
        answer = await api.call(call, WORKFLOW, "GetFileSystem", {"name": call.path("fsName")})
        return fs_json(answer["file_system"])

    async def delete_fs(call: Call) -> None:
        await api.call(call, WORKFLOW, "DeleteFileSystem", {"name": call.path("fsName")})

    async def update_fs(call: Call) -> None:
        raise PaddleFlowError(
            INVALID_ARGUMENTS, "a dagwire file system is registered once: delete and create it"
        )

    async def fs_cache(call: Call) -> None:
        raise _not_mapped("an fs cache")

    async def link(call: Call) -> None:
        raise _not_mapped("a link")

    return [
        api.route("POST", "/fs", create_fs),
        api.route("PUT", "/fs", update_fs),
        api.route("GET", "/fs", list_fs),
        api.route("GET", "/fs/{fsName}", get_fs),
        api.route("DELETE", "/fs/{fsName}", delete_fs),
        *(api.route(m, "/fsCache", fs_cache) for m in ("POST",)),
        *(api.route(m, "/fsCache/{fsName}", fs_cache) for m in ("GET", "PUT", "DELETE")),
        api.route("POST", "/link", link),
        *(api.route(m, "/link/{fsName}", link) for m in ("GET", "DELETE")),
    ]
