"""The WorkflowService commands of ``dagwire``: ``pipeline``, ``run``, ``artifact``,
``cache`` and ``schedule``. Like the job commands, each one parses its options, calls the
sync SDK and prints: a human rendering by default, or the wire messages with
``--output json|yaml`` (``--json``).

    dagwire pipeline create -f diamond.yaml
    dagwire run create --pipeline-id ppl-1a2b3c4d --param epochs=3 --disable d
    dagwire run watch run-5e6f7a8b           # the DAG, live; exit 1 unless it succeeds
    dagwire run logs run-5e6f7a8b --step b --position begin
    dagwire run stats run-5e6f7a8b --step b  # CPU time, peak memory, wall time
    dagwire schedule create nightly --pipeline-id ppl-1a2b3c4d --crontab "0 2 * * *"
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from datetime import datetime
from typing import Any

import click
from rich.live import Live

from . import _cli_base
from ._cli_base import _Failure, _pass_settings, _quiet_option, _Settings
from ._render import dump, proto_dict
from ._workflow_models import (
    ArtifactType,
    ConcurrencyPolicy,
    FailureStrategy,
    LogPosition,
    Page,
    RunStatus,
    ScheduleStatus,
)
from ._workflow_render import (
    RunWatchView,
    artifacts_table,
    cache_table,
    cache_view,
    file_system_view,
    file_systems_table,
    log_text,
    pipeline_view,
    pipelines_table,
    run_view,
    runs_table,
    schedule_view,
    schedules_table,
    statistics_table,
    version_view,
)


def _choices(enum: Iterable[Any]) -> click.Choice[str]:
    return click.Choice([m.value for m in enum if m.value != "unspecified"], case_sensitive=False)


def _parameters(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> dict[str, str]:
    """``--param key=value`` (repeatable) as a dict."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx=ctx, param=param)
        result[key.strip()] = text
    return result


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 time (``2030-01-01T02:00:00Z``); without a zone, UTC."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2030-01-01T02:00:00Z", ctx=ctx, param=param
        ) from None


def _read(file: Any, option: str = "'-f'") -> str:
    text = str(file.read())
    if not text.strip():
        raise click.BadParameter("the file is empty", param_hint=option)
    return text


