"""Publishing a profile's runs: what is missing or unfinished, and never losing what was published."""

from __future__ import annotations

import json
from pathlib import Path

from dl101 import runs
from maintainers import results_archive

import pytest
from helpers import train_small_classifier

EARLIER_ENTRY = {
    "notebook": "experiment_2_l2",
    "title": "Experiment 2: L2",
    "status": "published",
    "wall_time_seconds": 7200,
    "date": "2026-11-01",
    "machine": {"processor": "Some CPU", "cores": 2},
    "versions": {"python": "3.11.4"},
    "table": "| run | ... |",
    "runs": {},
    "numbers": {
        "without_l2": {
            "final_validation_accuracy": 0.70,
            "best_validation_accuracy": 0.71,
            "final_training_accuracy": 0.90,
            "wall_time_seconds": 3600,
        },
        "with_l2": {
            "final_validation_accuracy": 0.68,
            "best_validation_accuracy": 0.70,
            "final_training_accuracy": 0.75,
            "wall_time_seconds": 3600,
        },
    },
}


def publish(tmp_path: Path, log_root: Path) -> dict[str, dict]:
    out = tmp_path / "published"
    assert (
        results_archive.main(
            [
                "--profile",
                "full",
                "--log-dir",
                str(log_root),
                "--executed-dir",
                str(tmp_path / "executed"),
                "--out",
                str(out),
            ]
        )  # fmt: skip
        == 0
    )
    return {entry["notebook"]: entry for entry in json.loads((out / "summary.json").read_text())}


def test_missing_unfinished_and_other_profile_runs_are_named_not_published(tmp_path: Path) -> None:
    log_root = tmp_path / "logs"
    unfinished = runs.new_run(
        "experiment_1_dropout/without_dropout", log_root, epochs=3, profile="full"
    )
    train_small_classifier(unfinished, 1)
    other_profile = runs.new_run("experiment_0/few_layers", log_root, epochs=1, profile="cpu")
    train_small_classifier(other_profile, 1)

    entries = publish(tmp_path, log_root)

    assert entries["experiment_1_dropout"]["status"] == (
        "experiment_1_dropout/without_dropout has not finished (1 of 3 epochs)"
    )
    assert entries["experiment_0_few_layers"]["status"] == (
        "experiment_0/few_layers ran in the cpu profile, not full"
    )
    assert entries["experiment_0_three_layer_sets"]["status"] == (
        "not run yet (no logs of three_layer_sets)"
    )
    assert entries["keras_mnist"]["status"] == "not run yet (no logs of keras_mnist)"
    assert not list((tmp_path / "published").glob("*.png"))
    # The notebooks link to a section of their own, which says what to run.
    report = (tmp_path / "published" / "README.md").read_text()
    assert (
        "## experiment_1_dropout\n\nNot published: experiment_1_dropout/without_dropout has not finished "
        "(1 of 3 epochs). To publish it, run `make full-results NOTEBOOKS=experiment_1_dropout`"
    ) in report


def test_a_finished_run_without_its_stamped_notebook_is_not_published(tmp_path: Path) -> None:
    log_root = tmp_path / "logs"
    for name in ("without_l2", "with_l2"):
        run = runs.new_run(f"experiment_2_l2/{name}", log_root, epochs=1, profile="full")
        train_small_classifier(run, 1)

    entries = publish(tmp_path, log_root)

    assert entries["experiment_2_l2"]["status"].startswith(
        "no executed copy of the full run stamped by run_notebooks"
    )


def test_what_was_published_before_is_kept_when_its_logs_are_not_here(tmp_path: Path) -> None:
    out = tmp_path / "published"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps([EARLIER_ENTRY]))
    (tmp_path / "logs").mkdir()

    entries = publish(tmp_path, tmp_path / "logs")

    assert entries["experiment_2_l2"] == EARLIER_ENTRY
    # Judged from its numbers by today's claims: the gap shrank by 13 points, accuracy fell by 2.
    report = (out / "README.md").read_text()
    assert "| 120 min 00 s (Some CPU, 2 cores) | 1 of 2 |" in report
    assert "- smaller gap (gap without minus gap with): +13.0 points (held)" in report
    assert "- higher validation accuracy (with minus without): -2.0 points (did not hold)" in report

    # The page alone, rewritten from the summary after the claims' code changed: the same page.
    (out / "README.md").unlink()
    assert results_archive.main(["--out", str(out), "--page-only"]) == 0
    assert (out / "README.md").read_text() == report


def test_publishing_without_logs_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        results_archive.main(["--log-dir", str(tmp_path / "nowhere")])

    assert exit_info.value.code == 2
    assert f"no logs at {tmp_path / 'nowhere'}: run the notebooks first" in capsys.readouterr().err
