"""A pipeline and its runs over PaddleFlow's paths, with the bodies its SDK sends:
create from YAML, show with version paging, update (a new version), run it to success,
its log, artifacts and run cache (client/paddleflow/pipeline/pipeline_api.py,
client/paddleflow/run/run_api.py, client/paddleflow/log/log_api.py)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from dagwire.server.config import ServerConfig
from tests.paddleflow_rest.conftest import (
    PaddleFlow,
    create_pipeline,
    finished,
    run_pipeline,
    yaml_raw,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def pipeline(alice: PaddleFlow) -> dict[str, Any]:
    return await create_pipeline(alice)


@pytest.fixture
async def succeeded(alice: PaddleFlow, pipeline: dict[str, Any]) -> dict[str, Any]:
    return await run_pipeline(alice, pipeline)


async def test_create_pipeline_answers_its_name_and_ids(pipeline: dict[str, Any]) -> None:
    # create_pipeline reads name, pipelineID, pipelineVersionID.
    assert pipeline["name"] == "hello"
    assert pipeline["pipelineID"].startswith("ppl-")
    assert pipeline["pipelineVersionID"] == "1"


async def test_list_pipeline_filters_by_name(alice: PaddleFlow, pipeline: dict[str, Any]) -> None:
    await create_pipeline(alice, "other")
    # list_pipeline: nameFilter, maxKeys, marker; reads pipelineList, nextMarker.
    reply = await alice.request("GET", "/pipeline", params={"nameFilter": "hello"})

    assert reply.status == 200
    assert [p["pipelineID"] for p in reply.body["pipelineList"]] == [pipeline["pipelineID"]]
    assert reply.body["isTruncated"] is False


async def test_update_pipeline_adds_a_version_and_show_pages_them(
    alice: PaddleFlow, pipeline: dict[str, Any]
) -> None:
    one = f"/pipeline/{pipeline['pipelineID']}"
    # update_pipeline: POST /pipeline/{id} {yamlRaw, desc} -> pipelineVersionID
    updated = await alice.request("POST", one, json_body={"yamlRaw": yaml_raw(), "desc": "v2"})
    assert updated.status == 201, updated.body
    assert updated.body["pipelineVersionID"] == "2"

    # show_pipeline: maxKeys, marker; reads pplVersions.pplVersionList, nextMarker.
    first = await alice.request("GET", one, params={"maxKeys": 1})
    second = await alice.request(
        "GET", one, params={"maxKeys": 1, "marker": first.body["pplVersions"]["nextMarker"]}
    )

    assert first.body["pipeline"]["name"] == "hello"
    assert [v["pipelineVersionID"] for v in first.body["pplVersions"]["pplVersionList"]] == ["2"]
    assert first.body["pplVersions"]["isTruncated"] is True
    assert [v["pipelineVersionID"] for v in second.body["pplVersions"]["pplVersionList"]] == ["1"]
    assert second.body["pplVersions"]["nextMarker"] == ""


async def test_a_pipeline_version_is_shown_and_deleted(
    alice: PaddleFlow, pipeline: dict[str, Any]
) -> None:
    one = f"/pipeline/{pipeline['pipelineID']}"
    await alice.request("POST", one, json_body={"yamlRaw": yaml_raw()})
    # show_pipeline_version / delete_pipeline_version: /pipeline/{id}/{versionID}
    shown = await alice.request("GET", f"{one}/1")
    deleted = await alice.request("DELETE", f"{one}/1")
    gone = await alice.request("GET", f"{one}/1")

    assert "make:" in shown.body["pipelineVersion"]["pipelineYaml"]
    assert deleted.status == 200
    assert gone.status == 400 and gone.body["code"] == "PipelineNotFound"


async def test_a_run_of_the_pipeline_succeeds_with_paddleflows_step_map(
    succeeded: dict[str, Any],
) -> None:
    # show_run reads runtime (step -> [job view]) and postProcess.
    assert succeeded["status"] == "succeeded"
    assert sorted(succeeded["runtime"]) == ["make", "show"]
    assert succeeded["runtime"]["show"][0]["status"] == "succeeded"
    assert succeeded["runtime"]["show"][0]["deps"] == "make"
    assert succeeded["postProcess"] == {}
    assert "message" not in succeeded  # the SDK takes a `message` for an error


async def test_a_run_from_raw_yaml_succeeds(alice: PaddleFlow) -> None:
    # add_run: {runYamlRaw (base64), name}
    reply = await alice.request("POST", "/run", json_body={"runYamlRaw": yaml_raw("raw")})

    assert reply.status == 201, reply.body
    assert (await finished(alice, reply.body["runID"]))["status"] == "succeeded"


def alices_fs(config: ServerConfig, name: str) -> Path:
    """Alice's server-managed file system `name` (what her steps write there)."""
    folder = config.file_systems_dir / "alice" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_a_run_from_a_yaml_path_in_its_fs_succeeds(
    alice: PaddleFlow, server_config: ServerConfig
) -> None:
    folder = alices_fs(server_config, "work")
    (folder / "specs").mkdir()
    (folder / "specs" / "run.yaml").write_text(base64.b64decode(yaml_raw("by-path")).decode())
    # add_run: {fsname, runYamlPath}
    reply = await alice.request(
        "POST", "/run", json_body={"fsname": "work", "runYamlPath": "./specs/run.yaml"}
    )

    assert reply.status == 201, reply.body
    shown = await finished(alice, reply.body["runID"])
    assert (shown["status"], shown["name"]) == ("succeeded", "by-path")


