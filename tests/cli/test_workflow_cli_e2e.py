"""`dagwire pipeline|run|artifact|cache|schedule ...` against a real server: what each
command prints (table, JSON, YAML) and its exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from tests.cli.conftest import Run
from tests.eventually import assert_eventually_sync

DIAMOND = """\
name: diamond
entry_points:
  a: {command: "echo a"}
  b: {command: "echo b", deps: a}
  c: {command: "echo c", deps: a}
  d: {command: "echo d", deps: "b,c"}
"""

FAILING = """\
name: failing
entry_points:
  a: {command: "echo a"}
  bad: {command: "echo oops; exit 3", deps: a}
"""

SLOW = """\
name: slow
entry_points:
  a: {command: "sleep 30"}
"""

CACHED = """\
name: cached
cache: {enable: true}
entry_points:
  make:
    command: "echo data > {{out}}"
    artifacts: {output: [out]}
  use:
    deps: make
    command: "cat {{data}}"
    artifacts: {input: {data: "{{make.out}}"}}
"""

LINES = """\
name: lines
entry_points:
  count: {command: "for i in 1 2 3 4 5; do echo line$i; done"}
"""


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def write(text: str, name: str = "spec.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def as_json(cli: Run, *args: str) -> Any:
    result = cli("--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def create_run(cli: Run, write: Any, text: str = DIAMOND, *extra: str) -> str:
    return str(as_json(cli, "run", "create", "-f", write(text), *extra)["run_id"])


def finished_run(cli: Run, write: Any, text: str = DIAMOND, *extra: str) -> str:
    run_id = create_run(cli, write, text, *extra)
    cli("run", "watch", run_id, "--timeout", "60")
    return run_id


# --- pipeline --------------------------------------------------------------------------------


def test_pipeline_create_confirms_with_the_id_name_and_version(cli: Run, write: Any) -> None:
    result = cli("pipeline", "create", "-f", write(DIAMOND))
    assert result.exit_code == 0, result.stderr
    words = result.stdout.split()
    assert words[:2] == ["created", "pipeline"] and words[2].startswith("ppl-")
    assert words[3:] == ["(diamond)", "version", "1"]


def test_pipeline_lifecycle_get_update_versions_delete(cli: Run, write: Any) -> None:
    created = as_json(cli, "pipeline", "create", "-f", write(DIAMOND), "--description", "v1")
    pid = created["pipeline_id"]
    assert created == {"pipeline_id": pid, "name": "diamond", "pipeline_version_id": "1"}

    updated = as_json(cli, "pipeline", "update", pid, "-f", write(DIAMOND.replace("d}", "d2}")))
    assert updated == {"pipeline_id": pid, "pipeline_version_id": "2"}

    got = yaml.safe_load(cli("-o", "yaml", "pipeline", "get", pid).stdout)
    assert got["pipeline"]["latest_version_id"] == "2"
    assert [v["pipeline_version_id"] for v in got["pipeline_versions"]] == ["2", "1"]

    table = cli("pipeline", "get", pid).stdout
    assert pid in table and "latest version 2" in table

    version = cli("pipeline", "version-get", pid, "1")
    assert version.exit_code == 0 and DIAMOND.strip() in version.stdout
    assert as_json(cli, "pipeline", "version-get", pid, "2")["pipeline_yaml"].count("echo d") == 1

    assert cli("pipeline", "version-delete", pid, "1").stdout.strip() == (
        f"deleted version 1 of pipeline {pid}"
    )
    assert cli("pipeline", "delete", pid).stdout.strip() == f"deleted pipeline {pid}"
    gone = cli("pipeline", "get", pid)
    assert gone.exit_code == 1 and "NOT_FOUND" in gone.stderr


def test_pipeline_list_pages_and_points_to_the_next_page(cli: Run, write: Any) -> None:
    for name in ("p-one", "p-two", "p-three"):
        cli("pipeline", "create", "-f", write(DIAMOND.replace("diamond", name)))
    page = cli("pipeline", "list", "--page-size", "2")
    assert "p-one" in page.stdout and "p-three" not in page.stdout
    assert page.stderr.startswith("more: --page-token ")
    token = page.stderr.split()[-1]
    rest = as_json(cli, "pipeline", "list", "--page-size", "2", "--page-token", token)
    assert [p["name"] for p in rest["pipelines"]] == ["p-three"]
    assert rest["next_page_token"] == ""
    everything = as_json(cli, "pipeline", "list", "--all", "--page-size", "1")
    assert [p["name"] for p in everything["pipelines"]] == ["p-one", "p-two", "p-three"]
    assert [
        p["name"] for p in as_json(cli, "pipeline", "list", "--name", "p-two")["pipelines"]
    ] == ["p-two"]


def test_a_bad_spec_exits_1_naming_each_field(cli: Run, write: Any) -> None:
    result = cli("pipeline", "create", "-f", write(DIAMOND.replace('"b,c"', '"b,x"')))
    assert result.exit_code == 1
    assert "entry_points.d.deps" in result.stderr
    assert as_json(cli, "pipeline", "list")["pipelines"] == []


# --- run -------------------------------------------------------------------------------------


def test_run_watch_prints_the_dag_until_the_run_succeeds(cli: Run, write: Any) -> None:
    run_id = create_run(cli, write)
    result = cli("run", "watch", run_id, "--timeout", "60")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == (f"{run_id} succeeded  a succeeded  b succeeded  c succeeded  d succeeded")
    assert all(line.startswith(run_id) for line in lines)
    assert len(set(lines)) == len(lines)  # a line only when something changed


def test_run_watch_of_a_failed_run_exits_1_with_the_reason(cli: Run, write: Any) -> None:
    run_id = create_run(cli, write, FAILING)
    result = cli("run", "watch", run_id, "--timeout", "60")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == f"{run_id} failed  a succeeded  bad failed"
    assert f"run {run_id} failed" in result.stderr


def test_run_watch_of_an_unknown_run_exits_1_at_once(cli: Run) -> None:
    result = cli("run", "watch", "run-00000000")
    assert result.exit_code == 1 and "NOT_FOUND" in result.stderr


def test_run_watch_that_times_out_exits_1(cli: Run, write: Any) -> None:
    run_id = create_run(cli, write, SLOW)
    result = cli("run", "watch", run_id, "--timeout", "1")
    assert result.exit_code == 1 and "before run" in result.stderr
    cli("run", "stop", run_id, "--force")


def test_run_watch_json_is_one_event_record_per_change(cli: Run, write: Any) -> None:
    run_id = create_run(cli, write)
    result = cli("-o", "json", "run", "watch", run_id, "--timeout", "60")
    assert result.exit_code == 0, result.stderr
    decoder, text, records, position = json.JSONDecoder(), result.stdout, [], 0
    while text[position:].strip():
        position += len(text[position:]) - len(text[position:].lstrip())
        record, position = decoder.raw_decode(text, position)
        records.append(record)
    assert records[0]["type"] == "EVENT_TYPE_ADDED"
    assert records[-1]["run"]["status"] == "RUN_STATUS_SUCCEEDED"
    assert [s["status"] for s in records[-1]["run"]["steps"]] == ["STEP_STATUS_SUCCEEDED"] * 4


def test_run_watch_on_a_terminal_draws_the_dag_live(
    cli: Run, write: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr("dagwire.client._cli_base._is_terminal", lambda: True)
    monkeypatch.setattr("dagwire.client._cli_base._console", lambda: console)
    run_id = create_run(cli, write)
    assert cli("run", "watch", run_id, "--timeout", "60").exit_code == 0
    frames = screen.getvalue()
    final = frames[frames.rindex(run_id) :]  # the last frame drawn
    assert final.splitlines()[0].split() == [run_id, "diamond", "succeeded", "4/4", "steps", "done"]
    rows = [line for line in final.splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in row.strip("│").split("│")][:4] for row in rows]
    assert cells == [
        ["1", "✔ a", "succeeded", ""],
        ["2", "✔ b", "succeeded", "a"],
        ["", "✔ c", "succeeded", "a"],
        ["3", "✔ d", "succeeded", "b, c"],
    ]


def test_run_from_a_pipeline_with_params_and_a_disabled_step(cli: Run, write: Any) -> None:
    spec = DIAMOND.replace('"echo d"', '"echo {{word}}", parameters: {word: d}')
    pid = as_json(cli, "pipeline", "create", "-f", write(spec))["pipeline_id"]
    created = as_json(
        cli,
        "run",
        "create",
        "--pipeline-id",
        pid,
        "--version",
        "1",
        "-p",
        "word=hi",
        "--disable",
        "c",
    )
    run_id = created["run_id"]
    assert cli("run", "watch", run_id, "--timeout", "60").exit_code == 0
    run = as_json(cli, "run", "get", run_id)
    assert (run["pipeline_id"], run["pipeline_version_id"], run["disabled"]) == (pid, "1", ["c"])
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["c"]["status"] == "STEP_STATUS_SKIPPED"
    assert steps["d"]["command"] == "echo hi"


def test_run_get_table_shows_the_dag(cli: Run, write: Any) -> None:
    run_id = finished_run(cli, write, FAILING)
    result = cli("run", "get", run_id)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split()[:3] == [run_id, "failing", "failed"]
    assert "✖ bad" in result.stdout and "exit code 3" in result.stdout


def test_run_list_filters_by_status_and_name(cli: Run, write: Any) -> None:
    ok = finished_run(cli, write)
    bad = finished_run(cli, write, FAILING)
    failed = as_json(cli, "run", "list", "--status", "failed")["runs"]
    assert [r["run_id"] for r in failed] == [bad]
    named = as_json(cli, "run", "list", "--name", "diamond")["runs"]
    assert [r["run_id"] for r in named] == [ok]
    table = cli("run", "list").stdout
    assert ok in table and bad in table
    assert [
        r["run_id"] for r in as_json(cli, "run", "list", "--all", "--page-size", "1")["runs"]
    ] == [
        bad,
        ok,
    ]


def test_run_logs_prints_each_step_under_a_header_or_one_step_bare(cli: Run, write: Any) -> None:
    run_id = finished_run(cli, write)
    every = cli("run", "logs", run_id).stdout.splitlines()
    assert every[:2] == ["==> a (attempt 1, page 1) <==", "a"]
    assert len(every) == 8
    assert cli("run", "logs", run_id, "--step", "b").stdout == "b\n"


def test_run_logs_pages_from_either_end(cli: Run, write: Any) -> None:
    run_id = finished_run(cli, write, LINES)
    args = ("run", "logs", run_id, "--step", "count", "--page-size", "2")
    assert cli(*args, "--position", "begin").stdout == "line1\nline2\n"
    assert cli(*args).stdout == "line4\nline5\n"
    page = as_json(cli, *args, "--position", "begin", "--page", "2")["logs"][0]
    assert (page["log_content"], page["has_next_page"], page["page_no"]) == (
        "line3\nline4\n",
        True,
        2,
    )


SLOW_LINES = """\
name: slow-lines
entry_points:
  count: {command: "for i in 1 2 3; do echo line$i; sleep 0.3; done"}
