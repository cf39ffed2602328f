"""How a claim is judged when one run is one sample: a sign count over the seed study's seeds.

Two runs that differ only in their seed end about a point apart, so the difference between two
single runs (a "margin") can be noise. The seed study (:mod:`maintainers.seed_study`) measures
every margin in several seeds; the rule counts on which side of the claim each seed falls.
A single run (the learner's own, or a ``full``-profile run) says only how it fell that once.
"""

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

# Fewer seeds than this tell too little to judge by: with one, "every seed" is one run again.
MIN_SEEDS = 3
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
    """Numbers over seeds as mean ± sample sd (range): in percentage points,
    ``+0.3 ± 0.6 (-0.4 to +1.1)``, or as accuracies, ``64.9% ± 0.8 (63.8% to 66.0%)``."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    sign, unit = ("", "%") if percent else ("+", "")

    def shown(value: float) -> str:
        return f"{100 * value:{sign}.{decimals}f}{unit}"

    mean, low, high = statistics.fmean(values), min(values), max(values)
    return f"{shown(mean)} ± {100 * sd:.{decimals}f} ({shown(low)} to {shown(high)})"


@dataclass(frozen=True)
class RunNumbers:
    """One run's numbers: its accuracy after every epoch, and when each epoch ended.

    The one summary of a run that tables, plots' captions and verdicts read: from its logs
    (:func:`dl101.reports.summarize`), a seed-study record or a published ``full`` run.
    ``damage`` describes damaged event files; ``settings`` are what the run recorded.
    """

    validation_accuracy: np.ndarray
    training_accuracy: np.ndarray
    seconds: np.ndarray  # since the run started, at the end of each epoch
    name: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    damage: tuple[str, ...] = ()

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
    def epochs_missing(self) -> bool:
        planned = self.settings.get("epochs")
        return isinstance(planned, int) and len(self.validation_accuracy) < planned

    @property
    def partial(self) -> bool:
        """Whether the logs stop before the end of the run's training, or may: then its final
        numbers are not what it ended with, and no claim is judged on it."""
        return self.epochs_missing or bool(self.damage)

    @property
    def shortfall(self) -> str:
        """``"only 2 of 3 epochs logged"`` or ``"damaged log"`` for a partial run, else ``""``."""
        if self.epochs_missing:
            return (
                f"only {len(self.validation_accuracy)} of {self.settings['epochs']} epochs logged"
            )
        return "damaged log" if self.damage else ""

    def partial_note(self) -> str:
        """Why the run's row is partial, in a sentence or more; ``""`` if it is not."""
        if not self.partial:
            return ""
        if not self.epochs_missing:
            why = "its final numbers may not be what it ended with"
        else:
            why = (
                f"its final numbers are those after epoch {len(self.validation_accuracy)}, not "
                "the end of its training: it is still training, was interrupted, or its log lost "
                "its last records"
            )
        damage = "".join(f" {text[0].upper()}{text[1:]}." for text in self.damage)
        return (
            f"**{self.name} is partial** ({self.shortfall}): {why}.{damage} Let it finish, or "
            "train it again, for its results."
        )


# The seed study's numbers: run name -> seed -> that run's numbers.
Records = Mapping[str, Mapping[int, RunNumbers]]

# The seed study (`python -m maintainers.seed_study`) trains in this profile and keeps one JSON
# record per run and seed here; the claims read them.
PROFILE = "cpu"
RECORDS_DIR = REPO_ROOT / "results" / "seed_study" / "runs"
RECORDS_VARIABLE = "DL101_SEED_STUDY_DIR"  # tests point the study at a folder of their own


# What each record of the study stands for: the notebook runs ("<experiment>/<label>") that are
# the same training (network, settings, data: a run several notebooks make is recorded once), in
# the order the study looks for them; a record not listed is a run the study alone trains.
# keras_mnist's runs are each recorded under the label they have there, after this prefix.
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
MNIST_RECORD_PREFIX = "mnist_"


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
            record = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ValueError(
                f"The seed-study record {path} cannot be read ({error}): delete it and run "
                "`make seeds` again to train that run anew."
            ) from None
        if record.get("profile") == PROFILE:
            records.append(record)
    return records


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


# The `full` profile's runs (the article's 50 epochs on all 50,000 images), one seed each, as
# maintainers.results_archive publishes them: per notebook, each run's final numbers.
FULL_SUMMARY = REPO_ROOT / "results" / "full" / "summary.json"


def published_entries(summary: Path = FULL_SUMMARY) -> dict[str, dict[str, Any]]:
    """The published entries of a ``summary.json``, by notebook; empty if there is none."""
    if not summary.is_file():
        return {}
    entries = json.loads(summary.read_text())
    return {entry["notebook"]: entry for entry in entries if entry["status"] == "published"}


def full_run_numbers(notebook: str, summary: Path = FULL_SUMMARY) -> dict[str, RunNumbers]:
    """The published ``full`` run of ``notebook``, by run label (empty: not published)."""
    return summary_numbers(published_entries(summary).get(notebook, {}).get("numbers", {}))


def summary_numbers(numbers: Mapping[str, Mapping[str, float]]) -> dict[str, RunNumbers]:
    """Runs known by their final numbers alone, by label, as RunNumbers.

    A published summary keeps each run's final and best validation accuracy, final training
    accuracy and wall time: as a two-epoch curve whose last point is the final accuracy and whose
    highest is the best, every number a claim reads is the run's own.
    """
    return {
        label: RunNumbers(
            np.array([run["best_validation_accuracy"], run["final_validation_accuracy"]]),
            np.full(2, run["final_training_accuracy"]),
            np.full(2, float(run["wall_time_seconds"])),
            name=label,
        )
        for label, run in numbers.items()
    }
