"""The ``dagwire`` command-line tool: a thin user of the sync SDK.

    dagwire serve --listen 127.0.0.1:8083
    dagwire job create -f job.json          # Kuscia's JSON body, or the same in YAML
    dagwire job watch job-alice-bob-001
    dagwire --json job get job-alice-bob-001
    dagwire pipeline create -f diamond.yaml
    dagwire run create --pipeline-id ppl-1a2b3c4d --param epochs=3
    dagwire run watch run-5e6f7a8b          # the DAG with live per-step status
    dagwire queue create demo-q --cpu 2     # a queue of 2 cores; steps name it in
                                            # PF_JOB_QUEUE_NAME (also: flavour, cluster)
    dagwire login alice                     # saves a login token for --target
    dagwire user add bob                    # root or an operator (also: list, delete,
                                            # password)
    eval "$(dagwire completion bash)"       # tab completion (bash, zsh, fish)

Exit status: 0 on success, 1 when the server or the connection reports an error (the
message goes to stderr), 2 for usage errors (including an unreadable job file).
"""

from __future__ import annotations

import importlib
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import click
from click.shell_completion import get_completion_class
from rich.live import Live

from ._base import DEFAULT_TARGET, TLS, TLSConfig
from ._cli_base import (
    OUTPUTS,
    _console,
    _Failure,
    _pass_settings,
    _quiet_option,
    _Root,
    _Settings,
)
from ._cli_queues import QUEUE_GROUPS
from ._cli_steps import step
from ._cli_users import USER_COMMANDS, saved_token
from ._cli_workflow import WORKFLOW_GROUPS
from ._models import JobState, job_request_from_text
from ._render import WatchView, dump, job_view, proto_dict, statuses_table

SHELLS = ("bash", "zsh", "fish")


def _tls(tls: bool, ca: Path | None, cert: Path | None, key: Path | None) -> TLS:
    if ca or cert or key:
        return TLSConfig.from_files(ca=ca, cert=cert, key=key)
    return tls


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--target",
    envvar="DAGWIRE_TARGET",
    default=DEFAULT_TARGET,
    show_default=True,
    help="Server address host:port (env DAGWIRE_TARGET).",
)
@click.option(
    "--token",
    envvar="DAGWIRE_TOKEN",
    default=None,
    help="Token sent as the `token` metadata (env DAGWIRE_TOKEN); default: the one "
    "`dagwire login` saved for --target.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --output json.")
@click.option("--tls", is_flag=True, help="Use TLS with the system's root certificates.")
@click.option(
    "--ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="DAGWIRE_CA",
    help="CA certificate (PEM) to verify the server; implies TLS.",
)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="DAGWIRE_CERT",
    help="Client certificate (PEM) for mTLS.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="DAGWIRE_KEY",
    help="Client private key (PEM) for mTLS.",
)
@click.version_option(package_name="dagwire")
@click.pass_context
def main(
    ctx: click.Context,
    target: str,
    token: str | None,
    output: str,
    as_json: bool,
    tls: bool,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
) -> None:
    """dagwire: run and watch multi-party DAG jobs (Kuscia-compatible JobService) and
    pipelines (WorkflowService: pipelines, runs, cache, artifacts, schedules)."""
    output = "json" if as_json else output
    token = token or saved_token(target)
    ctx.obj = _Settings(target, token, output, _tls(tls, ca, cert, key))


