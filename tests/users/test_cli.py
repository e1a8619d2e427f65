"""`dagwire login` and `dagwire user ...`: thin over UserService, the token saved where
every later command reads it (per --target, mode 0600), and the Python client beneath."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner, Result

from dagwire.client import DagwireClient
from dagwire.client.cli import main
from tests.conftest import ServerThread
from tests.users.conftest import OPS_TOKEN, ROOT_PASSWORD


@pytest.fixture
def token_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli" / "tokens.json"
    monkeypatch.setenv("DAGWIRE_TOKEN_FILE", str(path))
    monkeypatch.delenv("DAGWIRE_TOKEN", raising=False)
    return path


@pytest.fixture
def cli(dagwire_server: ServerThread, token_path: Path) -> Iterator[Any]:
    def run(*args: str, input: str | None = None, global_args: Sequence[str] = ()) -> Result:
        argv = ["--target", dagwire_server.address, *global_args, *args]
        return CliRunner().invoke(main, argv, input=input, catch_exceptions=False)

    with structlog.testing.capture_logs():
        yield run


def test_login_saves_a_token_that_later_commands_send(cli: Any, token_path: Path) -> None:
    logged = cli("login", "root", "--password-stdin", input=ROOT_PASSWORD + "\n")
    assert logged.exit_code == 0, logged.output
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    assert ROOT_PASSWORD not in token_path.read_text()
    added = cli("user", "add", "nina", "--password-stdin", input="ninapass1\n")
    assert added.exit_code == 0, added.output
    listed = cli("--json", "user", "list")
    assert [u["name"] for u in json.loads(listed.stdout)["users"]] == ["nina", "root"]


def test_a_user_logged_in_cannot_add_users(cli: Any) -> None:
    cli(
        "user",
        "add",
        "omar",
        "--password-stdin",
        input="omarpass1\n",
        global_args=["--token", OPS_TOKEN],
    )
    cli("login", "omar", "--password-stdin", input="omarpass1\n")
    refused = cli("user", "add", "pete", "--password-stdin", input="petepass1\n")
    assert refused.exit_code == 1
    assert "PERMISSION_DENIED" in refused.stderr


def test_changing_the_password_ends_the_saved_tokens(cli: Any) -> None:
    cli(
        "user",
        "add",
        "quin",
        "--password-stdin",
        input="quinpass1\n",
        global_args=["--token", OPS_TOKEN],
    )
    cli("login", "quin", "--password-stdin", input="quinpass1\n")
    changed = cli("user", "password", "quin", "--password-stdin", input="quinpass2\n")
    assert changed.exit_code == 0, changed.output
    after = cli("user", "password", "quin", "--password-stdin", input="quinpass3\n")
    assert after.exit_code == 1
    assert "UNAUTHENTICATED" in after.stderr


def test_the_python_client_logs_in_and_manages_users(dagwire_server: ServerThread) -> None:
    with DagwireClient(target=dagwire_server.address) as anonymous:
        session = anonymous.login("root", ROOT_PASSWORD)
    assert session.user.name == "root" and session.expire_time is None
    with DagwireClient(target=dagwire_server.address, token=session.token) as root:
        added = root.add_user("Rosa", "rosapass1")
        assert (added.name, added.domain) == ("Rosa", "rosa")
        page = root.list_users(page_size=1)
        assert [u.name for u in page] == ["root"] and not page.is_last  # by name, no case
        rest = root.list_users(page_token=page.next_page_token)
        assert [u.name for u in rest] == ["Rosa"] and rest.is_last
        root.delete_user("Rosa")
        assert [u.name for u in root.list_users()] == ["root"]
