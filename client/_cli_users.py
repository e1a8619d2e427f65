"""The UserService commands of ``dagwire``: ``login`` and ``user``. Each parses its
options, calls the sync SDK and prints a table, or the wire message with ``--output
json|yaml``. Passwords are prompted for (hidden), or read from stdin with
``--password-stdin``; never taken as an argument, where ``ps`` and shell history see them.

    dagwire login alice                    # saves the token for this --target
    dagwire user add alice                 # root or an operator; domain: alice
    dagwire user add bob --domain lab
    dagwire user list
    dagwire user password alice            # a user its own; the old tokens stop working
    dagwire user delete bob

``dagwire login`` keeps the token in a file (DAGWIRE_TOKEN_FILE, default
``~/.config/dagwire/tokens.json``, mode 0600), one per server address; every command
sends the one saved for its ``--target`` unless ``--token`` (or DAGWIRE_TOKEN) says
otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import click
from rich.table import Table

from ._cli_base import _pass_settings, _Settings
from ._render import proto_dict
from ._user_models import User


def token_file() -> Path:
    """Where ``dagwire login`` keeps tokens."""
    named = os.environ.get("DAGWIRE_TOKEN_FILE")
    if named:
        return Path(named)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "dagwire" / "tokens.json"


def saved_token(target: str) -> str | None:
    """The token ``dagwire login`` saved for ``target``; None when there is none (or the
    file is unreadable: then the call goes without, and the server says why)."""
    try:
        saved = json.loads(token_file().read_text())
    except (OSError, ValueError):
        return None
    token = saved.get(target) if isinstance(saved, dict) else None
    return token if isinstance(token, str) and token else None


def save_token(target: str, token: str) -> Path:
    """Keep ``token`` for ``target``, readable by this user only."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    if not isinstance(saved, dict):
        saved = {}
    saved[target] = token
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved, out, indent=2, sort_keys=True)
    os.replace(aside, path)
    return path


def _password(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


_password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin (one line)."
)


def users_table(users: Iterable[User]) -> Table:
    table = Table("USER", "DOMAIN", "CREATED")
    for user in users:
        created = user.create_time.isoformat(timespec="seconds") if user.create_time else ""
        table.add_row(user.name, user.domain or "(operator)", created)
    return table


@click.command()
@click.argument("username")
@_password_stdin
@_pass_settings
def login(settings: _Settings, username: str, password_stdin: bool) -> None:
    """Log in as USERNAME and save the token for this --target."""
    password = _password(password_stdin, confirm=False)
    with closing(settings.client()) as client:
        session = client.login(username, password)
    path = save_token(settings.target, session.token)
    expires = session.expire_time.isoformat(timespec="seconds") if session.expire_time else "never"
    settings.show(
        {"user": proto_dict(session.user.raw), "token_file": str(path), "expires": expires},
        lambda: f"logged in as {session.user.name} (token saved in {path}; expires: {expires})",
    )


@click.group()
def user() -> None:
    """Users and passwords (root and operators manage users)."""


@user.command("add")
@click.argument("username")
@click.option("--domain", default="", help="The user's domain (default: its name, lower-cased).")
@_password_stdin
@_pass_settings
def user_add(settings: _Settings, username: str, domain: str, password_stdin: bool) -> None:
    """Add a user."""
    password = _password(password_stdin, confirm=True)
    with closing(settings.client()) as client:
        added = client.add_user(username, password, domain=domain)
    settings.show({"user": proto_dict(added.raw)}, lambda: users_table([added]))


@user.command("delete")
@click.argument("username")
@_pass_settings
def user_delete(settings: _Settings, username: str) -> None:
    """Delete a user; its tokens stop working at once."""
    with closing(settings.client()) as client:
        client.delete_user(username)
    settings.show({"username": username}, lambda: f"user {username} deleted")


@user.command("list")
@click.option("--page-size", default=0, help="Users per page (default 50).")
@click.option("--page-token", default="", help="next_page_token of the previous page.")
@_pass_settings
def user_list(settings: _Settings, page_size: int, page_token: str) -> None:
    """List users by name."""
    with closing(settings.client()) as client:
        page = client.list_users(page_size=page_size, page_token=page_token)
    data = {"users": [proto_dict(u.raw) for u in page], "next_page_token": page.next_page_token}
    settings.show(data, lambda: users_table(page))
    if page.next_page_token and settings.output == "table":
        click.echo(f"more: --page-token {page.next_page_token}", err=True)


@user.command("password")
@click.argument("username")
@_password_stdin
@_pass_settings
def user_password(settings: _Settings, username: str, password_stdin: bool) -> None:
    """Change a user's password; the tokens issued before stop working."""
    password = _password(password_stdin, confirm=True)
    with closing(settings.client()) as client:
        client.update_password(username, password)
    settings.show({"username": username}, lambda: f"password of {username} changed")


USER_COMMANDS = (login, user)
__all__ = ["USER_COMMANDS", "saved_token"]
