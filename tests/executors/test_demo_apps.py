"""The demo apps behind the built-in images, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagwire.server.executors import demo_apps


@pytest.fixture
def progress_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "progress"
    monkeypatch.setenv("DAGWIRE_PROGRESS_FILE", str(path))
    return path


def use_config(monkeypatch: pytest.MonkeyPatch, config: object) -> None:
    text = config if isinstance(config, str) else json.dumps(config)
    monkeypatch.setenv("DAGWIRE_TASK_INPUT_CONFIG", text)


def test_report_progress_replaces_the_progress_file_atomically(progress_file: Path) -> None:
    demo_apps.report_progress(0.25)
    demo_apps.report_progress(0.5)

    assert float(progress_file.read_text()) == 0.5
    assert [p.name for p in progress_file.parent.iterdir()] == ["progress"]


def test_report_progress_outside_dagwire_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGWIRE_PROGRESS_FILE", raising=False)
    monkeypatch.chdir(tmp_path)

    demo_apps.report_progress(0.5)

    assert list(tmp_path.iterdir()) == []


def test_fail_exits_with_the_configured_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_config(monkeypatch, {"exit_code": 5})

    assert demo_apps.main(["fail"]) == 5
    assert "exit code 5" in capsys.readouterr().err


@pytest.mark.parametrize("config", ["not json", "[1, 2]", "", {"exit_code": "five"}])
def test_unusable_task_input_config_means_the_defaults(
    monkeypatch: pytest.MonkeyPatch, config: object
) -> None:
    use_config(monkeypatch, config)

    assert demo_apps.main(["fail"]) == 1


def test_progress_app_reports_every_step_up_to_one(
    monkeypatch: pytest.MonkeyPatch, progress_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_config(monkeypatch, {"steps": 2, "interval_seconds": 0})

    assert demo_apps.main(["progress"]) == 0
    assert float(progress_file.read_text()) == 1.0
    assert capsys.readouterr().out == "step 1/2\nstep 2/2\n"


def test_sleep_app_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    use_config(monkeypatch, {"sleep_seconds": 0.01})

    assert demo_apps.main(["sleep"]) == 0


def test_an_unknown_verb_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_apps.main(["dance"]) == 2
    assert "usage: demo_apps {sleep|fail|progress|secretflow|secure-sum}" in capsys.readouterr().err
