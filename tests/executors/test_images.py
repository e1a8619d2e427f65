"""AppImageRegistry: built-in images, the user's YAML file, and lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.server.executors.base import UnknownAppImageError
from dagwire.server.executors.images import AppImage, AppImageRegistry

BUILTIN_NAMES = [
    "dagwire-fail",
    "dagwire-progress",
    "dagwire-secure-sum",
    "dagwire-sleep",
    "secretflow-image",
]


def write_images_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "images.yaml"
    path.write_text(text)
    return path


def test_the_secure_sum_demo_asks_for_the_network_its_parties_talk_over() -> None:
    registry = AppImageRegistry.load(None)
    assert registry.get("dagwire-secure-sum").network
    assert not registry.get("dagwire-sleep").network


def test_builtin_images_are_available_without_a_file() -> None:
    registry = AppImageRegistry.load(None)

    assert registry.names() == BUILTIN_NAMES
    assert registry.get("dagwire-sleep").command[1:] == (
        "-m",
        "dagwire.server.executors.demo_apps",
        "sleep",
    )


def test_user_images_are_merged_with_the_builtins(tmp_path: Path) -> None:
    path = write_images_file(
        tmp_path,
        """
images:
  my-image:
    command: ["python3", "-c", "print('hi')"]
    env: {KEY: value}
""",
    )

    registry = AppImageRegistry.load(path)

    assert registry.names() == sorted([*BUILTIN_NAMES, "my-image"])
    assert registry.get("my-image") == AppImage(
        name="my-image", command=("python3", "-c", "print('hi')"), env={"KEY": "value"}
    )


def test_a_user_image_replaces_the_builtin_of_the_same_name(tmp_path: Path) -> None:
    path = write_images_file(tmp_path, "images:\n  secretflow-image:\n    command: [my-sf]\n")

    registry = AppImageRegistry.load(path)

    assert registry.get("secretflow-image").command == ("my-sf",)


def test_an_empty_file_adds_no_images(tmp_path: Path) -> None:
    assert AppImageRegistry.load(write_images_file(tmp_path, "")).names() == BUILTIN_NAMES


def test_unknown_image_error_names_the_image_and_the_known_ones() -> None:
    registry = AppImageRegistry.load(None)

    with pytest.raises(UnknownAppImageError) as raised:
        registry.get("nope")

    assert (
        str(raised.value) == f"unknown app image 'nope'; known images: {', '.join(BUILTIN_NAMES)}"
    )
    assert "nope" not in registry
    assert "dagwire-fail" in registry


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("images: [", "not valid YAML"),
        ("- a list\n", "expected a mapping with an 'images' key"),
        ("imagez: {}\n", "unexpected top-level key(s) ['imagez']"),
        ("images: [a, b]\n", "'images' must map image names"),
        ("images:\n  x: [python3]\n", "image 'x': expected a mapping"),
        ("images:\n  x: {}\n", "image 'x': 'command' must be a non-empty list of strings"),
        ("images:\n  x: {command: []}\n", "image 'x': 'command' must be a non-empty list"),
        ("images:\n  x: {command: python3}\n", "image 'x': 'command' must be a non-empty list"),
        ("images:\n  x: {command: [a, 1]}\n", "image 'x': 'command' must be a non-empty list"),
        ("images:\n  x: {command: [a], cmd: [b]}\n", "image 'x': unexpected key(s) ['cmd']"),
        ("images:\n  x: {command: [a], env: [A]}\n", "image 'x': 'env' must map variable names"),
        ("images:\n  x: {command: [a], env: {A: 1}}\n", "image 'x': 'env' value of 'A' must"),
        ("images:\n  x: {command: [a], env: {A=B: c}}\n", "image 'x': 'env' has an invalid"),
        ("images:\n  1: {command: [a]}\n", "image names must be non-empty strings, got 1"),
    ],
)
def test_a_malformed_file_is_rejected_with_a_precise_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_images_file(tmp_path, text)

    with pytest.raises(ValueError) as raised:
        AppImageRegistry.load(path)

    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_an_images_env_cannot_be_changed_after_construction() -> None:
    env = {"A": "1"}
    image = AppImage(name="x", command=("true",), env=env)
    env["A"] = "2"

    assert image.env == {"A": "1"}
    with pytest.raises(TypeError):
        image.env["A"] = "3"  # type: ignore[index]
