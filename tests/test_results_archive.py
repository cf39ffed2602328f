"""Publishing a profile's runs: what is missing or unfinished, and never losing what was published."""

from __future__ import annotations

import json
from pathlib import Path

from dl101 import runs
from maintainers import results_archive

import pytest
from helpers import train_small_classifier


def numbers(final: float, best: float, training: float) -> dict[str, float]:
    return {"final_validation_accuracy": final, "best_validation_accuracy": best,
            "final_training_accuracy": training, "wall_time_seconds": 3600}  # fmt: skip


EARLIER_ENTRY = {
    "notebook": "experiment_2_l2", "title": "Experiment 2: L2", "status": "published",
    "wall_time_seconds": 7200, "date": "2026-11-01", "versions": {"python": "3.11.4"},
    "machine": {"processor": "Some CPU", "cores": 2}, "table": "| run | ... |", "runs": {},
    "numbers": {"without_l2": numbers(0.70, 0.71, 0.90), "with_l2": numbers(0.68, 0.70, 0.75)},
}  # fmt: skip


def publish(tmp_path: Path, log_root: Path) -> dict[str, dict]:
    out = tmp_path / "published"
    arguments = ["--log-dir", str(log_root), "--executed-dir", str(tmp_path / "executed")]
    assert results_archive.main([*arguments, "--out", str(out)]) == 0
    return {entry["notebook"]: entry for entry in json.loads((out / "summary.json").read_text())}


def test_missing_unfinished_other_profile_and_unstamped_runs_are_named_not_published(
    tmp_path: Path,
) -> None:
    log_root = tmp_path / "logs"
    for name, epochs, profile in [
        ("experiment_1_dropout/without_dropout", 3, "full"), ("experiment_0/few_layers", 1, "cpu"),
        ("experiment_2_l2/without_l2", 1, "full"), ("experiment_2_l2/with_l2", 1, "full"),
    ]:  # fmt: skip
        train_small_classifier(runs.new_run(name, log_root, epochs=epochs, profile=profile), 1)

    status = {name: entry["status"] for name, entry in publish(tmp_path, log_root).items()}

    unfinished = "experiment_1_dropout/without_dropout has not finished (1 of 3 epochs)"
    assert status["experiment_1_dropout"] == unfinished
    assert (
        status["experiment_0_few_layers"]
        == "experiment_0/few_layers ran in the cpu profile, not full"
    )
    assert status["experiment_0_three_layer_sets"] == "not run yet (no logs of three_layer_sets)"
    assert status["keras_mnist"] == "not run yet (no logs of keras_mnist)"
    unstamped = "no executed copy of the full run stamped by run_notebooks"
    assert status["experiment_2_l2"].startswith(unstamped)  # its runs finished
    assert not list((tmp_path / "published").glob("*.png"))
    # The notebooks link to a section of their own, which says what to run.
    report = (tmp_path / "published" / "README.md").read_text()
    assert (
        f"## experiment_1_dropout\n\nNot published: {unfinished}. "
        "To publish it, run `make full-results NOTEBOOKS=experiment_1_dropout`"
    ) in report


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
