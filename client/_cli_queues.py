"""The QueueService commands of ``dagwire``: ``queue``, ``flavour`` and ``cluster``. Each
parses its options, calls the sync SDK and prints a table, or the wire message with
``--output json|yaml``.

    dagwire queue create demo-q --cpu 2 --mem 4Gi --scalar nvidia.com/gpu=1
    dagwire queue grant demo-q --domain alice --user bob
    dagwire queue list                     # the server's own `default` first
    dagwire queue close demo-q             # what waits is refused; then: queue delete
    dagwire flavour create small --cpu 500m --mem 1Gi
    dagwire cluster create ray-lab --address 10.0.0.5:6379 --cpu 64 --mem 256Gi
    dagwire cluster resources
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

import click
from rich.table import Table

from ._cli_base import _pass_settings, _Settings
from ._queue_models import Cluster, ClusterResource, Flavour, Grant, Queue, Resources
from ._render import proto_dict


def _amount(resources: Resources) -> str:
    parts = [
        f"cpu {resources.cpu}" if resources.cpu else "",
        f"mem {resources.mem}" if resources.mem else "",
    ]
    parts += [f"{name} {amount}" for name, amount in sorted(resources.scalar.items())]
    return ", ".join(part for part in parts if part) or "-"


def _scalars(values: Iterable[str]) -> dict[str, str]:
    found = {}
    for value in values:
        name, sign, amount = value.partition("=")
        if not sign or not name:
            raise click.BadParameter(f"{value!r} is not NAME=AMOUNT", param_hint="--scalar")
        found[name] = amount
    return found


def _resources_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        (
            click.option("--cpu", default="", help="CPU cores, e.g. 2 or 500m."),
            click.option("--mem", default="", help="Memory, e.g. 4Gi."),
            click.option(
                "--scalar", multiple=True, metavar="NAME=AMOUNT", help="e.g. nvidia.com/gpu=1."
            ),
        )
    ):
        function = option(function)
    return function


def _resources(cpu: str, mem: str, scalar: Iterable[str]) -> Resources:
    return Resources(cpu=cpu, mem=mem, scalar=_scalars(scalar))


def queues_table(queues: Iterable[Queue]) -> Table:
    table = Table("QUEUE", "STATUS", "MAX", "USED", "RUNNING", "WAITING", "GRANTS")
    for q in queues:
        grants = ", ".join(f"{g.kind}:{g.name}" for g in q.grants)
        table.add_row(
            q.name,
            q.status,
            _amount(q.max),
            _amount(q.used),
            str(q.running),
            str(q.waiting),
            grants,
        )
    return table


def _show_queue(settings: _Settings, queue: Queue) -> None:
    settings.show({"queue": proto_dict(queue.raw)}, lambda: queues_table([queue]))


@click.group()
def queue() -> None:
    """Queues with quotas: what the launches naming one (PF_JOB_QUEUE_NAME) hold at once."""


@queue.command("create")
@click.argument("name")
@_resources_options
@click.option("--min-cpu", default="", help="Guaranteed CPU (recorded).")
@click.option("--min-mem", default="", help="Guaranteed memory (recorded).")
@_pass_settings
def queue_create(
    settings: _Settings,
    name: str,
    cpu: str,
    mem: str,
    scalar: tuple[str, ...],
    min_cpu: str,
    min_mem: str,
) -> None:
    """Create an open queue whose launches hold at most --cpu/--mem/--scalar at once."""
    minimum = Resources(cpu=min_cpu, mem=min_mem)
    with closing(settings.client()) as client:
        _show_queue(settings, client.create_queue(name, _resources(cpu, mem, scalar), min=minimum))


@queue.command("update")
@click.argument("name")
@_resources_options
@click.option("--status", type=click.Choice(("open", "closed")), help="Open or close it.")
@_pass_settings
def queue_update(
    settings: _Settings, name: str, cpu: str, mem: str, scalar: tuple[str, ...], status: str | None
) -> None:
    """Change a queue's max (when any of --cpu/--mem/--scalar is given) or status."""
    maximum = _resources(cpu, mem, scalar) if cpu or mem or scalar else None
    with closing(settings.client()) as client:
        _show_queue(settings, client.update_queue(name, max=maximum, status=status))


@queue.command("get")
@click.argument("name")
@_pass_settings
def queue_get(settings: _Settings, name: str) -> None:
    """Show a queue with what runs and waits in it."""
    with closing(settings.client()) as client:
        _show_queue(settings, client.get_queue(name))


@queue.command("list")
@_pass_settings
def queue_list(settings: _Settings) -> None:
    """List the queues you may use."""
    with closing(settings.client()) as client:
        queues = client.list_queues()
    settings.show({"queues": [proto_dict(q.raw) for q in queues]}, lambda: queues_table(queues))


@queue.command("close")
@click.argument("name")
@_pass_settings
def queue_close(settings: _Settings, name: str) -> None:
    """Close a queue: what runs finishes, what waits is refused."""
    with closing(settings.client()) as client:
        _show_queue(settings, client.close_queue(name))


@queue.command("delete")
@click.argument("name")
@_pass_settings
def queue_delete(settings: _Settings, name: str) -> None:
    """Delete a queue nothing runs or waits in."""
    with closing(settings.client()) as client:
        client.delete_queue(name)
    settings.show({"name": name}, lambda: f"queue {name} deleted")