def _paging(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options every list command has: a raw filter, page size and token, --all."""
    for option in reversed(
        (
            click.option(
                "--filter", "filter_", default="", help="Raw filter terms: key=value AND ..."
            ),
            click.option(
                "--page-size", type=click.IntRange(min=0), default=0, help="Items per page."
            ),
            click.option("--page-token", default="", help="next_page_token of the last page."),
            click.option("--all", "all_pages", is_flag=True, help="Fetch every page."),
        )
    ):
        function = option(function)
    return function


def _list(
    settings: _Settings,
    field: str,
    pages: tuple[Callable[..., Page[Any]], Callable[..., Iterable[Any]]],
    paging: tuple[str, int, str, bool],
    table: Callable[[list[Any]], Any],
) -> None:
    """Prints one page (or, with --all, every item) of a list call. JSON / YAML have the
    List*Response's shape; a table points to the next page on stderr."""
    list_page, iterate = pages
    filter_, page_size, page_token, all_pages = paging
    if all_pages:
        items, token = list(iterate(filter=filter_, page_size=page_size)), ""
    else:
        page = list_page(filter=filter_, page_size=page_size, page_token=page_token)
        items, token = list(page), page.next_page_token
    data = {field: [proto_dict(item.raw) for item in items], "next_page_token": token}
    settings.show(data, lambda: table(items))
    if token and settings.output == "table":
        click.echo(f"more: --page-token {token}", err=True)


# --- pipeline --------------------------------------------------------------------------------


@click.group()
def pipeline() -> None:
    """Create, version, inspect and delete pipelines."""


def _spec_source(function: Callable[..., Any]) -> Callable[..., Any]:
    """A pipeline spec: a YAML file (-f), or its path in one of the caller's file
    systems, read by the server (--fs-name + --yaml-path: PaddleFlow's fsname + yamlPath)."""
    options = (
        click.option(
            "-f", "--file", "file", type=click.File("r"), help="Pipeline spec in YAML; - for stdin."
        ),
        click.option("--fs-name", default="", help="The file system --yaml-path is in."),
        click.option(
            "--yaml-path", default="", help="Instead of -f: the spec's path in --fs-name."
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function


def _spec_or_path(file: Any, fs_name: str, yaml_path: str) -> dict[str, Any]:
    """The client's spec arguments from -f or --fs-name + --yaml-path (exactly one)."""
    if bool(file) == bool(yaml_path):
        raise click.UsageError("give exactly one of -f and --yaml-path")
    if yaml_path and not fs_name:
        raise click.UsageError("--yaml-path needs --fs-name, the file system it is in")
    if file:
        return {"spec": _read(file)}
    return {"fs_name": fs_name, "pipeline_yaml_path": yaml_path}


@pipeline.command("create")
@_spec_source
@click.option("--description", default="", help="Free text.")
@click.option("--username", default="", help="Owner (server default: default).")
@click.option("--request-id", default="", help="Idempotency key: a retry returns the first answer.")
@_quiet_option
@_pass_settings
def pipeline_create(
    settings: _Settings,
    file: Any,
    fs_name: str,
    yaml_path: str,
    description: str,
    username: str,
    request_id: str,
) -> None:
    """Create a pipeline from a YAML spec; the spec's name names it."""
    created = settings.client().create_pipeline(
        **_spec_or_path(file, fs_name, yaml_path),
        description=description,
        username=username,
        request_id=request_id,
    )
    version = created.version.pipeline_version_id if created.version else ""
    settings.show(
        {"pipeline_id": created.pipeline_id, "name": created.name, "pipeline_version_id": version},
        lambda: f"created pipeline {created.pipeline_id} ({created.name}) version {version}",
    )


@pipeline.command("list")
@click.option("--name", default=None, help="Only the pipeline with this name.")
@click.option("--username", default=None, help="Only this owner's.")
@_paging
@_pass_settings
def pipeline_list(
    settings: _Settings,
    name: str | None,
    username: str | None,
    filter_: str,
    page_size: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """List pipelines, oldest first."""
    client = settings.client()
    filters: dict[str, Any] = {"name": name, "username": username}
    pages = (
        functools.partial(client.list_pipelines, **filters),
        functools.partial(client.iter_pipelines, **filters),
    )
    _list(
        settings, "pipelines", pages, (filter_, page_size, page_token, all_pages), pipelines_table
    )


@pipeline.command("get")
@click.argument("pipeline_id")
@click.option(
    "--page-size",
    type=click.IntRange(min=0),
    default=0,
    help="Versions a page, newest first (default: every version).",
)
@click.option("--page-token", default="", help="The page after the one that gave this token.")
@_pass_settings
def pipeline_get(settings: _Settings, pipeline_id: str, page_size: int, page_token: str) -> None:
    """Show a pipeline and its versions."""
    found = settings.client().get_pipeline(pipeline_id, page_size=page_size, page_token=page_token)
    data = {
        "pipeline": proto_dict(found.raw),
        "pipeline_versions": [proto_dict(v.raw) for v in found.versions],
        "next_page_token": found.next_page_token,
    }
    settings.show(data, lambda: pipeline_view(found))
    if found.next_page_token and settings.output == "table":
        click.echo(f"more: --page-token {found.next_page_token}", err=True)


@pipeline.command("update")
@click.argument("pipeline_id")
@_spec_source
@click.option("--description", default="", help="Free text; also the pipeline's description.")
@click.option("--username", default="", help="Who adds the version.")
@_pass_settings
def pipeline_update(
    settings: _Settings,
    pipeline_id: str,
    file: Any,
    fs_name: str,
    yaml_path: str,
    description: str,
    username: str,
) -> None:
    """Add a version to a pipeline (the spec's name must stay the same)."""
    updated = settings.client().update_pipeline(
        pipeline_id,
        **_spec_or_path(file, fs_name, yaml_path),
        description=description,
        username=username,
    )
    version = updated.version.pipeline_version_id if updated.version else ""
    settings.show(
        {"pipeline_id": pipeline_id, "pipeline_version_id": version},
        lambda: f"added version {version} to pipeline {pipeline_id}",
    )


@pipeline.command("delete")
@click.argument("pipeline_id")
@_pass_settings
def pipeline_delete(settings: _Settings, pipeline_id: str) -> None:
    """Delete a pipeline and its versions (its runs and schedules are kept)."""
    settings.client().delete_pipeline(pipeline_id)
    settings.show({"pipeline_id": pipeline_id}, lambda: f"deleted pipeline {pipeline_id}")


@pipeline.command("version-get")
@click.argument("pipeline_id")
@click.argument("version_id")
@_pass_settings
def pipeline_version_get(settings: _Settings, pipeline_id: str, version_id: str) -> None:
    """Show one version of a pipeline, with its YAML."""
    version = settings.client().get_pipeline_version(pipeline_id, version_id)
    settings.show(proto_dict(version.raw), lambda: version_view(version))


@pipeline.command("version-delete")
@click.argument("pipeline_id")
@click.argument("version_id")
@_pass_settings
def pipeline_version_delete(settings: _Settings, pipeline_id: str, version_id: str) -> None:
    """Delete one version of a pipeline (not its last one)."""
    settings.client().delete_pipeline_version(pipeline_id, version_id)
    settings.show(
        {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
        lambda: f"deleted version {version_id} of pipeline {pipeline_id}",
    )


# --- run -------------------------------------------------------------------------------------


@click.group()
def run() -> None:
    """Start, inspect, stop, retry and watch pipeline runs."""


@run.command("create")
@click.option("-f", "--file", "file", type=click.File("r"), help="Run this YAML spec; - for stdin.")
@click.option("--pipeline-id", default="", help="Run this pipeline ...")
@click.option("--version", "version", default="", help="... at this version (default: latest).")
@click.option("--source-run", default="", help="Run the spec of this earlier run again.")
@click.option("--name", default="", help="Run name (default: the spec's name).")
@click.option("--description", default="", help="Free text.")
@click.option("--username", default="", help="Owner (server default: default).")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    callback=_parameters,
    help="Parameter override KEY=VALUE (KEY or STEP.KEY); repeatable.",
)
@click.option("--disable", multiple=True, help="A step not to run; repeatable.")
@click.option(
    "--failure-strategy",
    type=_choices(FailureStrategy),
    default=None,
    help="Override the spec's failure_options.strategy.",
)
@click.option("--docker-env", default="", help="Override the spec's docker_env.")
@click.option(
    "--fs-name", default="", help="File system the steps start in (without fs_options.main_fs)."
)
@click.option(
    "--yaml-path", default="", help="Run the spec at this path in --fs-name (read by the server)."
)
@click.option("--request-id", default="", help="Idempotency key: a retry returns the first run.")
@_quiet_option
@_pass_settings
def run_create(
    settings: _Settings,
    file: Any,
    pipeline_id: str,
    version: str,
    source_run: str,
    name: str,
    description: str,
    username: str,
    params: dict[str, str],
    disable: tuple[str, ...],
    failure_strategy: str | None,
    docker_env: str,
    fs_name: str,
    yaml_path: str,
    request_id: str,
) -> None:
    """Start a run from a YAML file (-f), its path in a file system (--yaml-path with
    --fs-name), a pipeline (--pipeline-id) or an earlier run (--source-run): exactly one."""
    if sum(1 for source in (file, yaml_path, pipeline_id, source_run) if source) != 1:
        raise click.UsageError(
            "give exactly one of -f, --yaml-path, --pipeline-id and --source-run"
        )
    if yaml_path and not fs_name:
        raise click.UsageError("--yaml-path needs --fs-name, the file system it is in")
    if version and not pipeline_id:
        raise click.UsageError("--version needs --pipeline-id")
    handle = settings.client().create_run(
        _read(file) if file else None,
        pipeline_id=pipeline_id,
        pipeline_version_id=version,
        source_run_id=source_run,
        name=name,
        description=description,
        username=username,
        parameters=params,
        disabled=disable,
        failure_strategy=failure_strategy,
        docker_env=docker_env,
        request_id=request_id,
        fs_name=fs_name,
        run_yaml_path=yaml_path,
    )
    created = handle.run
    assert created is not None
    settings.show(
        {"run_id": created.run_id, "status": created.status.value},
        lambda: f"created run {created.run_id} ({created.name})",
    )


@run.command("list")
@click.option("--username", default=None, help="Only this owner's runs.")
@click.option("--status", type=_choices(RunStatus), default=None, help="Only runs in this status.")
@click.option("--pipeline-id", default=None, help="Only runs of this pipeline.")
@click.option("--name", default=None, help="Only runs with this name.")
@click.option("--schedule-id", default=None, help="Only runs this schedule created.")
@click.option("--run-id", default=None, help="Only this run (PaddleFlow's runFilter).")
@_paging
@_pass_settings
def run_list(
    settings: _Settings,
    username: str | None,
    status: str | None,
    pipeline_id: str | None,
    name: str | None,
    schedule_id: str | None,
    run_id: str | None,
    filter_: str,
    page_size: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """List runs, newest first."""
    client = settings.client()
    filters: dict[str, Any] = {
        "username": username,
        "status": status,
        "pipeline_id": pipeline_id,
        "name": name,
        "schedule_id": schedule_id,
        "run_id": run_id,
    }
    pages = (
        functools.partial(client.list_runs, **filters),
        functools.partial(client.iter_runs, **filters),
    )
    _list(settings, "runs", pages, (filter_, page_size, page_token, all_pages), runs_table)


@run.command("get")
@click.argument("run_id")
@_pass_settings
def run_get(settings: _Settings, run_id: str) -> None:
    """Show a run and its DAG of steps."""
    found = settings.client().get_run(run_id)
    settings.show(proto_dict(found.raw), lambda: run_view(found))


@run.command("stop")
@click.argument("run_id")
@click.option("--force", is_flag=True, help="Kill the post step too.")
@_pass_settings
def run_stop(settings: _Settings, run_id: str, force: bool) -> None:
    """Stop a run: running steps are killed, pending ones skipped."""
    stopped = settings.client().stop_run(run_id, force=force)
    status = stopped.status.value
    settings.show({"run_id": run_id, "status": status}, lambda: f"stopped run {run_id} ({status})")


@run.command("retry")
@click.argument("run_id")
@_quiet_option
@_pass_settings
def run_retry(settings: _Settings, run_id: str) -> None:
    """Start a new run of a failed or terminated run, reusing its succeeded steps."""
    new = settings.client().retry_run(run_id)
    settings.show(
        {"run_id": new.run_id, "retried_from": run_id},
        lambda: f"retried run {run_id} as {new.run_id}",
    )


@run.command("delete")
@click.argument("run_id")
@click.option(
    "--check-cache/--no-check-cache",
    default=True,
    show_default=True,
    help="Refuse while runs that reused its outputs exist (PaddleFlow's checkCache).",
)
@_pass_settings
def run_delete(settings: _Settings, run_id: str, check_cache: bool) -> None:
    """Delete a finished run."""
    settings.client().delete_run(run_id, check_cache=check_cache)
    settings.show({"run_id": run_id}, lambda: f"deleted run {run_id}")


@run.command("watch")
@click.argument("run_id")
@click.option(
    "--timeout",
    type=click.IntRange(min=0),
    default=0,
    help="Stop watching after this many seconds (0: never).",
)
@_pass_settings
def run_watch(settings: _Settings, run_id: str, timeout: int) -> None:
    """Follow a run's DAG live until it finishes. Exit status 0 only if it succeeded.

    On a terminal: the DAG, level by level, redrawn as steps change. Piped: one line per
    change. With --output json / yaml: one watch event per change.
    """
    client = settings.client()
    view = RunWatchView(run_id, fetch=client.get_run)
    initial = client.get_run(run_id)  # fails at once for an unknown run
    with closing(client.watch_runs([run_id], timeout_seconds=timeout)) as events:
        changes = view.changes(initial, events)
        if settings.output != "table":
            for _, record in changes:
                click.echo(dump(record, settings.output) + ("\n---" * (settings.output == "yaml")))
        elif _cli_base._is_terminal():
            console = _cli_base._console()
            with Live(view.renderable(), console=console, refresh_per_second=8) as live:
                for _ in changes:
                    live.update(view.renderable())
        else:
            for line, _ in changes:
                click.echo(line)
    if not view.done:
        raise _Failure(f"watch ended before run {run_id} finished")
    if not view.succeeded:
        why = view.run.run_msg if view.run is not None else ""
        raise _Failure(f"run {run_id} {view.status}" + (f": {why}" if why else ""))


@run.command("logs")
@click.argument("run_id")
@click.option("--step", default="", help="Only this step (default: every started step).")
@click.option("--page-size", type=click.IntRange(min=0), default=0, help="Lines a page.")
@click.option("--page", "page_no", type=click.IntRange(min=0), default=0, help="Page number.")
@click.option(
    "--position",
    type=_choices(LogPosition),
    default=None,
    help="Which end page 1 starts at (default: end).",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="With --step: print the log as it is written, until the step finishes.",
)
@_pass_settings
def run_logs(
    settings: _Settings,
    run_id: str,
    step: str,
    page_size: int,
    page_no: int,
    position: str | None,
    follow: bool,
) -> None:
    """Print one page of the logs of a run's steps, or follow one step's log."""
    if follow:
        if not step:
            raise click.UsageError("--follow needs --step: one step's log is followed")
        _follow_log(settings, run_id, step)
        return
    logs = settings.client().get_run_log(
        run_id, step, page_size=page_size, page_no=page_no, position=position
    )
    if settings.output == "table":
        click.echo(log_text(logs, headers=not step), nl=False)
    else:
        click.echo(dump({"logs": [proto_dict(log.raw) for log in logs]}, settings.output))


@run.command("stats")
@click.argument("run_id")
@click.option("--step", default="", help="Only this step (default: every step).")
@click.option("--samples", is_flag=True, help="With the samples over time (machine output).")
@_pass_settings
def run_stats(settings: _Settings, run_id: str, step: str, samples: bool) -> None:
    """Show what the finished attempts of a run's steps cost: CPU seconds, peak memory,
    wall seconds and exit code, measured over each step's whole process tree."""
    entries = settings.client().get_step_statistics(run_id, step, with_samples=samples)
    settings.show(
        {"statistics": [proto_dict(entry.raw) for entry in entries]},
        lambda: statistics_table(entries),
    )


def _follow_log(settings: _Settings, run_id: str, step: str) -> None:
    """Prints each chunk as it arrives (--json: one chunk a line), until the step finishes."""
    with closing(settings.client().tail_run_log(run_id, step)) as chunks:
        for chunk in chunks:
            if settings.output == "table":
                click.echo(chunk.content, nl=False)
            else:
                click.echo(json.dumps(proto_dict(chunk.raw), ensure_ascii=False))
            if chunk.finished:
                return


# --- artifact, cache -------------------------------------------------------------------------


@click.group()
def artifact() -> None:
    """List the artifacts steps consumed and produced."""


@artifact.command("list")
@click.option("--run-id", default=None, help="Only this run's.")
@click.option("--step", default=None, help="Only this step's.")
@click.option("--type", "type_", type=_choices(ArtifactType), default=None, help="Input or output.")
@click.option("--path", default=None, help="Only paths starting with this.")
@click.option("--username", default=None, help="Only this owner's.")
@click.option("--name", default=None, help="Only artifacts with this name.")
@_paging
@_pass_settings
def artifact_list(
    settings: _Settings,
    run_id: str | None,
    step: str | None,
    type_: str | None,
    path: str | None,
    username: str | None,
    name: str | None,
    filter_: str,
    page_size: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """List artifacts, newest first."""
    client = settings.client()
    filters: dict[str, Any] = {
        "run_id": run_id,
        "step_name": step,
        "type": type_,
        "path": path,
        "username": username,
        "name": name,
    }
    pages = (
        functools.partial(client.list_artifacts, **filters),
        functools.partial(client.iter_artifacts, **filters),
    )
    _list(
        settings, "artifacts", pages, (filter_, page_size, page_token, all_pages), artifacts_table
    )


@click.group()
def cache() -> None:
    """List, inspect and drop step cache entries."""


@cache.command("list")
@click.option("--username", default=None, help="Only this owner's.")
@click.option("--run-id", default=None, help="Only entries this run made.")
@click.option("--step", default=None, help="Only this step's.")
@click.option("--pipeline-id", default=None, help="Only runs of this pipeline.")
@_paging
@_pass_settings
def cache_list(
    settings: _Settings,
    username: str | None,
    run_id: str | None,
    step: str | None,
    pipeline_id: str | None,
    filter_: str,
    page_size: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """List cache entries, newest first."""
    client = settings.client()
    filters: dict[str, Any] = {
        "username": username,
        "run_id": run_id,
        "step_name": step,
        "pipeline_id": pipeline_id,
    }
    pages = (
        functools.partial(client.list_cache_entries, **filters),
        functools.partial(client.iter_cache_entries, **filters),
    )
    _list(
        settings, "cache_entries", pages, (filter_, page_size, page_token, all_pages), cache_table
    )


@cache.command("get")
@click.argument("cache_id")
@_pass_settings
def cache_get(settings: _Settings, cache_id: str) -> None:
    """Show one cache entry."""
    entry = settings.client().get_cache_entry(cache_id)
    settings.show(proto_dict(entry.raw), lambda: cache_view(entry))


@cache.command("delete")
@click.argument("cache_id")
@_pass_settings
def cache_delete(settings: _Settings, cache_id: str) -> None:
    """Drop a cache entry: later runs no longer reuse it."""
    settings.client().delete_cache_entry(cache_id)
    settings.show({"cache_id": cache_id}, lambda: f"deleted cache entry {cache_id}")


# --- fs ------------------------------------------------------------------------------------


@click.group("fs")
def fs() -> None:
    """Register the file systems your runs name in fs_options (or --fs-name)."""


@fs.command("create")
@click.argument("name")
@click.argument("url")
@click.option(
    "--property",
    "-p",
    "properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="A setting; for s3://: endpoint, region, access_key, secret_key. Repeatable.",
)
@_pass_settings
def fs_create(settings: _Settings, name: str, url: str, properties: Sequence[str]) -> None:
    """Register file system NAME at URL: local:///abs/path (operators) or s3://bucket/prefix."""
    pairs = {}
    for item in properties:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--property")
        pairs[key] = value
    created = settings.client().create_file_system(name, url, pairs)
    settings.show(proto_dict(created.raw), lambda: file_system_view(created))


@fs.command("list")
@_pass_settings
def fs_list(settings: _Settings) -> None:
    """List your domain's file systems."""
    found = settings.client().list_file_systems()
    settings.show(
        {"file_systems": [proto_dict(f.raw) for f in found]}, lambda: file_systems_table(found)
    )


@fs.command("show")
@click.argument("name")
@_pass_settings
def fs_show(settings: _Settings, name: str) -> None:
    """Show one file system (secrets masked)."""
    found = settings.client().get_file_system(name)
    settings.show(proto_dict(found.raw), lambda: file_system_view(found))


@fs.command("delete")
@click.argument("name")
@_pass_settings
def fs_delete(settings: _Settings, name: str) -> None:
    """Unregister a file system; its content stays where it is."""
    settings.client().delete_file_system(name)
    settings.show({"name": name}, lambda: f"deleted file system {name}")


# --- schedule --------------------------------------------------------------------------------


@click.group()
def schedule() -> None:
    """Run pipelines on a cron schedule."""


@schedule.command("create")
@click.argument("name")
@click.option("--pipeline-id", required=True, help="The pipeline to run.")
@click.option("--version", "version", default="", help="Its version (default: the latest).")
@click.option(
    "--crontab", required=True, help='Cron expression: "*/5 * * * *", or six fields with seconds.'
)
@click.option(
    "--start-time", metavar="TIME", callback=_time, help="No tick before (ISO 8601; default: now)."
)
@click.option(
    "--end-time", metavar="TIME", callback=_time, help="No tick after (ISO 8601; default: never)."
)
@click.option(
    "--concurrency", type=click.IntRange(min=0), default=0, help="Active runs at once (default 1)."
)
@click.option(
    "--policy",
    type=_choices(ConcurrencyPolicy),
    default=None,
    help="What a tick does at the limit (default: suspend).",
)
@click.option(
    "--expire-interval",
    type=click.IntRange(min=0),
    default=0,
    help="Catchup skips ticks older than this many seconds (0: none).",
)
@click.option("--catchup", is_flag=True, help="Run ticks missed while the server was down.")
@click.option("--description", default="", help="Free text.")
@click.option("--username", default="", help="Owner.")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    callback=_parameters,
    help="Parameter override KEY=VALUE for every run; repeatable.",
)
@click.option("--request-id", default="", help="Idempotency key.")
@_quiet_option
@_pass_settings
def schedule_create(
    settings: _Settings,
    name: str,
    pipeline_id: str,
    version: str,
    crontab: str,
    start_time: datetime | None,
    end_time: datetime | None,
    concurrency: int,
    policy: str | None,
    expire_interval: int,
    catchup: bool,
    description: str,
    username: str,
    params: dict[str, str],
    request_id: str,
) -> None:
    """Create a schedule NAME running a pipeline at every cron tick."""
    created = settings.client().create_schedule(
        name,
        pipeline_id,
        crontab,
        pipeline_version_id=version,
        description=description,
        start_time=start_time,
        end_time=end_time,
        concurrency=concurrency,
        concurrency_policy=policy,
        expire_interval=expire_interval,
        catchup=catchup,
        username=username,
        parameters=params,
        request_id=request_id,
    )
    settings.show(
        {"schedule_id": created.schedule_id, "status": created.status.value},
        lambda: f"created schedule {created.schedule_id} ({created.name})",
    )


@schedule.command("list")
@click.option("--username", default=None, help="Only this owner's.")
@click.option("--pipeline-id", default=None, help="Only schedules of this pipeline.")
@click.option("--version", default=None, help="Only schedules of this pipeline version.")
@click.option("--name", default=None, help="Only schedules with this name.")
@click.option("--status", type=_choices(ScheduleStatus), default=None, help="Only this status.")
@click.option(
    "--schedule-id", default=None, help="Only this schedule (PaddleFlow's scheduleFilter)."
)
@_paging
@_pass_settings
def schedule_list(
    settings: _Settings,
    username: str | None,
    pipeline_id: str | None,
    version: str | None,
    name: str | None,
    status: str | None,
    schedule_id: str | None,
    filter_: str,
    page_size: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """List schedules, oldest first."""
    client = settings.client()
    filters: dict[str, Any] = {
        "username": username,
        "pipeline_id": pipeline_id,
        "pipeline_version_id": version,
        "name": name,
        "status": status,
        "schedule_id": schedule_id,
    }
    pages = (
        functools.partial(client.list_schedules, **filters),
        functools.partial(client.iter_schedules, **filters),
    )
    _list(
        settings, "schedules", pages, (filter_, page_size, page_token, all_pages), schedules_table
    )


@schedule.command("get")
@click.argument("schedule_id")
@_pass_settings
def schedule_get(settings: _Settings, schedule_id: str) -> None:
    """Show a schedule and its recent runs."""
    found = settings.client().get_schedule(schedule_id)
    data = {"schedule": proto_dict(found.raw), "runs": [proto_dict(r.raw) for r in found.runs]}
    settings.show(data, lambda: schedule_view(found))


@schedule.command("stop")
@click.argument("schedule_id")
@_pass_settings
def schedule_stop(settings: _Settings, schedule_id: str) -> None:
    """Stop a schedule for good (its active runs go on)."""
    stopped = settings.client().stop_schedule(schedule_id)
    status = stopped.status.value
    settings.show(
        {"schedule_id": schedule_id, "status": status},
        lambda: f"stopped schedule {schedule_id} ({status})",
    )


@schedule.command("delete")
@click.argument("schedule_id")
@_pass_settings
def schedule_delete(settings: _Settings, schedule_id: str) -> None:
    """Delete a schedule (its runs are kept)."""
    settings.client().delete_schedule(schedule_id)
    settings.show({"schedule_id": schedule_id}, lambda: f"deleted schedule {schedule_id}")


#: The groups ``cli.main`` adds, in the order ``dagwire --help`` lists them.
WORKFLOW_GROUPS = (pipeline, run, artifact, cache, fs, schedule)