@main.command(
    add_help_option=False,  # --help goes to the server
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Run the dagwire server; ARGS go to it unchanged (try `dagwire serve --help`)."""
    try:  # imported here: the server is heavy and only this command needs it
        server = importlib.import_module("dagwire.server.__main__")
    except ImportError as exc:
        raise click.ClickException(f"the dagwire server is not available: {exc}") from exc
    server.main(list(args))


@main.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL, to be evaluated by it:

    \b
        eval "$(dagwire completion bash)"    # in ~/.bashrc
        eval "$(dagwire completion zsh)"     # in ~/.zshrc
        dagwire completion fish > ~/.config/fish/completions/dagwire.fish
    """
    # click's own completion: the script calls back `dagwire` with _DAGWIRE_COMPLETE set.
    complete = get_completion_class(shell)
    assert complete is not None  # every name in SHELLS has a class
    click.echo(complete(main, {}, "dagwire", "_DAGWIRE_COMPLETE").source())


@main.group()
def job() -> None:
    """Create, inspect, control and watch jobs."""


@job.command()
@click.option(
    "-f",
    "--file",
    "file",
    type=click.File("r"),
    required=True,
    help="Job document: Kuscia's CreateJob JSON body, or the same in YAML; - for stdin.",
)
@_quiet_option
@_pass_settings
def create(settings: _Settings, file: Any) -> None:
    """Create a job from a JSON or YAML file."""
    try:
        request = job_request_from_text(file.read())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'-f'") from exc
    handle = settings.client().create_job(request)
    settings.show({"job_id": handle.job_id}, lambda: f"created job {handle.job_id}")


@job.command()
@click.argument("job_id")
@_pass_settings
def get(settings: _Settings, job_id: str) -> None:
    """Show a job's spec and status."""
    result = settings.client().get_job(job_id)
    settings.show(proto_dict(result.raw), lambda: job_view(result))


@job.command("list-status")
@click.argument("job_ids", nargs=-1, required=True)
@_pass_settings
def list_status(settings: _Settings, job_ids: tuple[str, ...]) -> None:
    """Show the status of several jobs."""
    statuses = settings.client().batch_status(job_ids)
    settings.show([proto_dict(s.raw) for s in statuses], lambda: statuses_table(statuses))


@job.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(
        [s.value for s in JobState if s is not JobState.UNKNOWN], case_sensitive=False
    ),
    help="Only jobs in this state; repeat for several.",
)
@click.option("--page-size", type=click.IntRange(min=0), default=0, help="Jobs per page (100).")
@click.option("--page-token", default="", help="next_page_token of the previous page.")
@click.option("--id-contains", default="", help="Only jobs whose id contains this text.")
@click.option("--all", "all_pages", is_flag=True, help="Fetch every page.")
@_pass_settings
def list_jobs(
    settings: _Settings,
    states: tuple[str, ...],
    page_size: int,
    page_token: str,
    id_contains: str,
    all_pages: bool,
) -> None:
    """List the jobs you may see, oldest first, a page at a time."""
    client = settings.client()
    if all_pages:
        found = client.iter_jobs(states=states, page_size=page_size, id_contains=id_contains)
        jobs, token = list(found), ""
    else:
        page = client.list_jobs(
            states=states, page_size=page_size, page_token=page_token, id_contains=id_contains
        )
        jobs, token = list(page), page.next_page_token
    data = {"jobs": [proto_dict(j.raw) for j in jobs], "next_page_token": token}
    settings.show(data, lambda: statuses_table(jobs))
    if token and settings.output == "table":
        click.echo(f"more: --page-token {token}", err=True)


def _control_command(action: str, past: str, summary: str) -> None:
    """Registers ``job <action> JOB_ID [--reason]``, calling ``client.<action>_job``."""

    @job.command(action, help=summary)
    @click.argument("job_id")
    @click.option("--reason", default="", help="Why; recorded with the job.")
    @_pass_settings
    def command(settings: _Settings, job_id: str, reason: str) -> None:
        getattr(settings.client(), f"{action}_job")(job_id, reason)
        settings.show({"job_id": job_id}, lambda: f"{past} job {job_id}")


for _action, _past, _summary in (
    ("stop", "stopped", "Stop a job: its running tasks are terminated and it fails."),
    ("suspend", "suspended", "Suspend a Pending, Running or AwaitingApproval job."),
    ("restart", "restarted", "Restart the unfinished tasks of a Suspended or Failed job."),
    ("cancel", "cancelled", "Cancel a job for good."),
):
    _control_command(_action, _past, _summary)


@job.command()
@click.argument("job_id")
@_pass_settings
def delete(settings: _Settings, job_id: str) -> None:
    """Delete a job (stopping whatever runs)."""
    settings.client().delete_job(job_id)
    settings.show({"job_id": job_id}, lambda: f"deleted job {job_id}")


@job.command()
@click.argument("job_id")
@click.option("--accept/--reject", required=True, help="The decision.")
@click.option("--reason", default="", help="Why.")
@click.option("--domain", default="", help="The deciding party (default: the caller's).")
@_pass_settings
def approve(settings: _Settings, job_id: str, accept: bool, reason: str, domain: str) -> None:
    """Accept or reject a job awaiting approval."""
    settings.client().approve_job(job_id, accept, reason=reason, domain_id=domain)
    verdict = "accepted" if accept else "rejected"
    settings.show({"job_id": job_id, "accepted": accept}, lambda: f"{verdict} job {job_id}")


@job.command()
@click.argument("job_ids", nargs=-1)
@click.option(
    "--timeout",
    type=click.IntRange(min=0),
    default=0,
    help="Stop watching after this many seconds (0: never).",
)
@_pass_settings
def watch(settings: _Settings, job_ids: tuple[str, ...], timeout: int) -> None:
    """Follow jobs live (all jobs when none is named) until the named ones finish."""
    client, view = settings.client(), WatchView(job_ids)
    initial = client.batch_status(job_ids) if job_ids else []  # fails fast on unknown ids
    with closing(client.watch_jobs(job_ids, timeout_seconds=timeout)) as events:
        changes = view.changes(initial, events)
        if settings.output != "table":
            for _, record in changes:
                click.echo(dump(record, settings.output) + ("\n---" * (settings.output == "yaml")))
        elif sys.stdout.isatty():
            with Live(view.table(), console=_console(), refresh_per_second=8) as live:
                for _ in changes:
                    live.update(view.table())
        else:
            for line, _ in changes:
                click.echo(line)
    if view.pending:
        raise _Failure(f"watch ended before {', '.join(view.pending)} finished")


for _group in (*WORKFLOW_GROUPS, step, *QUEUE_GROUPS, *USER_COMMANDS):
    main.add_command(_group)
