"""The file-system RPCs of dagwire.v1.WorkflowService (workflow.fs_registry), as a mixin
of the WorkflowServicer, which provides `self._file_systems` and lists the mixin before
the generated `WorkflowServiceServicer` among its bases. Every answer masks secrets."""

from __future__ import annotations

from typing import Any

import grpc

from dagwire.server.api.tenancy import current_tenant
from dagwire.server.api.workflow_convert import timestamp
from dagwire.server.api.workflow_status import workflow_errors
from dagwire.server.engine.catalog import FileSystem
from dagwire.server.workflow.fs_registry import FileSystems, masked
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_request_response_pb2 as rr

Context = grpc.aio.ServicerContext[Any, Any]


def file_system_to_proto(fs: FileSystem) -> pb.FileSystem:
    shown = masked(fs)
    return pb.FileSystem(
        name=shown.name,
        url=shown.url,
        properties=dict(shown.properties),
        username=shown.username,
        create_time=timestamp(shown.create_time),
    )


class FileSystemRpcs:
    """CreateFileSystem, GetFileSystem, ListFileSystems, DeleteFileSystem."""

    _file_systems: FileSystems

    @workflow_errors
    async def CreateFileSystem(
        self, request: rr.CreateFileSystemRequest, context: Context
    ) -> rr.CreateFileSystemResponse:
        fs = await self._file_systems.create(
            current_tenant(), request.name, request.url, dict(request.properties)
        )
        return rr.CreateFileSystemResponse(file_system=file_system_to_proto(fs))

    @workflow_errors
    async def GetFileSystem(
        self, request: rr.GetFileSystemRequest, context: Context
    ) -> rr.GetFileSystemResponse:
        fs = await self._file_systems.get(current_tenant(), request.name)
        return rr.GetFileSystemResponse(file_system=file_system_to_proto(fs))

    @workflow_errors
    async def ListFileSystems(
        self, request: rr.ListFileSystemsRequest, context: Context
    ) -> rr.ListFileSystemsResponse:
        found = await self._file_systems.list(current_tenant())
        return rr.ListFileSystemsResponse(file_systems=[file_system_to_proto(f) for f in found])

    @workflow_errors
    async def DeleteFileSystem(
        self, request: rr.DeleteFileSystemRequest, context: Context
    ) -> rr.DeleteFileSystemResponse:
        await self._file_systems.delete(current_tenant(), request.name)
        return rr.DeleteFileSystemResponse()
