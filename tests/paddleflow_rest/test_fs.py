"""File systems over PaddleFlow's paths, mapped onto dagwire's registry, with the bodies
its SDK sends (client/paddleflow/fs/fs_api.py add_fs, show_fs, list_fs, delete_fs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paddleflow_rest.conftest import PaddleFlow

pytestmark = pytest.mark.timeout(60)


async def test_a_local_fs_is_created_shown_listed_and_deleted(
    root: PaddleFlow, tmp_path: Path
) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    # add_fs: {name, url, properties}
    created = await root.request(
        "POST", "/fs", json_body={"name": "shelf", "url": f"local://{shelf}", "properties": {}}
    )
    # show_fs reads name, username, type, serverAddress, subPath, properties.
    shown = await root.request("GET", "/fs/shelf")
    # list_fs: {maxKeys}; reads fsList.
    listed = await root.request("GET", "/fs", params={"maxKeys": 100})
    deleted = await root.request("DELETE", "/fs/shelf")
    gone = await root.request("GET", "/fs/shelf")

    assert created.status == 201, created.body
    assert created.body["fsName"] == "shelf"
    assert (shown.body["type"], shown.body["subPath"]) == ("local", str(shelf))
    assert [fs["name"] for fs in listed.body["fsList"]] == ["shelf"]
    assert deleted.status == 200
    assert gone.status == 403 and gone.body["code"] == "FileSystemNotExist"


async def test_an_fs_cache_is_refused_saying_why(root: PaddleFlow) -> None:
    # create_cache: POST /fsCache {fsName, ...}
    reply = await root.request("POST", "/fsCache", json_body={"fsName": "shelf"})

    assert reply.status == 400
    assert "does not map" in reply.body["message"]
