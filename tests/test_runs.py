"""The shared log directory, one fresh folder per run, and the settings a run records."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dl101 import paths, runs
from dl101.profiles import PROFILES

import numpy as np
import pytest


def test_log_dir_is_the_variable_else_floydhub_output_else_logs_in_the_repository(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "output").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DL101_LOG_DIR", "my_logs")  # relative: the same folder to every process
    assert runs.log_dir() == tmp_path / "my_logs"

    monkeypatch.delenv("DL101_LOG_DIR")
    assert runs.log_dir() == isolated / "output"

    (isolated / "output").rmdir()
    assert runs.log_dir() == paths.REPO_ROOT / "logs"


def test_a_new_run_is_a_folder_of_its_normalised_name_holding_its_settings_as_json(
    tmp_path: Path,
) -> None:
    numpy_numbers = {"batch_size": np.int64(96), "learning_rate": np.float32(0.5)}
    run = runs.new_run("./group//./run", root=tmp_path, **numpy_numbers, unset=None)

    assert (run.name, run.label, run.folder) == ("group/run", "run", tmp_path / "group" / "run")
    assert Path(run.tensorboard_dir + run.run_id) == run.folder  # as tflearn joins them
    assert [path.name for path in run.folder.iterdir()] == [runs.SETTINGS_FILE]
    recorded = json.loads((run.folder / runs.SETTINGS_FILE).read_text())
    assert recorded == {"batch_size": 96, "learning_rate": 0.5}
    assert (run.batch_size, run.learning_rate, run.epochs, run.seed) == (96, 0.5, None, 0)
    assert runs.open_run("group/run", root=tmp_path) == run
    assert runs.open_run("group/never", root=tmp_path) is None


def test_a_rerun_sets_each_earlier_run_aside_under_a_name_of_its_own_and_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    runs.new_run("group/run", root=tmp_path)  # an empty run folder is reused silently
    for number in range(3):
        run = runs.new_run("group/run", root=tmp_path)
        assert not any(run.folder.iterdir())
        (run.folder / "events").write_text(str(number))
        os.utime(run.folder / "events", (1e9, 1e9))  # all ended in the same second

    kept = sorted(p.name for p in (tmp_path / "group").iterdir() if p.name != "run")
    assert len(kept) == 2 and all(name.startswith("run.previous-") for name in kept)
    contents = sorted((tmp_path / "group" / name / "events").read_text() for name in kept)
    assert contents == ["0", "1"] and (run.folder / "events").read_text() == "2"
    assert capsys.readouterr().out.splitlines() == [
        f"An earlier run named 'group/run' was kept aside as '{name}'; this run starts afresh."
        for name in kept
    ]
    (tmp_path / "notes.txt").write_text("mine")  # a file is no run folder: never set aside
    with pytest.raises(ValueError, match=r"notes\.txt is a file, not a run folder"):
        runs.new_run("notes.txt", root=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_experiment_records_its_settings_in_each_run_and_lists_each_run_once() -> None:
    experiment = runs.Experiment("exp", PROFILES["cpu"], training_examples=16_000)

    for name in ("a", "b", "a"):
        run = experiment.new_run(name, batch_size=50, learning_rate=0.01)

    assert run.name == "exp/a"
    shared = {"profile": "cpu", "epochs": 15, "training_examples": 16_000, "seed": 0}
    assert dict(run.settings) == {**shared, "batch_size": 50, "learning_rate": 0.01}
    assert [run.label for run in experiment.runs] == ["b", "a"]
    assert runs.Experiment("exp", PROFILES["cpu"], epochs=3).new_run("c").epochs == 3


@pytest.mark.parametrize("kind", ["a file", "read-only"])
def test_an_unwritable_log_directory_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "logs"
    if kind == "a file":
        target.write_text("not a folder")
    else:
        target.mkdir(mode=0o500)
        if os.access(target, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")

    with pytest.raises(RuntimeError, match=rf"cannot be written to {target}.*Set DL101_LOG_DIR"):
        runs.new_run("group/run", root=target)


def test_a_keras_run_trained_already_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from dl101.keras_training import MeasuredTraining

    run = runs.new_run("twice", root=tmp_path, epochs=1)
    (run.folder / "train").mkdir()  # what Keras' TensorBoard callback wrote the first time

    with pytest.raises(RuntimeError, match="'twice' has been trained already.*Re-run the cell"):
        MeasuredTraining(np.zeros((4, 2)), np.eye(2)[[0, 1, 0, 1]], run)
    assert sorted(path.name for path in run.folder.iterdir()) == ["run_settings.json", "train"]
