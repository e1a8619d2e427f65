"""The Kubernetes Jobs executor is described, not built: choosing it stops the server at
start with the reason, never silently runs tasks elsewhere."""

from __future__ import annotations

import pytest

from dagwire.server.config import ServerConfig, parse_args


def test_choosing_kubernetes_without_a_cluster_says_none_is_reachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(SystemExit) as exited:
        parse_args(["--executor", "kubernetes"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "--executor kubernetes is not available" in error
    assert "KUBERNETES_SERVICE_HOST is unset" in error


def test_choosing_kubernetes_inside_a_cluster_says_the_executor_is_not_built(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    with pytest.raises(SystemExit):
        parse_args(["--executor", "kubernetes"])
    assert "no executor for Kubernetes Jobs is built in" in capsys.readouterr().err


def test_a_config_built_in_code_refuses_kubernetes_too() -> None:
    with pytest.raises(ValueError, match="not available"):
        ServerConfig(executor="kubernetes")
