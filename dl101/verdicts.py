"""How a claim is judged when one run is one sample (runs differing only in their seed end about
a point apart): a sign count over the seeds of the seed study (:mod:`maintainers.seed_study`)."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from dl101.paths import REPO_ROOT

import numpy as np

MIN_SEEDS = 3  # fewer tell too little to judge by: with one, "every seed" is one run again
SEEDS = 5  # what the study trains (maintainers/seed_study.py), for the odds the rule quotes
RULE = (
    "Each part of a claim is a margin between two runs, measured in every seed of the study. "
    "It **held in every seed** when every seed falls on the claim's side; it is **the opposite, "
    "in every seed** when every seed falls on the other side; otherwise there is **no clear "
    "effect** (the seeds disagree). The rule counts signs and nothing else: if there were no "
    f"effect at all, {SEEDS} seeds would all land on the claim's side by chance once in "
    f"{2**SEEDS}. With fewer than {MIN_SEEDS} seeds recorded there is no outcome yet."
)


class Outcome(Enum):
    HELD = "held in every seed"
    NO_CLEAR_EFFECT = "no clear effect (the seeds disagree)"
    OPPOSITE = "the opposite, in every seed"
    TOO_FEW_SEEDS = f"too few seeds yet (fewer than {MIN_SEEDS})"


def judge(margins: Sequence[float], holds: Callable[[float], bool]) -> Outcome:
    """The rule: ``margins`` are one part's margins, one per seed; ``holds`` reads one margin."""
    if len(margins) < MIN_SEEDS:
        return Outcome.TOO_FEW_SEEDS
    held = sum(map(holds, margins))
    if held == len(margins):
        return Outcome.HELD
    return Outcome.OPPOSITE if held == 0 else Outcome.NO_CLEAR_EFFECT


def spread(values: Sequence[float], decimals: int = 1, percent: bool = False) -> str:
    """Mean ± sample sd (range) over seeds, in points or, with ``percent``, as accuracies."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    number, unit = (f".{decimals}f", "%") if percent else (f"+.{decimals}f", "")
    mean, low, high = (
        f"{100 * value:{number}}{unit}"
        for value in (statistics.fmean(values), min(values), max(values))
    )
    return f"{mean} ± {100 * sd:.{decimals}f} ({low} to {high})"


@dataclass(frozen=True)
class RunNumbers:
    """A run's accuracy after every epoch and when each ended: from logs, a record or a summary."""

    validation_accuracy: np.ndarray
    training_accuracy: np.ndarray
    seconds: np.ndarray  # since the run started, at the end of each epoch
    name: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)  # what the run recorded
    damage: tuple[str, ...] = ()  # what is wrong with its event files

    @property
    def final_validation_accuracy(self) -> float:
        return float(self.validation_accuracy[-1])

    @property
    def best_validation_accuracy(self) -> float:
        return float(self.validation_accuracy.max())

    @property
    def final_train_accuracy(self) -> float:
        return float(self.training_accuracy[-1])

    @property
    def gap(self) -> float:
        """Training minus validation accuracy at the end: large means overfitting."""
        return self.final_train_accuracy - self.final_validation_accuracy

    @property
    def wall_time_seconds(self) -> float:
        return float(self.seconds[-1])

    @property
    def shortfall(self) -> str:
        """Why the logs may stop before training ended, or ``""``: a partial run is not judged."""
        planned = self.settings.get("epochs")
        if isinstance(planned, int) and len(self.validation_accuracy) < planned:
            return f"only {len(self.validation_accuracy)} of {planned} epochs logged"
        return "damaged log" if self.damage else ""

    @property
    def partial(self) -> bool:
        return bool(self.shortfall)


Records = Mapping[str, Mapping[int, RunNumbers]]  # the seed study's: run name -> seed -> numbers
PROFILE = "cpu"  # the profile the seed study (maintainers.seed_study) trains in
RECORDS_DIR = REPO_ROOT / "results" / "seed_study" / "runs"  # one record a run and seed
RECORDS_VARIABLE = "DL101_SEED_STUDY_DIR"  # tests point the study at a folder of their own

