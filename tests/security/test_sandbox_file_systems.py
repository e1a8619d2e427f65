"""A run's file systems are its owner domain's: `fs_options.main_fs: {name: ppl}` of
alice is <fs dir>/alice/ppl, her step starts there, and inside its sandbox no other
domain's (or the operator's) file system is visible."""

from __future__ import annotations

import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.security.sandboxing import ALICE, run_to_end, server_config, token_file, workflows

__all__ = ["server_config", "token_file", "workflows"]  # fixtures

pytestmark = pytest.mark.usefixtures("dagwire_server")

STEP = """
name: fs-probe
fs_options: {main_fs: {name: ppl}}
entry_points:
  probe: {command: %s}
"""


async def test_a_tenants_main_fs_is_its_domains_and_others_stay_invisible(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    root = dagwire_server.config.file_systems_dir
    secret = root / "_operator" / "ppl" / "secret"
    secret.parent.mkdir(parents=True)
    secret.write_text("operator-secret\n")
    command = f'"pwd > here; cat {secret} > stolen 2>&1; true"'
    run = await run_to_end(workflows, STEP % command, ALICE)
    assert run.status == enums.RUN_STATUS_SUCCEEDED, run.run_msg
    mine = root / "alice" / "ppl"
    assert (mine / "here").read_text().strip() == str(mine)
    assert "operator-secret" not in (mine / "stolen").read_text()
    assert not (root / "_operator" / "ppl" / "here").exists()
