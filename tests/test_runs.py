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
    monkeypatch.setenv("DL101_LOG_DIR", str(tmp_path / "my_logs"))
    assert runs.log_dir() == tmp_path / "my_logs"

    monkeypatch.delenv("DL101_LOG_DIR")
    assert runs.log_dir() == isolated / "output"

    (isolated / "output").rmdir()
    assert runs.log_dir() == paths.REPO_ROOT / "logs"


def test_new_run_gives_tflearn_an_empty_folder_under_its_normalised_name(tmp_path: Path) -> None:
    run = runs.new_run("./experiment_1//./with_dropout", root=tmp_path)

    assert run.name == "experiment_1/with_dropout"
    assert run.folder == tmp_path / "experiment_1" / "with_dropout"
    assert run.folder.is_dir() and not any(run.folder.iterdir())
    # tflearn logs to tensorboard_dir + run_id, joined as strings.
    assert Path(run.tensorboard_dir + run.run_id) == run.folder
    assert run.label == "with_dropout"


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
    said = capsys.readouterr().out.splitlines()
    assert said == [
        f"An earlier run named 'group/run' was kept aside as '{name}'; this run starts afresh."
        for name in kept
    ]


def test_a_run_records_its_settings_as_plain_json_and_gives_them_back(tmp_path: Path) -> None:
    run = runs.new_run(
        "group/run", root=tmp_path, batch_size=np.int64(96), learning_rate=np.float32(0.5), x=None
    )

    recorded = json.loads((run.folder / runs.SETTINGS_FILE).read_text())
    assert recorded == {"batch_size": 96, "learning_rate": 0.5}
    assert (run.batch_size, run.learning_rate, run.epochs, run.seed) == (96, 0.5, None, 0)
    assert runs.open_run("group/run", root=tmp_path) == run
    assert runs.open_run("group/never", root=tmp_path) is None


def test_an_experiment_records_its_settings_in_each_run_and_lists_each_run_once() -> None:
    experiment = runs.Experiment("exp", PROFILES["cpu"], training_examples=16_000)

    for name in ("a", "b", "a"):
        run = experiment.new_run(name, batch_size=50, learning_rate=0.01)

    assert run.name == "exp/a"
    assert dict(run.settings) == {
        "profile": "cpu",
        "epochs": PROFILES["cpu"].epochs,
        "training_examples": 16_000,
        "seed": runs.DEFAULT_SEED,
        "batch_size": 50,
        "learning_rate": 0.01,
    }
    assert [run.label for run in experiment.runs] == ["b", "a"]
    assert runs.Experiment("exp", PROFILES["cpu"], epochs=3).new_run("c").epochs == 3


@pytest.mark.parametrize("kind", ["a file", "inside a file", "read-only"])
def test_an_unwritable_log_directory_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    target = tmp_path / "logs"
    if kind == "a file":
        target.write_text("not a folder")
    elif kind == "inside a file":
        target.write_text("not a folder")
        target = target / "logs"
    else:
        target.mkdir()
        target.chmod(0o500)
        if os.access(target, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
    monkeypatch.setenv("DL101_LOG_DIR", str(target))

    with pytest.raises(RuntimeError, match=rf"cannot be written to {target}.*Set DL101_LOG_DIR"):
        runs.new_run("group/run")


def test_a_keras_run_trained_already_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """keras_mnist's fit cell run again on the same run: two trainings must not read as one."""
    from dl101.keras_training import MeasuredTraining

    run = runs.new_run("twice", root=tmp_path, epochs=1)
    (run.folder / "train").mkdir()  # what Keras' TensorBoard callback wrote the first time

    with pytest.raises(RuntimeError, match="'twice' has been trained already.*Re-run the cell"):
        MeasuredTraining(np.zeros((4, 2)), np.eye(2)[[0, 1, 0, 1]], run)
    assert sorted(path.name for path in run.folder.iterdir()) == ["run_settings.json", "train"]