# The notebook runs ("<experiment>/<label>") each study record stands for, in the order looked for.
STANDS_FOR: Mapping[str, tuple[str, ...]] = {
    "few_layers": ("experiment_0/few_layers",),
    "linear": ("experiment_0/linear",),
    "three_layer_sets": ("experiment_0/three_layer_sets",),
    "base": ("experiment_1_dropout/without_dropout", "experiment_2_l2/without_l2"),
    "base_dropout": ("experiment_1_dropout/with_dropout", "experiment_4_learning_rate/lr_0.001"),
    "base_l2": ("experiment_2_l2/with_l2",),
    "batch_50": ("experiment_3_batch_size/batch_50",),
    "batch_2000": ("experiment_3_batch_size/batch_2000",),
    "lr_0.0001": ("experiment_4_learning_rate/lr_0.0001",),
    "lr_0.01": ("experiment_4_learning_rate/lr_0.01",),
}
MNIST_RECORD_PREFIX = "mnist_"  # keras_mnist's runs are recorded by label, after this prefix


def label_in(experiment: str, record: str) -> str:
    """The label of the run of ``experiment`` that the study's ``record`` stands for; "" if none."""
    if experiment == "keras_mnist":
        return record.removeprefix(MNIST_RECORD_PREFIX)
    runs = STANDS_FOR.get(record, ())
    return next((run.split("/")[1] for run in runs if run.startswith(f"{experiment}/")), "")


def records_dir() -> Path:
    return Path(os.environ.get(RECORDS_VARIABLE) or RECORDS_DIR)


def record_path(name: str, seed: int) -> Path:
    return records_dir() / name / f"seed_{seed}.json"


def load_records() -> list[dict[str, Any]]:
    """Every recorded run of the study in its profile, in order of run and seed."""
    records = []
    for path in sorted(records_dir().glob("*/seed_*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError) as error:
            raise ValueError(
                f"The seed-study record {path} cannot be read ({error}): delete it and run "
                "`make seeds` again to train that run anew."
            ) from None
    return [record for record in records if record.get("profile") == PROFILE]


def load_numbers(records: Sequence[Mapping[str, Any]] | None = None) -> Records:
    """The study's numbers by run and seed, as the claims read them (empty: nothing recorded)."""
    numbers: dict[str, dict[int, RunNumbers]] = {}
    for record in load_records() if records is None else records:
        numbers.setdefault(record["run"], {})[record["seed"]] = RunNumbers(
            np.asarray(record["validation_accuracy"], dtype=float),
            np.asarray(record["training_accuracy"], dtype=float),
            np.asarray(record["seconds"], dtype=float),
            name=record["run"],
            settings=record.get("settings", {}),
        )
    return numbers


FULL_SUMMARY = REPO_ROOT / "results" / "full" / "summary.json"  # the `full` runs, one seed each


def published_entries(summary: Path = FULL_SUMMARY) -> dict[str, dict[str, Any]]:
    """The published entries of a ``summary.json``, by notebook; empty if there is none."""
    entries = json.loads(summary.read_text()) if summary.is_file() else []
    return {entry["notebook"]: entry for entry in entries if entry["status"] == "published"}


def full_run_numbers(notebook: str, summary: Path = FULL_SUMMARY) -> dict[str, RunNumbers]:
    """The published ``full`` run of ``notebook``, by run label (empty: not published)."""
    return summary_numbers(published_entries(summary).get(notebook, {}).get("numbers", {}))


def summary_numbers(numbers: Mapping[str, Mapping[str, float]]) -> dict[str, RunNumbers]:
    """Runs known by final numbers alone, by label: two-epoch curves, best then final validation."""
    return {
        label: RunNumbers(
            np.array([run["best_validation_accuracy"], run["final_validation_accuracy"]]),
            np.full(2, run["final_training_accuracy"]),
            np.full(2, float(run["wall_time_seconds"])),
            name=label,
        )
        for label, run in numbers.items()
    }
