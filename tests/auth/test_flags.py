"""The security flags, their DAGWIRE_* environment defaults, and bad combinations."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.server.config import ServerConfig, parse_args


@pytest.fixture(autouse=True)
def _no_security_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN_FILE", "TLS_CERT", "TLS_KEY", "TLS_CLIENT_CA", "AUTH_HEALTH"):
        monkeypatch.delenv(f"DAGWIRE_{name}", raising=False)


def test_security_is_off_by_default() -> None:
    config = parse_args([])
    assert (config.token_file, config.tls_cert, config.tls_client_ca) == (None, None, None)
    assert not config.auth_health


def test_flags_set_the_security_settings() -> None:
    config = parse_args(
        [
            "--token-file=t.yaml",
            "--tls-cert=s.pem",
            "--tls-key=s.key",
            "--tls-client-ca=ca.pem",
            "--auth-health",
        ]
    )
    assert config.token_file == Path("t.yaml")
    assert (config.tls_cert, config.tls_key, config.tls_client_ca) == (
        Path("s.pem"),
        Path("s.key"),
        Path("ca.pem"),
    )
    assert config.auth_health


def test_environment_variables_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWIRE_TOKEN_FILE", "env-tokens.yaml")
    monkeypatch.setenv("DAGWIRE_TLS_CERT", "env.pem")
    monkeypatch.setenv("DAGWIRE_TLS_KEY", "env.key")
    monkeypatch.setenv("DAGWIRE_AUTH_HEALTH", "true")
    config = parse_args([])
    assert config.token_file == Path("env-tokens.yaml")
    assert (config.tls_cert, config.tls_key) == (Path("env.pem"), Path("env.key"))
    assert config.auth_health


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--tls-cert=s.pem"], "--tls-cert and --tls-key", id="cert-only"),
        pytest.param(["--tls-key=s.key"], "--tls-cert and --tls-key", id="key-only"),
        pytest.param(["--tls-client-ca=ca.pem"], "--tls-client-ca needs", id="ca-without-tls"),
    ],
)
def test_incomplete_tls_flags_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def test_a_config_built_in_code_refuses_a_certificate_without_its_key() -> None:
    with pytest.raises(ValueError, match="--tls-cert and --tls-key"):
        ServerConfig(tls_cert=Path("s.pem"))
