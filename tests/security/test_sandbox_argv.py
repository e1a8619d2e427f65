"""The sandbox's argv (a pure function): what is mounted in which order, network only
when asked and allowed, limits, and the command last and untouched."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dagwire.server.executors.base import Mount
from dagwire.server.executors.sandbox import (
    HostEntry,
    Limits,
    SandboxPolicy,
    SandboxSpec,
    opened_folders,
    sandbox_argv,
    sandbox_env,
)

DATA = Path("/srv/dagwire/data")
WORK = DATA / "tasks/j/t/alice/0/work"
POLICY = SandboxPolicy(
    bwrap="/usr/bin/bwrap",
    prlimit="/usr/bin/prlimit",
    hidden_dirs=(DATA,),
    hidden_files=(Path("/etc/dagwire/tokens.yaml"),),
    shared_writable=(Path("/srv"),),
)
SPEC = SandboxSpec(
    workdir=WORK,
    readonly=(WORK.parent,),
    writable=(DATA / "artifacts/run/step",),
    limits=Limits(processes=10, memory_bytes=2048, cpu_seconds=5, file_bytes=4096),
)
COMMAND = ["/bin/sh", "-c", "echo $HOME; rm -rf /"]


def position(argv: list[str], *words: str) -> int:
    """Where the option `words` (an option and its arguments) first appears."""
    for index in range(len(argv)):
        if argv[index : index + len(words)] == list(words):
            return index
    raise AssertionError(f"{words} not in {argv}")


def test_the_command_comes_last_untouched_after_the_limits() -> None:
    argv = sandbox_argv(POLICY, SPEC, COMMAND)
    assert argv[0] == "/usr/bin/bwrap"
    tail = argv[argv.index("--") + 1 :]
    assert tail == [
        "/usr/bin/prlimit",
        "--nproc=10",
        "--as=2048",
        "--cpu=5",
        "--fsize=4096",
        "--",
        *COMMAND,
    ]


def test_every_namespace_is_unshared_and_no_capability_kept() -> None:
    argv = sandbox_argv(POLICY, SPEC, COMMAND)
    assert "--unshare-all" in argv and "--share-net" not in argv
    assert position(argv, "--cap-drop", "ALL") < argv.index("--")


def test_the_host_is_read_only_and_tmp_private() -> None:
    argv = sandbox_argv(POLICY, SPEC, COMMAND)
    assert position(argv, "--ro-bind", "/", "/") < position(argv, "--tmpfs", "/tmp")


def test_the_data_dir_is_hidden_even_below_a_shared_path() -> None:
    argv = sandbox_argv(POLICY, SPEC, COMMAND)
    assert position(argv, "--bind-try", "/srv", "/srv") < position(argv, "--tmpfs", str(DATA))
    assert position(argv, "--ro-bind-try", "/dev/null", "/etc/dagwire/tokens.yaml") > 0


def test_the_own_directories_are_mounted_over_the_hidden_data_dir() -> None:
    argv = sandbox_argv(POLICY, SPEC, COMMAND)
    hidden = position(argv, "--tmpfs", str(DATA))
    assert position(argv, "--ro-bind-try", str(WORK.parent), str(WORK.parent)) > hidden
    work = position(argv, "--bind", str(WORK), str(WORK))
    assert work > position(argv, "--ro-bind-try", str(WORK.parent), str(WORK.parent))
    output = str(DATA / "artifacts/run/step")
    assert position(argv, "--bind-try", output, output) > hidden
    assert position(argv, "--chdir", str(WORK)) > 0


@pytest.mark.parametrize(
    ("asks", "allowed", "shared"),
    [(False, False, False), (True, False, False), (False, True, False), (True, True, True)],
)
def test_the_network_is_shared_only_when_asked_and_allowed(
    asks: bool, allowed: bool, shared: bool
) -> None:
    policy = SandboxPolicy(allow_network=allowed)
    spec = SandboxSpec(workdir=WORK, network=asks)
    assert ("--share-net" in sandbox_argv(policy, spec, COMMAND)) is shared


def test_a_local_party_outlives_its_launcher_a_ray_party_does_not() -> None:
    assert "--die-with-parent" not in sandbox_argv(POLICY, SPEC, COMMAND)
    ray = SandboxSpec(workdir=WORK, die_with_parent=True)
    assert "--die-with-parent" in sandbox_argv(POLICY, ray, COMMAND)


def test_a_partys_resources_set_its_memory_and_scale_its_cpu_time() -> None:
    limits = Limits(cpu_seconds=100).for_resources({"cpu": "500m", "memory": "1Gi"})
    assert (limits.cpu_seconds, limits.memory_bytes) == (50, 1 << 30)
    with pytest.raises(ValueError, match="not a quantity"):
        Limits().for_resources({"memory": "lots"})


def test_the_servers_environment_stays_outside() -> None:
    env = sandbox_env({"PATH": "/bin", "DATABASE_PASSWORD": "x", "LANG": "C"}, WORK)
    assert env == {"PATH": "/bin", "LANG": "C", "HOME": str(WORK), "TMPDIR": "/tmp"}


def test_folders_leading_to_a_bind_below_a_tmpfs_are_made_passable() -> None:
    argv = sandbox_argv(POLICY, SPEC, COMMAND)
    for parent in ("tasks", "tasks/j", "tasks/j/t", "tasks/j/t/alice"):
        made = position(argv, "--perms", "0755", "--dir", str(DATA / parent))
        assert position(argv, "--tmpfs", str(DATA)) < made
    # Below the read-only attempt folder the host's folders show: nothing is made there.
    made = [Path(argv[i + 1]) for i in range(len(argv) - 1) if argv[i] == "--dir"]
    assert not [path for path in made if path.is_relative_to(WORK.parent)]


def test_a_sandbox_user_gets_a_real_uid_switch_without_a_user_namespace() -> None:
    policy = SandboxPolicy(user=(65534, 65534), setpriv="/usr/bin/setpriv")
    argv = sandbox_argv(policy, SandboxSpec(workdir=WORK), COMMAND)
    assert "--unshare-all" not in argv and "--unshare-user" not in argv
    assert {"--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"} <= set(argv)
    tail = argv[argv.index("--") + 1 :]
    assert tail[:4] == ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_the_servers_runtime_under_tmp_stays_readable_behind_the_private_tmp() -> None:
    # A checkout and virtualenv under /tmp (a CI clone) run the built-in app images: the
    # private /tmp must not hide them, and they are bound read-only, not writable.
    venv = Path("/tmp/clone/.venv")
    policy = SandboxPolicy(bwrap="/usr/bin/bwrap", prlimit="/usr/bin/prlimit", runtime=(venv,))
    argv = sandbox_argv(policy, SPEC, COMMAND)
    bound = position(argv, "--ro-bind-try", str(venv), str(venv))
    assert position(argv, "--tmpfs", "/tmp") < bound
    assert ["--bind", str(venv), str(venv)] not in [argv[i : i + 3] for i in range(len(argv))]


def test_the_data_dir_stays_hidden_inside_a_runtime_folder() -> None:
    checkout = DATA.parent
    policy = SandboxPolicy(
        bwrap="/usr/bin/bwrap", prlimit="/usr/bin/prlimit", hidden_dirs=(DATA,), runtime=(checkout,)
    )
    argv = sandbox_argv(policy, SPEC, COMMAND)
    assert position(argv, "--ro-bind-try", str(checkout), str(checkout)) < position(
        argv, "--tmpfs", str(DATA)
    )


def test_a_mount_path_is_bound_last_and_a_recreated_root_stays_read_only() -> None:
    # PaddleFlow's mount_path: /pf does not exist, so bwrap's root holds the host's
    # entries (read-only binds, the same symlinks) to make it, and is remounted read-only.
    fs = DATA.parent / "fs/alice/ppl"
    opened = {Path("/"): (HostEntry("srv"), HostEntry("bin", "usr/bin"), HostEntry("etc"))}
    spec = replace(SPEC, mounts=(Mount(str(fs), "/pf/tools", read_only=True),), opened=opened)
    argv = sandbox_argv(POLICY, spec, COMMAND)
    assert ["--ro-bind", "/", "/"] not in [argv[i : i + 3] for i in range(len(argv))]
    assert position(argv, "--symlink", "usr/bin", "/bin") < position(argv, "--dev", "/dev")
    hidden = position(argv, "--tmpfs", str(DATA))
    assert position(argv, "--ro-bind-try", "/srv", "/srv") < hidden, "the data dir stays hidden"
    bound = position(argv, "--ro-bind", str(fs), "/pf/tools")
    assert bound > hidden and bound > position(argv, "--bind", str(WORK), str(WORK))
    assert position(argv, "--remount-ro", "/") > bound


@pytest.mark.parametrize("target", ["/", "/proc/self", "/dev/x", "/a/../b", "rel"])
def test_a_target_that_cannot_be_a_mount_point_is_refused(target: str) -> None:
    with pytest.raises(ValueError, match="cannot mount"):
        opened_folders([Path(target)])


def test_only_missing_targets_outside_private_folders_open_a_host_folder() -> None:
    assert opened_folders([Path("/tmp/x/y"), Path("/usr")], private=(DATA,)) == {}
    opened = opened_folders([Path("/usr/no-such-h17-folder/deep")])
    assert list(opened) == [Path("/usr")]
    assert HostEntry("bin") in opened[Path("/usr")]
