"""The app-image registry: which command runs for a Kuscia appImageRef.

dagwire runs party processes locally or as Ray tasks, so an "image" is just a command
line, extra environment and the executor that runs it. A few demo images are built in;
users add or override images in a YAML file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from dagwire.server.executors.base import UnknownAppImageError

_IMAGE_KEYS = frozenset({"command", "env", "executor", "network"})
# Where an image runs: "local" processes, or tasks on the Ray cluster (--ray-address).
EXECUTORS = ("local", "ray")


@dataclass(frozen=True, slots=True)
class AppImage:
    """A runnable image: the command to start, the environment to add, which executor
    runs it (one of EXECUTORS), and whether its sandbox asks for the network (granted
    only where the operator allows it: --sandbox-network)."""

    name: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    executor: str = "local"
    network: bool = False

    def __post_init__(self) -> None:
        # Frozen should mean frozen: callers must not be able to edit a shared image's env.
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))


def _demo_image(name: str, verb: str, *, network: bool = False) -> AppImage:
    command = (sys.executable, "-m", "dagwire.server.executors.demo_apps", verb)
    return AppImage(name=name, command=command, network=network)


BUILTIN_IMAGES: Mapping[str, AppImage] = MappingProxyType(
    {
        image.name: image
        for image in (
            _demo_image("dagwire-sleep", "sleep"),
            _demo_image("dagwire-fail", "fail"),
            _demo_image("dagwire-progress", "progress"),
            # Kuscia's documented example jobs reference this image; a harmless stand-in
            # lets them run as written.
            _demo_image("secretflow-image", "secretflow"),
            # Parties that really talk: a two-or-more-party sum over the endpoints of
            # the cluster definition (executors/secure_sum.py). It needs the network,
            # which its sandbox gets where the operator allows it (--sandbox-network).
            _demo_image("dagwire-secure-sum", "secure-sum", network=True),
        )
    }
)


class AppImageRegistry:
    """Looks app images up by name."""

    def __init__(self, images: Mapping[str, AppImage]) -> None:
        self._images = dict(images)

    @classmethod
    def load(cls, path: Path | None) -> AppImageRegistry:
        """The built-in images, plus (overridden by) the images of the YAML file at path."""
        images = dict(BUILTIN_IMAGES)
        if path is not None:
            images.update(_parse_images_file(path))
        return cls(images)

    def get(self, name: str) -> AppImage:
        try:
            return self._images[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise UnknownAppImageError(
                f"unknown app image {name!r}; known images: {known}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._images)

    def names_run_by(self, executor: str) -> frozenset[str]:
        """The images that ask for this executor (`executor:` in the images file)."""
        return frozenset(name for name, image in self._images.items() if image.executor == executor)

    def __contains__(self, name: object) -> bool:
        return name in self._images


def _parse_images_file(path: Path) -> dict[str, AppImage]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping with an 'images' key at the top level")
    unexpected = sorted(str(key) for key in document if key != "images")
    if unexpected:
        raise ValueError(f"{path}: unexpected top-level key(s) {unexpected}; only 'images'")
    entries = document.get("images") or {}
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: 'images' must map image names to their definitions")
    return {name: _parse_image(path, name, spec) for name, spec in entries.items()}


def _parse_image(path: Path, name: object, spec: object) -> AppImage:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path}: image names must be non-empty strings, got {name!r}")
    where = f"{path}: image {name!r}"
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping with 'command' and optional 'env'")
    unexpected = sorted(str(key) for key in spec if key not in _IMAGE_KEYS)
    if unexpected:
        raise ValueError(
            f"{where}: unexpected key(s) {unexpected}; allowed: command, env, executor, network"
        )
    executor = spec.get("executor", "local")
    if executor not in EXECUTORS:
        raise ValueError(f"{where}: 'executor' must be one of {list(EXECUTORS)}, got {executor!r}")
    network = spec.get("network", False)
    if not isinstance(network, bool):
        raise ValueError(f"{where}: 'network' must be true or false, got {network!r}")
    return AppImage(
        name=name,
        command=_parse_command(where, spec.get("command")),
        env=_parse_env(where, spec.get("env")),
        executor=executor,
        network=network,
    )


def _parse_command(where: str, command: object) -> tuple[str, ...]:
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(arg, str) for arg in command)
        or not command[0]
    ):
        raise ValueError(f"{where}: 'command' must be a non-empty list of strings")
    return tuple(command)


def _parse_env(where: str, env: object) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ValueError(f"{where}: 'env' must map variable names to string values")
    for key, value in env.items():
        if not isinstance(key, str) or not key or "=" in key:
            raise ValueError(f"{where}: 'env' has an invalid variable name {key!r}")
        if not isinstance(value, str):
            # YAML turns 1, true or null into non-strings; coercing them silently would
            # hand the app "True" or "None", so ask for quotes instead.
            raise ValueError(
                f"{where}: 'env' value of {key!r} must be a string (quote it), got {value!r}"
            )
    return dict(env)
