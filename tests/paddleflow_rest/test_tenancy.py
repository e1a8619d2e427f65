"""Tenancy on PaddleFlow's paths: bob's token cannot see or act on alice's run, and a
foreign run answers exactly as a missing one (PaddleFlow's RunNotFound)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.paddleflow_rest.conftest import PaddleFlow, yaml_raw

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def alices_run(alice: PaddleFlow) -> str:
    # client/paddleflow/run/run_api.py add_run: {runYamlRaw}
    reply = await alice.request("POST", "/run", json_body={"runYamlRaw": yaml_raw()})
    assert reply.status == 201, reply.body
    run_id: str = reply.body["runID"]
    return run_id


async def test_bob_gets_run_not_found_for_alices_run(bob: PaddleFlow, alices_run: str) -> None:
    foreign = await bob.request("GET", f"/run/{alices_run}")
    missing = await bob.request("GET", "/run/run-does-not-exist")

    assert foreign.status == missing.status == 404
    assert foreign.body["code"] == missing.body["code"] == "RunNotFound"


async def test_bob_cannot_stop_or_delete_alices_run(bob: PaddleFlow, alices_run: str) -> None:
    stop = await bob.request("PUT", f"/run/{alices_run}", params={"action": "stop"}, json_body={})
    delete = await bob.request("DELETE", f"/run/{alices_run}", json_body={"checkCache": True})

    assert (stop.status, stop.body["code"]) == (404, "RunNotFound")
    assert (delete.status, delete.body["code"]) == (404, "RunNotFound")


async def test_bobs_list_run_leaves_alices_run_out(
    bob: PaddleFlow, alice: PaddleFlow, alices_run: str
) -> None:
    theirs: dict[str, Any] = (await alice.request("GET", "/run")).body
    bobs: dict[str, Any] = (await bob.request("GET", "/run", params={"runFilter": alices_run})).body

    assert [r["runID"] for r in theirs["runList"]] == [alices_run]
    assert bobs["runList"] == []
