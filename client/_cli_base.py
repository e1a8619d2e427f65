"""What every ``dagwire`` command shares: the global settings (and the SDK client they
build), the output switch (``--output json|yaml|table``, ``--json``), and how SDK errors
become a message on stderr with exit status 1."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console, RenderableType

from ._base import DEFAULT_TARGET, TLS
from ._errors import DagwireError, RPCError
from ._render import dump
from ._sync import DagwireClient

OUTPUTS = ("table", "json", "yaml")


class _Failure(click.ClickException):
    """A DagwireError on its way out: message on stderr, exit status 1."""

    exit_code = 1


def error_message(exc: DagwireError, target: str = DEFAULT_TARGET) -> str:
    """The error as the CLI prints it: an INVALID_ARGUMENT's field violations one a line;
    no server at ``target`` one line saying how to start one, not grpc's connect errors."""
    if isinstance(exc, RPCError) and exc.status.name == "UNAVAILABLE":  # no grpc in the CLI
        return (
            f"no dagwire server answers at {target}: start one with `make run`, "
            "or give its address with --target (env DAGWIRE_TARGET)"
        )
    violations = exc.field_violations if isinstance(exc, RPCError) else ()
    if not violations:
        return str(exc)
    listed = "; ".join(str(v) for v in violations)
    assert isinstance(exc, RPCError)
    header = str(exc) if exc.details != listed else f"{exc.status.name}: the request is invalid"
    return header + "".join(f"\n  {v}" for v in violations)


class _Root(click.Group):
    """Turns SDK errors raised by any command into a clean message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DagwireError as exc:
            settings = ctx.find_object(_Settings)
            target = settings.target if settings is not None else DEFAULT_TARGET
            raise _Failure(error_message(exc, target)) from exc


@dataclass
class _Settings:
    """The global options; builds the SDK client on first use."""

    target: str
    token: str | None
    output: str
    tls: TLS
    # -q: print only the id a create made, for `ID=$(dagwire ... create -q)`.
    quiet: bool = False
    _client: DagwireClient | None = field(default=None, repr=False)

    def client(self) -> DagwireClient:
        if self._client is None:
            self._client = DagwireClient(target=self.target, token=self.token, tls=self.tls)
            click.get_current_context().call_on_close(self._client.close)
        return self._client

    def show(self, data: Any, table: Callable[[], RenderableType | str]) -> None:
        """Prints ``data`` as JSON / YAML, or the human rendering ``table()`` builds; with
        -q only the first value of ``data`` (a create's id)."""
        if self.quiet and isinstance(data, dict) and data:
            click.echo(next(iter(data.values())))
        elif self.output == "table":
            _console().print(table())
        else:
            click.echo(dump(data, self.output))


def _set_output(ctx: click.Context, param: click.Parameter, value: str | bool | None) -> None:
    """`--output` / `--json` given after the command override the global choice."""
    settings = ctx.find_object(_Settings)
    if value and settings is not None:
        settings.output = "json" if value is True else str(value)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    settings = ctx.find_object(_Settings)
    if value and settings is not None:
        settings.quiet = True


def _quiet_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """-q/--quiet on a create command: print only the new id."""
    return click.option(
        "--quiet",
        "-q",
        is_flag=True,
        expose_value=False,
        callback=_set_quiet,
        help="Print only the new id (for ID=$(dagwire ... -q)).",
    )(function)


def _is_terminal() -> bool:
    """Whether stdout is a terminal: watches then draw a live view instead of lines."""
    return sys.stdout.isatty()


def _console() -> Console:
    """Stdout as rich sees it; not cut to 80 columns when it is a pipe or a file."""
    return Console(soft_wrap=True, width=None if _is_terminal() else 200)


def _pass_settings(function: Callable[..., Any]) -> Callable[..., Any]:
    """Passes the global settings, and accepts --output/-o and --json here as well."""
    function = click.make_pass_decorator(_Settings)(function)
    function = click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_output,
        help="Shorthand for --output json.",
    )(function)
    return click.option(
        "--output",
        "-o",
        type=click.Choice(OUTPUTS),
        expose_value=False,
        callback=_set_output,
        help="Output format.",
    )(function)
