"""The seed study: which runs it trains, that it resumes, and what it records of each run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dl101 import verdicts
from maintainers import seed_study

import pytest
from helpers import REAL_DATA_DIR
from test_experiments import EXPECTED_RUNS


def test_every_notebook_run_is_trained_once_by_the_study() -> None:
    stood_for = [name for run in seed_study.STUDY_RUNS for name in run.notebook_runs]
    notebook_runs = [name for runs in EXPECTED_RUNS.values() for name in runs]

    assert sorted(stood_for) == sorted(notebook_runs)
    # Runs that are the same network with the same settings are trained once.
    assert "experiment_2_l2/without_l2" in seed_study.STUDY_RUNS_BY_NAME["base"].notebook_runs
    assert (
        "experiment_4_learning_rate/lr_0.001"
        in seed_study.STUDY_RUNS_BY_NAME["base_dropout"].notebook_runs
    )


def test_batch_2000_is_also_trained_with_the_learning_rate_scaled_each_way() -> None:
    down = seed_study.STUDY_RUNS_BY_NAME["batch_2000_lr_down"]
    up = seed_study.STUDY_RUNS_BY_NAME["batch_2000_lr_up"]
    assert down.batch_size == up.batch_size == 2000
    assert down.learning_rate == pytest.approx(0.001 / 40**0.5, rel=1e-3)
    assert up.learning_rate == pytest.approx(0.001 * 40**0.5, rel=1e-3)


def write_record(folder: Path, name: str, seed: int, profile: str = "smoke") -> Path:
    path = verdicts.record_path(name, seed, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": name, "seed": seed, "profile": profile}))
    return path


def test_what_is_still_to_train_goes_seed_by_seed_and_skips_what_is_recorded(
    tmp_path: Path,
) -> None:
    write_record(tmp_path, "few_layers", 0)
    write_record(tmp_path, "base", 1)

    to_train = seed_study.missing(range(2), ["few_layers", "base"], tmp_path)

    assert to_train == [("base", 0), ("few_layers", 1)]


def test_a_second_study_on_the_same_records_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path))
    refused = pytest.raises(SystemExit, match=r"Another seed study is training into .* \(process ")
    with seed_study._only_study_running(tmp_path), refused:
        seed_study.main(["--profile", "smoke", "--seeds", "1", "--runs", "few_layers"])
    assert not list(tmp_path.glob("*/seed_*.json"))


def test_a_run_that_fails_is_not_recorded_and_the_study_says_to_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path / "records"))
    monkeypatch.setenv("DL101_DATA_DIR", str(tmp_path / "no-data-here"))

    assert seed_study.main(["--profile", "smoke", "--seeds", "1", "--runs", "few_layers"]) == 1

    printed = capsys.readouterr().out
    assert "training few_layers with seed 0" in printed and "FAILED" in printed
    assert "1 runs failed and were not recorded: run the same command again." in printed
    assert not list((tmp_path / "records").glob("*/seed_*.json"))


@pytest.mark.notebook
@pytest.mark.skipif(REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to the real CIFAR-10")
def test_started_again_the_study_trains_only_what_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DL101_DATA_DIR", str(REAL_DATA_DIR))
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path))
    earlier = write_record(tmp_path, "few_layers", 0)
    earlier_text = earlier.read_text()

    arguments = ["--profile", "smoke", "--seeds", "1", "--runs", "few_layers", "base_l2"]
    assert seed_study.main(arguments) == 0

    printed = capsys.readouterr().out
    assert "1 of 2 runs recorded" in printed
    assert "training base_l2 with seed 0" in printed
    assert "training few_layers" not in printed
    assert earlier.read_text() == earlier_text
    record = json.loads(verdicts.record_path("base_l2", 0, tmp_path).read_text())
    assert record["settings"]["regularizer"] == "L2" and record["settings"]["seed"] == 0
    # One epoch in the smoke profile, with training accuracy measured after it like validation.
    assert len(record["validation_accuracy"]) == len(record["training_accuracy"]) == 1
    assert 0 <= record["training_accuracy"][0] <= 1
    assert record["machine"]["cores"] == os.cpu_count() and record["machine"]["processor"]
    # Nothing is left to train: a third start trains nothing.
    assert seed_study.main(arguments) == 0
    assert "2 of 2 runs recorded in" in capsys.readouterr().out


def study_record(name: str, seed: int, final: float, train: float) -> dict:
    return {
        "run": name,
        "seed": seed,
        "profile": "cpu",
        "validation_accuracy": [final - 0.1, final],
        "training_accuracy": [train - 0.1, train],
        "validation_loss": [1.0, 0.9],
        "training_loss": [1.0, 0.8],
        "seconds": [30.0, 60.0],
        "machine": {"processor": "Some CPU", "cores": 2, "onednn": True},
        "date": "2026-12-01",
    }


def test_the_study_page_is_written_from_the_records(tmp_path: Path) -> None:
    from maintainers import seed_study_report

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
    assert (
        "| smaller gap (gap without minus gap with) | +16.0 ± 1.0 (+15.0 to +17.0) | 3 of 3 | held in every seed |"
        in page
    )
    assert "| no seed with every run recorded | | |" in page  # claims whose runs are missing


def test_the_committed_study_page_agrees_with_the_committed_records() -> None:
    from maintainers import seed_study_report

    assert seed_study_report.main(["--check"]) == 0