async def test_a_yaml_path_through_a_symbolic_link_is_refused(
    alice: PaddleFlow, server_config: ServerConfig, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(base64.b64decode(yaml_raw()).decode())
    (alices_fs(server_config, "work") / "run.yaml").symlink_to(outside)

    reply = await alice.request(
        "POST", "/run", json_body={"fsname": "work", "runYamlPath": "run.yaml"}
    )

    assert reply.status == 400
    assert reply.body["code"] == "InvalidArguments"
    assert "symbolic link" in reply.body["message"]


async def test_a_pipeline_from_a_yaml_path_in_its_fs_is_created(
    alice: PaddleFlow, server_config: ServerConfig
) -> None:
    spec = base64.b64decode(yaml_raw("from-fs")).decode()
    (alices_fs(server_config, "work") / "pipeline.yaml").write_text(spec)
    # create_pipeline: {fsname, yamlPath, desc}
    reply = await alice.request(
        "POST",
        "/pipeline",
        json_body={"fsname": "work", "yamlPath": "pipeline.yaml", "desc": "by path"},
    )

    assert reply.status == 201, reply.body
    assert reply.body["name"] == "from-fs"


async def test_a_pipeline_from_a_missing_yaml_path_is_refused_saying_why(
    alice: PaddleFlow, server_config: ServerConfig
) -> None:
    alices_fs(server_config, "work")
    reply = await alice.request(
        "POST", "/pipeline", json_body={"fsname": "work", "yamlPath": "nope.yaml"}
    )

    assert reply.status == 400
    assert reply.body["code"] == "InvalidArguments"
    assert "no such file" in reply.body["message"]


async def test_list_run_filters_by_run_id(alice: PaddleFlow, succeeded: dict[str, Any]) -> None:
    await alice.request("POST", "/run", json_body={"runYamlRaw": yaml_raw("raw")})
    # list_run: runFilter; reads runList, nextMarker.
    reply = await alice.request("GET", "/run", params={"runFilter": succeeded["runID"]})

    assert [r["runID"] for r in reply.body["runList"]] == [succeeded["runID"]]
    assert reply.body["runList"][0]["status"] == "succeeded"


async def test_list_run_filters_by_status(alice: PaddleFlow, succeeded: dict[str, Any]) -> None:
    # list_run: statusFilter
    failed = await alice.request("GET", "/run", params={"statusFilter": "failed"})
    ok = await alice.request("GET", "/run", params={"statusFilter": "succeeded"})

    assert failed.body["runList"] == []
    assert [r["runID"] for r in ok.body["runList"]] == [succeeded["runID"]]


async def test_the_run_log_holds_the_steps_output(
    alice: PaddleFlow, succeeded: dict[str, Any]
) -> None:
    job_id = succeeded["runtime"]["show"][0]["jobID"]
    # get_log_info: GET /log/run/{runID} {jobID, pageSize, pageNo, logFilePosition}
    reply = await alice.request(
        "GET",
        f"/log/run/{succeeded['runID']}",
        params={"jobID": job_id, "pageSize": 100, "pageNo": 1, "logFilePosition": "begin"},
    )

    assert reply.status == 200, reply.body
    (job,) = reply.body["runLog"]
    assert job["jobID"] == job_id
    assert "says hi" in job["taskList"][0]["logInfo"]["logContent"]


async def test_list_artifact_shows_the_runs_output(
    alice: PaddleFlow, succeeded: dict[str, Any]
) -> None:
    # list_artifact: runFilter, typeFilter; reads artifactEventList.
    reply = await alice.request(
        "GET", "/artifact", params={"runFilter": succeeded["runID"], "typeFilter": "output"}
    )

    assert reply.status == 200, reply.body
    (artifact,) = reply.body["artifactEventList"]
    assert (artifact["step"], artifact["artifactName"]) == ("make", "model")
    assert artifact["artifactPath"]


async def test_run_cache_is_listed_shown_and_deleted(
    alice: PaddleFlow, succeeded: dict[str, Any]
) -> None:
    # list_runcache: runFilter; reads runCacheList. show_runcache / delete_runcache.
    listed = await alice.request("GET", "/runCache", params={"runFilter": succeeded["runID"]})
    cache_id = listed.body["runCacheList"][0]["cacheID"]
    shown = await alice.request("GET", f"/runCache/{cache_id}")
    deleted = await alice.request("DELETE", f"/runCache/{cache_id}")
    gone = await alice.request("GET", f"/runCache/{cache_id}")

    assert len(listed.body["runCacheList"]) == 2
    assert shown.body["runID"] == succeeded["runID"]
    assert deleted.status == 200
    assert gone.status == 400 and gone.body["code"] == "RunCacheNotFound"


async def test_a_second_run_reuses_the_cache(
    alice: PaddleFlow, pipeline: dict[str, Any], succeeded: dict[str, Any]
) -> None:
    second = await run_pipeline(alice, pipeline)
    # runCachedIDs: the runs that reused this run's cache
    # (pkg/apiserver/controller/pipeline/callbacks.go updateRunCache).
    first = (await alice.request("GET", f"/run/{succeeded['runID']}")).body

    assert first["runCachedIDs"] == second["runID"]
    assert second["runCachedIDs"] == ""
    assert second["runtime"]["make"][0]["cacheRunID"] == succeeded["runID"]


async def test_delete_run_with_check_cache_refuses_a_run_whose_cache_is_used(
    alice: PaddleFlow, pipeline: dict[str, Any], succeeded: dict[str, Any]
) -> None:
    await run_pipeline(alice, pipeline)
    # delete_run: DELETE /run/{id} {"checkCache": true} (the SDK's default)
    refused = await alice.request(
        "DELETE", f"/run/{succeeded['runID']}", json_body={"checkCache": True}
    )
    forced = await alice.request(
        "DELETE", f"/run/{succeeded['runID']}", json_body={"checkCache": False}
    )

    assert refused.status == 403 and refused.body["code"] == "ActionNotAllowed"
    assert forced.status == 200
    assert (await alice.request("GET", f"/run/{succeeded['runID']}")).status == 404


async def test_delete_run_without_a_body_checks_the_cache(
    alice: PaddleFlow, pipeline: dict[str, Any], succeeded: dict[str, Any]
) -> None:
    # pkg/apiserver/router/v1/run.go deleteRun: CheckCache is true unless the body says
    # otherwise.
    second = await run_pipeline(alice, pipeline)

    refused = await alice.request("DELETE", f"/run/{succeeded['runID']}")

    assert refused.status == 403 and second["runID"] in refused.body["message"]


async def test_delete_run_with_check_cache_deletes_a_run_nobody_reused(
    alice: PaddleFlow, succeeded: dict[str, Any]
) -> None:
    # delete_run's default body {"checkCache": true}: PaddleFlow refuses only while runs
    # in the run's runCachedIDs exist (pkg/apiserver/controller/pipeline/run.go DeleteRun).
    deleted = await alice.request(
        "DELETE", f"/run/{succeeded['runID']}", json_body={"checkCache": True}
    )

    assert deleted.status == 200, deleted.body
    assert (await alice.request("GET", f"/run/{succeeded['runID']}")).status == 404


async def test_a_runs_fs_name_is_shown_and_listed(alice: PaddleFlow) -> None:
    # add_run: {fsname, runYamlRaw}; show_run and list_run read `fsName`
    # (client/paddleflow/run/run_api.py show_run, list_run).
    reply = await alice.request(
        "POST", "/run", json_body={"fsname": "scratch", "runYamlRaw": yaml_raw("withfs")}
    )
    assert reply.status == 201, reply.body
    run_id = reply.body["runID"]

    shown = await alice.request("GET", f"/run/{run_id}")
    listed = await alice.request("GET", "/run", params={"runFilter": run_id})
    assert shown.body["fsName"] == "scratch"
    assert [run["fsName"] for run in listed.body["runList"]] == ["scratch"]
