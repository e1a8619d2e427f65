"""`dagwire queue|flavour|cluster ...` against a real server: what each prints, its JSON,
and its exit status."""

from __future__ import annotations

import json

from tests.cli.conftest import Run


def test_queue_commands_create_grant_show_close_and_delete(cli: Run) -> None:
    created = cli("queue", "create", "demo-q", "--cpu", "2", "--mem", "4Gi", "--scalar", "gpu=1")
    assert created.exit_code == 0, created.stderr
    assert "demo-q" in created.stdout and "cpu 2, mem 4Gi, gpu 1" in created.stdout

    granted = cli("--json", "queue", "grant", "demo-q", "--domain", "alice", "--user", "bob")
    assert granted.exit_code == 0, granted.stderr
    grants = json.loads(granted.stdout)["queue"]["grants"]
    assert {(g["kind"], g["name"]) for g in grants} == {
        ("GRANT_KIND_DOMAIN", "alice"),
        ("GRANT_KIND_USER", "bob"),
    }
    assert cli("queue", "grant", "demo-q").exit_code == 2  # names nobody

    listed = cli("--json", "queue", "list")
    assert [q["name"] for q in json.loads(listed.stdout)["queues"]] == ["default", "demo-q"]
    updated = cli("--json", "queue", "update", "demo-q", "--cpu", "3")
    assert json.loads(updated.stdout)["queue"]["max_resources"]["cpu"] == "3"

    closed = cli("--json", "queue", "close", "demo-q")
    assert json.loads(closed.stdout)["queue"]["status"] == "QUEUE_STATUS_CLOSED"
    assert cli("queue", "delete", "demo-q").stdout.strip() == "queue demo-q deleted"
    missing = cli("queue", "get", "demo-q")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    bad = cli("queue", "create", "bad-q", "--cpu", "lots")
    assert bad.exit_code == 1 and "not a quantity" in bad.stderr


def test_flavour_and_cluster_commands(cli: Run) -> None:
    assert cli("flavour", "create", "small", "--cpu", "500m", "--mem", "1Gi").exit_code == 0
    shown = cli("flavour", "list")
    assert "small" in shown.stdout and "cpu 500m, mem 1Gi" in shown.stdout
    assert cli("flavour", "delete", "small").exit_code == 0
    assert cli("flavour", "get", "small").exit_code == 1

    made = cli("cluster", "create", "ray-lab", "--address", "10.0.0.5:6379", "--cpu", "64")
    assert made.exit_code == 0, made.stderr
    listed = json.loads(cli("--json", "cluster", "list").stdout)["clusters"]
    assert [(c["name"], c["kind"]) for c in listed] == [
        ("local", "CLUSTER_KIND_LOCAL"),
        ("ray-lab", "CLUSTER_KIND_RAY"),
    ]
    resources = cli("cluster", "resources")
    assert resources.exit_code == 0 and "ray-lab" in resources.stdout
    assert cli("cluster", "delete", "local").exit_code == 1
    assert cli("cluster", "delete", "ray-lab").exit_code == 0
