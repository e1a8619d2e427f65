"""`--http-listen` and `--metrics-listen` (and their environment variables)."""

from __future__ import annotations

import pytest

from dagwire.server.config import parse_args


def test_the_gateway_is_off_by_default() -> None:
    config = parse_args([])
    assert (config.http_listen, config.metrics_listen) == (None, None)


def test_http_listen_turns_the_gateway_on() -> None:
    assert parse_args(["--http-listen", "127.0.0.1:8082"]).http_listen == "127.0.0.1:8082"


def test_the_environment_turns_the_gateway_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWIRE_HTTP_LISTEN", "0.0.0.0:8082")
    assert parse_args([]).http_listen == "0.0.0.0:8082"


def test_metrics_listen_sets_the_metrics_address() -> None:
    assert parse_args(["--metrics-listen", "[::1]:9464"]).metrics_listen == "[::1]:9464"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--http-listen", "8082"], "--http-listen expects host:port", id="no-host"),
        pytest.param(
            ["--metrics-listen", "localhost:http"], "--metrics-listen expects host:port", id="name"
        ),
        pytest.param(
            ["--http-listen", "127.0.0.1:8082", "--metrics-listen", "127.0.0.1:8082"],
            "--metrics-listen must differ from --http-listen",
            id="same",
        ),
    ],
)
def test_a_bad_address_is_refused_saying_why(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err
