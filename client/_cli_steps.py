"""The StepExecutionService commands of ``dagwire``: ``step list|get|retry|stop|continue|
watch``. Each parses its options, calls the sync SDK and prints a table, or the wire
message with ``--output json|yaml``.

    dagwire step list run-5e6f7a8b --status failed
    dagwire step get run-5e6f7a8b train          # or: dagwire step get --uuid <uuid>
    dagwire step retry run-5e6f7a8b train --param mode=fixed
    dagwire step continue run-5e6f7a8b publish --data target=production
    dagwire step watch run-5e6f7a8b               # every status change, until the run ends
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

import click
from rich.table import Table

from ._cli_base import _pass_settings, _Settings
from ._cli_workflow import _choices, _parameters
from ._render import dump, proto_dict
from ._step_models import StepAction, StepExecution, StepExecutionStatus


def steps_table(steps: Iterable[StepExecution]) -> Table:
    table = Table("STEP", "STATUS", "TYPE", "ATTEMPT", "SECONDS", "UUID", "ERROR")
    for step in steps:
        table.add_row(
            step.step_name,
            step.status.value,
            step.type,
            str(step.attempt),
            str(step.duration),
            step.uuid,
            step.error_message,
        )
    return table


def step_view(step: StepExecution) -> str:
    lines = [
        f"step {step.step_name} of run {step.run_id} ({step.uuid})",
        f"  status {step.status.value}, attempt {step.attempt}, {step.duration}s, {step.type}",
    ]
    if step.error_message:
        lines.append(f"  error {step.error_code}: {step.error_message}")
    lines += [f"  {io.type} input {io.name} = {io.value}" for io in step.inputs]
    lines += [f"  event {event}" for event in step.events]
    return "\n".join(lines)


@click.group()
def step() -> None:
    """Steps of runs (ModelArts' step executions): list, get, retry, stop, continue, watch."""


@step.command("list")
@click.argument("run_id")
@click.option("--status", type=_choices(StepExecutionStatus), help="Only steps in this status.")
@_pass_settings
def step_list(settings: _Settings, run_id: str, status: str | None) -> None:
    """List the steps of a run, in spec order."""
    steps: list[StepExecution] = []
    token = ""
    while True:
        page = settings.client().list_steps(run_id, status=status, page_token=token)
        steps += page.items
        token = page.next_page_token
        if not token:
            break
    settings.show(
        {"step_executions": [proto_dict(s.raw) for s in steps]}, lambda: steps_table(steps)
    )


_STEP_ARGUMENTS: tuple[Callable[[Any], Any], ...] = (
    click.argument("run_id", required=False, default=""),
    click.argument("step_name", required=False, default=""),
    click.option("--uuid", default="", help="The step's uuid (then RUN_ID may be left out)."),
)


def _named_step(function: Callable[..., Any]) -> Callable[..., Any]:
    for decorate in reversed(_STEP_ARGUMENTS):
        function = decorate(function)
    return function


@step.command("get")
@_named_step
@_pass_settings
def step_get(settings: _Settings, run_id: str, step_name: str, uuid: str) -> None:
    """Show one step, by RUN_ID and STEP_NAME or by --uuid."""
    found = settings.client().get_step(run_id, step_name, uuid=uuid)
    settings.show(proto_dict(found.raw), lambda: step_view(found))


def _action_command(action: StepAction, summary: str, takes_values: bool) -> None:
    def command(
        settings: _Settings,
        run_id: str,
        step_name: str,
        uuid: str,
        param: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> None:
        acted = settings.client().act_on_step(
            action, run_id, step_name, uuid=uuid, parameters=param, data=data
        )
        settings.show(
            proto_dict(acted.raw),
            lambda: f"{action.value}: step {acted.step_name} is {acted.status.value}",
        )

    command.__doc__ = summary
    decorated: Callable[..., Any] = _pass_settings(command)
    if takes_values:
        decorated = click.option(
            "--data",
            multiple=True,
            callback=_parameters,
            help="Data requirement NAME=VALUE (repeatable).",
        )(decorated)
        decorated = click.option(
            "--param",
            multiple=True,
            callback=_parameters,
            help="Parameter override NAME=VALUE (repeatable).",
        )(decorated)
    step.command(action.value)(_named_step(decorated))


_action_command(StepAction.RETRY, "Run a failed, stopped or held step again.", True)
_action_command(StepAction.STOP, "Stop a running step.", False)
_action_command(StepAction.CONTINUE, "Release a held step.", True)


@step.command("watch")
@click.argument("run_id")
@click.option("--step", "step_names", multiple=True, help="Only this step (repeatable).")
@click.option("--timeout", type=int, default=0, help="Stop after this many seconds (0: never).")
@_pass_settings
def step_watch(settings: _Settings, run_id: str, step_names: tuple[str, ...], timeout: int) -> None:
    """Print every status change of the run's steps, the history first; ends with the run."""
    changes = settings.client().watch_steps(run_id, step_names, timeout_seconds=timeout)
    with closing(changes):
        for change in changes:
            if settings.output == "table":
                when = change.time.isoformat() if change.time else ""
                words = f" ({change.message})" if change.message else ""
                click.echo(f"{when} {change.step.step_name} {change.status.value}{words}")
            else:
                click.echo(dump(proto_dict(change.raw), settings.output))