def _grants(users: Iterable[str], domains: Iterable[str]) -> list[Grant]:
    grants = [Grant("user", u) for u in users] + [Grant("domain", d) for d in domains]
    if not grants:
        raise click.UsageError("name at least one --user or --domain")
    return grants


@queue.command("grant")
@click.argument("name")
@click.option("--user", "users", multiple=True, help="A user who may use the queue.")
@click.option("--domain", "domains", multiple=True, help="A domain whose callers may.")
@_pass_settings
def queue_grant(
    settings: _Settings, name: str, users: tuple[str, ...], domains: tuple[str, ...]
) -> None:
    """Let users or domains use a queue."""
    with closing(settings.client()) as client:
        _show_queue(settings, client.grant_queue(name, _grants(users, domains)))


@queue.command("revoke")
@click.argument("name")
@click.option("--user", "users", multiple=True, help="A user to take the grant from.")
@click.option("--domain", "domains", multiple=True, help="A domain to take it from.")
@_pass_settings
def queue_revoke(
    settings: _Settings, name: str, users: tuple[str, ...], domains: tuple[str, ...]
) -> None:
    """Take grants of a queue back."""
    with closing(settings.client()) as client:
        _show_queue(settings, client.revoke_queue(name, _grants(users, domains)))


def flavours_table(flavours: Iterable[Flavour]) -> Table:
    table = Table("FLAVOUR", "RESOURCES")
    for f in flavours:
        table.add_row(f.name, _amount(f.resources))
    return table


@click.group()
def flavour() -> None:
    """Flavours: named sizes a step picks with PF_JOB_FLAVOUR."""


@flavour.command("create")
@click.argument("name")
@_resources_options
@_pass_settings
def flavour_create(
    settings: _Settings, name: str, cpu: str, mem: str, scalar: tuple[str, ...]
) -> None:
    """Create a flavour of this size."""
    with closing(settings.client()) as client:
        created = client.create_flavour(name, _resources(cpu, mem, scalar))
    settings.show({"flavour": proto_dict(created.raw)}, lambda: flavours_table([created]))


@flavour.command("get")
@click.argument("name")
@_pass_settings
def flavour_get(settings: _Settings, name: str) -> None:
    """Show a flavour."""
    with closing(settings.client()) as client:
        found = client.get_flavour(name)
    settings.show({"flavour": proto_dict(found.raw)}, lambda: flavours_table([found]))


@flavour.command("list")
@_pass_settings
def flavour_list(settings: _Settings) -> None:
    """List the flavours."""
    with closing(settings.client()) as client:
        found = client.list_flavours()
    settings.show({"flavours": [proto_dict(f.raw) for f in found]}, lambda: flavours_table(found))


@flavour.command("delete")
@click.argument("name")
@_pass_settings
def flavour_delete(settings: _Settings, name: str) -> None:
    """Delete a flavour."""
    with closing(settings.client()) as client:
        client.delete_flavour(name)
    settings.show({"name": name}, lambda: f"flavour {name} deleted")


def clusters_table(clusters: Iterable[Cluster]) -> Table:
    table = Table("CLUSTER", "KIND", "ADDRESS", "RESOURCES", "USED")
    for c in clusters:
        table.add_row(c.name, c.kind, c.address or "-", _amount(c.resources), _amount(c.used))
    return table


def resources_table(entries: Iterable[ClusterResource]) -> Table:
    table = Table("CLUSTER", "TOTAL", "USED", "FREE")
    for e in entries:
        table.add_row(e.cluster_name, _amount(e.total), _amount(e.used), _amount(e.free))
    return table


@click.group()
def cluster() -> None:
    """Clusters: this server's machine (`local`) and Ray clusters by address."""


@cluster.command("create")
@click.argument("name")
@click.option("--address", required=True, help="host:port of the Ray cluster's head.")
@_resources_options
@click.option("--description", default="", help="Free text.")
@_pass_settings
def cluster_create(
    settings: _Settings,
    name: str,
    address: str,
    cpu: str,
    mem: str,
    scalar: tuple[str, ...],
    description: str,
) -> None:
    """Register a Ray cluster."""
    with closing(settings.client()) as client:
        made = client.create_cluster(
            name, address, _resources(cpu, mem, scalar), description=description
        )
    settings.show({"cluster": proto_dict(made.raw)}, lambda: clusters_table([made]))


@cluster.command("list")
@_pass_settings
def cluster_list(settings: _Settings) -> None:
    """List the clusters, `local` first."""
    with closing(settings.client()) as client:
        found = client.list_clusters()
    settings.show({"clusters": [proto_dict(c.raw) for c in found]}, lambda: clusters_table(found))


@cluster.command("delete")
@click.argument("name")
@_pass_settings
def cluster_delete(settings: _Settings, name: str) -> None:
    """Delete a registered cluster."""
    with closing(settings.client()) as client:
        client.delete_cluster(name)
    settings.show({"name": name}, lambda: f"cluster {name} deleted")


@cluster.command("resources")
@_pass_settings
def cluster_resources(settings: _Settings) -> None:
    """Each cluster's resources: total, in use and free (list_cluster_resource)."""
    with closing(settings.client()) as client:
        found = client.list_cluster_resources()
    settings.show(
        {"cluster_resources": [proto_dict(e.raw) for e in found]}, lambda: resources_table(found)
    )


QUEUE_GROUPS = (queue, flavour, cluster)
__all__ = ["QUEUE_GROUPS"]
