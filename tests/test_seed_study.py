"""The seed study: which runs it trains, that it resumes, and what it records of each run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dl101 import runs, verdicts
from dl101.paths import REPO_ROOT
from maintainers import seed_study, seed_study_report

import nbformat
import pytest
from helpers import REAL_DATA_DIR, write_notebook
from test_experiments import EXPECTED_RUNS


def test_every_notebook_run_is_recorded_once_from_a_notebook_that_makes_it() -> None:
    stood_for = [name for run in seed_study.STUDY_RUNS for name in run.notebook_runs]
    notebook_runs = [name for runs in EXPECTED_RUNS.values() for name in runs]

    assert sorted(stood_for) == sorted(notebook_runs)
    for study_run in seed_study.STUDY_RUNS:
        assert study_run.recorded_from in EXPECTED_RUNS[study_run.notebook], study_run.name
    # experiment_2_l2 makes the base network too; the study records it from experiment 1.
    assert seed_study.TRAINED["base"].recorded_from == "experiment_1_dropout/without_dropout"
    # batch 2,000 is also trained with the learning rate scaled each way.
    for name, learning_rate in [("batch_2000_lr_down", 0.001 / 40**0.5), ("batch_2000_lr_up", 0.001 * 40**0.5)]:  # fmt: skip
        study_run = seed_study.TRAINED[name]
        assert study_run.recorded_from == "experiment_3_batch_size/batch_2000"
        assert dict(study_run.parameters) == {"large_batch_learning_rate": round(learning_rate, 6)}


def test_the_notebook_runs_one_study_run_stands_for_show_the_same_layers() -> None:
    """A network trained again shows no new table: a run trains the last network shown."""
    layer_tables = {}
    for notebook, notebook_runs in EXPECTED_RUNS.items():
        cells = nbformat.read(REPO_ROOT / f"{notebook}.ipynb", as_version=4).cells
        trained = []  # the table of each run, in the order they trained (each prints "epoch 1/")
        shown = None
        for output in (output for cell in cells for output in cell.get("outputs", [])):
            table = output.get("data", {}).get("text/markdown", "")
            if table.startswith("| layer | output shape | weights and biases |"):
                shown = table
            trained += [shown] * output.get("text", "").count("\nepoch 1/")
            trained += [shown] * output.get("text", "").startswith("epoch 1/")
        layer_tables.update(zip(notebook_runs, trained, strict=True))

    for study_run in seed_study.STUDY_RUNS:
        assert len({layer_tables[name] for name in study_run.notebook_runs}) <= 1, study_run.name


def test_the_runs_one_notebook_makes_are_trained_by_one_execution_of_it() -> None:
    to_train = [("few_layers", 1), ("linear", 1), ("batch_2000", 1), ("batch_2000_lr_up", 1), ("few_layers", 2)]  # fmt: skip
    planned = seed_study.by_execution(to_train)
    assert [(seed_study.TRAINED[names[0]].execution, names, seed) for names, seed in planned] == [
        ("experiment_0_few_layers", ["few_layers", "linear"], 1),
        ("experiment_3_batch_size", ["batch_2000"], 1),
        ("experiment_3_batch_size-large_batch_learning_rate_0.006325", ["batch_2000_lr_up"], 1),
        ("experiment_0_few_layers", ["few_layers"], 2),
    ]


def test_a_notebook_lacking_a_parameter_the_study_gives_is_refused(tmp_path: Path) -> None:
    notebook = nbformat.read(write_notebook(tmp_path / "x.ipynb", "profile_name = None"), 4)
    notebook.cells[0].metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"]["language"] = "python"
    nbformat.write(notebook, tmp_path / "x.ipynb")

    refused = "^x.ipynb has no parameter large_batch_learning_rate, seed in its parameters cell, "
    with pytest.raises(RuntimeError, match=refused + "so it would train with its own value"):
        parameters = {"profile_name": "smoke", "seed": 3, "large_batch_learning_rate": 0.006325}
        seed_study.check_parameters(tmp_path / "x.ipynb", parameters)


def test_a_notebook_run_not_trained_as_the_study_asks_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path / "records"))
    log_root = tmp_path / "logs"
    runs.new_run(
        "experiment_2_l2/with_l2", root=log_root, profile="smoke", epochs=1, training_examples=4096,
        batch_size=96, learning_rate=0.001, seed=0, regularizer="L2",  # the notebook ignored seed 3
    )  # fmt: skip
    monkeypatch.setattr(seed_study, "execute_for_study", lambda *_: log_root)

    with pytest.raises(RuntimeError, match=r"trained with seed 0 .*, not with seed 3"):
        seed_study.train_and_record(["base_l2"], seed=3, profile_name="smoke")
    assert not (tmp_path / "records").exists()


def write_record(name: str, seed: int) -> Path:
    path = verdicts.record_path(name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": name, "seed": seed, "profile": "smoke"}))
    return path


def test_what_is_still_to_train_goes_seed_by_seed_and_skips_what_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path))
    write_record("few_layers", 0)
    write_record("base", 1)
    assert seed_study.missing(range(2), ["few_layers", "base"]) == [("base", 0), ("few_layers", 1)]


def test_a_second_study_on_the_same_records_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path))
    refused = pytest.raises(SystemExit, match=r"Another seed study is training into .* \(process ")
    with seed_study._only_study_running(tmp_path), refused:
        seed_study.main(["--profile", "smoke", "--seeds", "1", "--runs", "few_layers"])
    assert not list(tmp_path.glob("*/seed_*.json"))


@pytest.mark.notebook
def test_a_run_that_fails_is_not_recorded_and_the_study_says_to_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path / "records"))
    monkeypatch.setenv("DL101_DATA_DIR", str(tmp_path / "no-data-here"))

    assert seed_study.main(["--profile", "smoke", "--seeds", "1", "--runs", "few_layers"]) == 1

    printed = capsys.readouterr().out
    assert "training few_layers with seed 0: executing experiment_0_few_layers" in printed
    assert "FAILED" in printed and "experiment_0_few_layers with seed 0 failed" in printed
    assert "1 runs failed and were not recorded: run the same command again." in printed
    assert not list((tmp_path / "records").glob("*/seed_*.json"))


@pytest.mark.notebook
@pytest.mark.skipif(REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to the real CIFAR-10")
def test_started_again_the_study_trains_only_what_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DL101_DATA_DIR", str(REAL_DATA_DIR))
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path))
    earlier_text = write_record("few_layers", 0).read_text()

    arguments = ["--profile", "smoke", "--seeds", "1", "--runs", "few_layers", "base_l2"]
    assert seed_study.main(arguments) == 0

    printed = capsys.readouterr().out
    assert "1 of 2 runs recorded" in printed and "training base_l2 with seed 0" in printed
    assert "training few_layers" not in printed
    assert verdicts.record_path("few_layers", 0).read_text() == earlier_text
    record = json.loads(verdicts.record_path("base_l2", 0).read_text())
    assert record["settings"]["regularizer"] == "L2" and record["settings"]["seed"] == 0
    # experiment_2_l2 also made the base network, which the study records from experiment 1.
    recorded = sorted(path.parent.name for path in tmp_path.glob("*/seed_*.json"))
    assert recorded == ["base_l2", "few_layers"]
    # One epoch in the smoke profile, with training accuracy measured after it like validation.
    assert len(record["validation_accuracy"]) == len(record["training_accuracy"]) == 1
    assert 0 <= record["training_accuracy"][0] <= 1
    assert record["machine"]["cores"] == os.cpu_count() and record["machine"]["processor"]
    # Nothing is left to train: a third start trains nothing.
    assert seed_study.main(arguments) == 0
    assert "2 of 2 runs recorded in" in capsys.readouterr().out


def study_record(name: str, seed: int, final: float, train: float) -> dict:
    return {
        "run": name, "seed": seed, "profile": "cpu", "date": "2026-12-01",
        "validation_accuracy": [final - 0.1, final], "training_accuracy": [train - 0.1, train],
        "validation_loss": [1.0, 0.9], "training_loss": [1.0, 0.8], "seconds": [30.0, 60.0],
        "settings": {"profile": "cpu", "epochs": 2, "seed": seed, "batch_size": 96,
                     "learning_rate": 0.001, "keep_probability": 0.5},
        "machine": {"processor": "Some CPU", "cores": 2, "onednn": True},
    }  # fmt: skip


def test_the_study_page_is_written_from_the_records() -> None:
    records = [study_record("base", seed, 0.60, 0.80) for seed in range(3)]
    records += [study_record("base_dropout", seed, 0.61 + seed / 100, 0.66) for seed in range(3)]

    page = seed_study_report.page(records)

    assert "6 of 60 CIFAR-10 runs" in page and "keras_mnist with 0 of 5 seeds" in page
    assert "6 runs on Some CPU, 2 cores, oneDNN on" in page
    assert (
        "| **base_dropout** (batch size 96, learning rate 0.001, keep probability 0.5) "
        "| `experiment_1_dropout/with_dropout`, `experiment_4_learning_rate/lr_0.001` | 3 "
        "| 62.0% ± 1.0 (61.0% to 63.0%) |"
    ) in page
    # Dropout: the gap shrank from 20 points to 5, 4 or 3 in every seed; accuracy rose.
    held = "| +16.0 ± 1.0 (+15.0 to +17.0) | 3 of 3 | **held in every seed** |"
    assert f"| smaller gap (gap without minus gap with) {held}" in page
    assert "| no seed with every run recorded | | |" in page  # claims whose runs are missing


def test_the_study_page_check_fails_when_it_disagrees_with_the_records(tmp_path: Path) -> None:
    assert seed_study_report.main(["--check"]) == 0  # the committed page
    page = seed_study_report.page(verdicts.load_records())
    (tmp_path / "README.md").write_text(page.replace("held in every seed", "held", 1))
    assert seed_study_report.main(["--check", "--out", str(tmp_path)]) == 1
