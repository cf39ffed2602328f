"""The shared log directory and one fresh folder per run."""

from __future__ import annotations

from pathlib import Path

from dl101 import logs, paths

import pytest


def test_log_dir_is_the_environment_variable_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DL101_LOG_DIR", str(tmp_path / "my_logs"))

    assert logs.log_dir() == tmp_path / "my_logs"


def test_log_dir_is_floydhub_output_there(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DL101_LOG_DIR")
    (isolated / "output").mkdir()

    assert logs.log_dir() == isolated / "output"


def test_log_dir_defaults_to_logs_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DL101_LOG_DIR")

    assert logs.log_dir() == paths.REPO_ROOT / "logs"


def test_new_run_gives_tflearn_an_empty_folder(tmp_path: Path) -> None:
    run = logs.new_run("experiment_1/with_dropout", root=tmp_path)

    assert run.path == tmp_path / "experiment_1" / "with_dropout"
    assert run.path.is_dir() and not any(run.path.iterdir())
    # tflearn builds the folder as tensorboard_dir + run_id.
    assert Path(run.log_dir + run.run_id) == run.path


def test_rerun_keeps_the_earlier_run_aside(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first = logs.new_run("start_here/or", root=tmp_path)
    (first.path / "events.out.tfevents.1").write_text("first run")

    second = logs.new_run("start_here/or", root=tmp_path)

    assert second.path == first.path and not any(second.path.iterdir())
    kept = [p for p in (tmp_path / "start_here").iterdir() if p.name != "or"]
    assert len(kept) == 1 and kept[0].name.startswith("or.previous-")
    assert (kept[0] / "events.out.tfevents.1").read_text() == "first run"
    assert f"kept aside as '{kept[0].name}'" in capsys.readouterr().out


def test_third_run_in_the_same_second_keeps_both_earlier_runs(tmp_path: Path) -> None:
    for number in range(3):
        run = logs.new_run("run", root=tmp_path)
        (run.path / "events").write_text(str(number))

    contents = sorted((p / "events").read_text() for p in tmp_path.iterdir())
    assert contents == ["0", "1", "2"]


def test_empty_run_folder_is_reused_silently(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logs.new_run("run", root=tmp_path)
    logs.new_run("run", root=tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../outside", "a/../../b"])
def test_run_names_stay_inside_the_log_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="relative path inside the log directory"):
        logs.new_run(name, root=tmp_path)