"""


def test_run_logs_follow_prints_the_log_as_it_is_written_until_the_step_ends(
    cli: Run, write: Any
) -> None:
    run_id = create_run(cli, write, SLOW_LINES)
    followed = cli("run", "logs", run_id, "--step", "count", "--follow")
    assert followed.exit_code == 0, followed.stderr
    assert followed.stdout == "line1\nline2\nline3\n"
    result = cli("--json", "run", "logs", run_id, "--step", "count", "-f")
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(c["content"] for c in chunks) == "line1\nline2\nline3\n"
    assert chunks[-1]["finished"] is True
    assert chunks[-1]["status"] == "STEP_STATUS_SUCCEEDED"


def test_run_logs_follow_needs_a_step(cli: Run, write: Any) -> None:
    run_id = create_run(cli, write)
    result = cli("run", "logs", run_id, "--follow")
    assert result.exit_code == 2
    assert "--follow needs --step" in result.stderr


def test_run_stop_retry_and_delete(cli: Run, write: Any, tmp_path: Path) -> None:
    run_id = create_run(cli, write, SLOW)
    stopped = as_json(cli, "run", "stop", run_id, "--force")
    assert stopped["run_id"] == run_id
    cli("run", "watch", run_id, "--timeout", "30")
    assert as_json(cli, "run", "get", run_id)["status"] == "RUN_STATUS_TERMINATED"
    again = cli("run", "stop", run_id)
    assert again.exit_code == 1 and "FAILED_PRECONDITION" in again.stderr

    marker = tmp_path / "second-time"
    flaky = f'name: flaky\nentry_points:\n  a: {{command: "test -f {marker} || (touch {marker}; exit 3)"}}\n'
    failed = finished_run(cli, write, flaky)
    retried = as_json(cli, "run", "retry", failed)
    assert retried["retried_from"] == failed and retried["run_id"] != failed
    assert cli("run", "watch", retried["run_id"], "--timeout", "60").exit_code == 0
    assert as_json(cli, "run", "get", retried["run_id"])["retried_from"] == failed

    assert cli("run", "delete", failed).stdout.strip() == f"deleted run {failed}"
    assert cli("run", "get", failed).exit_code == 1


# --- cache, artifact -------------------------------------------------------------------------


def test_cache_list_get_and_delete(cli: Run, write: Any) -> None:
    run_id = finished_run(cli, write, CACHED)
    entries = as_json(cli, "cache", "list", "--run-id", run_id)["cache_entries"]
    assert sorted(e["step_name"] for e in entries) == ["make", "use"]
    cache_id = entries[0]["cache_id"]
    assert cache_id in cli("cache", "list").stdout
    got = as_json(cli, "cache", "get", cache_id)
    assert (got["cache_id"], got["run_id"]) == (cache_id, run_id)
    assert "first fingerprint" in cli("cache", "get", cache_id).stdout
    assert cli("cache", "delete", cache_id).stdout.strip() == f"deleted cache entry {cache_id}"
    assert cli("cache", "get", cache_id).exit_code == 1


def test_a_second_run_of_a_cached_spec_reuses_every_step(cli: Run, write: Any) -> None:
    first = finished_run(cli, write, CACHED)
    second = finished_run(cli, write, CACHED)
    assert "make succeeded cached" in cli("run", "watch", second).stdout
    steps = as_json(cli, "run", "get", second)["steps"]
    assert {s["name"]: s["cache_run_id"] for s in steps} == {"make": first, "use": first}


def test_artifact_list_filters_by_run_and_type(cli: Run, write: Any) -> None:
    run_id = finished_run(cli, write, CACHED)
    outputs = as_json(cli, "artifact", "list", "--run-id", run_id, "--type", "output")["artifacts"]
    assert [(a["step_name"], a["name"], a["type"]) for a in outputs] == [
        ("make", "out", "ARTIFACT_TYPE_OUTPUT")
    ]
    table = cli("artifact", "list", "--run-id", run_id).stdout
    assert "input" in table and "output" in table


# --- schedule --------------------------------------------------------------------------------


def test_schedule_lifecycle(cli: Run, write: Any) -> None:
    pid = as_json(cli, "pipeline", "create", "-f", write(DIAMOND))["pipeline_id"]
    created = as_json(
        cli,
        "schedule",
        "create",
        "every-second",
        "--pipeline-id",
        pid,
        "--crontab",
        "* * * * * *",
        "--concurrency",
        "3",
        "--policy",
        "skip",
        "--end-time",
        "2099-01-01T00:00:00Z",
    )
    sid = created["schedule_id"]
    assert created["status"] == "active"

    got = assert_eventually_sync(
        lambda: as_json(cli, "schedule", "get", sid),
        lambda got: bool(got["runs"]),
        timeout=20,
        interval=0.2,
        what="the schedule's first run",
    )
    assert got["schedule"]["concurrency_policy"] == "CONCURRENCY_POLICY_SKIP"
    assert got["schedule"]["end_time"] == "2099-01-01T00:00:00Z"
    assert got["runs"] and all(r["schedule_id"] == sid for r in got["runs"])

    table = cli("schedule", "get", sid).stdout
    assert "every-second" in table and "skip" in table
    listed = as_json(cli, "schedule", "list", "--pipeline-id", pid)["schedules"]
    assert [s["schedule_id"] for s in listed] == [sid]

    assert cli("schedule", "stop", sid).stdout.strip() == f"stopped schedule {sid} (stopped)"
    assert as_json(cli, "schedule", "list", "--status", "active")["schedules"] == []
    assert cli("schedule", "delete", sid).stdout.strip() == f"deleted schedule {sid}"
    assert cli("schedule", "get", sid).exit_code == 1


def test_a_bad_crontab_exits_1_naming_the_field(cli: Run, write: Any) -> None:
    pid = as_json(cli, "pipeline", "create", "-f", write(DIAMOND))["pipeline_id"]
    result = cli("schedule", "create", "s", "--pipeline-id", pid, "--crontab", "nope")
    assert result.exit_code == 1
    assert "crontab" in result.stderr
