"""Read training curves back from a run's TensorBoard event files, with TensorBoard's own reader.

The notebooks never keep their own copies of the numbers: every plot and table is made from the
same event files TensorBoard shows, so the two always agree. tflearn and Keras name their
curves differently; :func:`metrics_of` tells which one wrote a run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from dl101.runs import Run

import numpy as np
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.util import tensor_util

# TensorBoard warns when tflearn writes the graph twice; that is harmless here.
logging.getLogger("tensorboard").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Curve:
    """One scalar over a run: the training step, the time it was written and its value.

    ``run_started`` is when the run opened its log, before its first scalar: Keras writes its
    first one only at the end of the first epoch.
    """

    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray
    run_started: float


@dataclass(frozen=True)
class Metrics:
    """Which scalar tags a framework writes for accuracy and loss, and what its steps count."""

    train_accuracy: str
    validation_accuracy: str
    train_loss: str
    validation_loss: str
    steps_are_epochs: bool


# tflearn validates once per epoch. Training accuracy and loss are measured the same way, on
# the training images, by dl101.tflearn_training.TrainingPass, under "training_pass/".
TFLEARN = Metrics(
    "training_pass/Accuracy", "Accuracy/Validation", "training_pass/Loss", "Loss/Validation",
    steps_are_epochs=False,
)  # fmt: skip
# tflearn's own "Accuracy" and "Loss", logged every step, are running averages over mini-batches
# of augmented images with dropout on: what runs logged before TrainingPass existed have.
TFLEARN_RUNNING_AVERAGES = Metrics(
    "Accuracy", "Accuracy/Validation", "Loss", "Loss/Validation", steps_are_epochs=False
)
# Keras' TensorBoard callback logs once per epoch, in train/ and validation/ subfolders.
KERAS = Metrics(
    "train/epoch_accuracy", "validation/epoch_accuracy", "train/epoch_loss", "validation/epoch_loss",
    steps_are_epochs=True,
)  # fmt: skip

Curves = dict[str, Curve]
# Reading a run's event files takes about a second on a CPU, and a notebook's plot, table and
# verdict all read the same runs: keep what was read for as long as the files are unchanged.
_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], Curves]] = {}


def _event_files_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(folder.rglob("events.out.tfevents.*")) if folder.is_dir() else []
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _read(folder: Path) -> Curves:
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 0})
    multiplexer.AddRunsFromDirectory(str(folder))
    multiplexer.Reload()
    curves: Curves = {}
    scalar_runs = multiplexer.PluginRunToTagToContent("scalars")
    started = min((multiplexer.FirstEventTimestamp(run) for run in scalar_runs), default=0.0)
    for subfolder, tags in scalar_runs.items():
        prefix = "" if subfolder == "." else f"{subfolder}/"
        for tag in tags:
            events = multiplexer.Tensors(subfolder, tag)
            curves[prefix + tag] = Curve(
                steps=np.array([event.step for event in events]),
                wall_times=np.array([event.wall_time for event in events]),
                values=np.array(
                    [tensor_util.make_ndarray(event.tensor_proto).item() for event in events]
                ),
                run_started=started,
            )
    return curves


def read_scalars(run: Run | str | os.PathLike[str]) -> Curves:
    """Every scalar logged by ``run`` (a :class:`Run` or its folder), keyed by tag.

    Tags from a subfolder are prefixed with it (``validation/epoch_accuracy``). Raises
    ``FileNotFoundError`` when the folder holds no scalars, i.e. the run never trained.
    """
    folder = run.folder if isinstance(run, Run) else Path(run)
    state = _event_files_state(folder)
    cached = _cache.get(folder)
    if cached is None or cached[0] != state:
        _cache[folder] = cached = (state, _read(folder) if state else {})
    if not cached[1]:
        raise FileNotFoundError(
            f"No TensorBoard scalars under {folder}: this run has not been trained yet "
            "(run the cell that trains it), or its logs were written somewhere else."
        )
    return cached[1]


def metrics_of(curves: Curves) -> Metrics:
    """The tags of the framework that wrote ``curves``: Keras writes ``train/`` and ``validation/``.

    A tflearn run logged before :class:`~dl101.tflearn_training.TrainingPass` existed has only
    tflearn's running averages for training: those are used instead.
    """
    if any(tag.startswith(("train/", "validation/")) for tag in curves):
        return KERAS
    return TFLEARN if TFLEARN.train_accuracy in curves else TFLEARN_RUNNING_AVERAGES


def start_time(curves: Curves) -> float:
    return min(curve.run_started for curve in curves.values())


def validated_epochs(run: Run) -> int:
    """How many epochs of ``run`` ended with a validation pass (0 if it never trained)."""
    try:
        curves = read_scalars(run)
    except FileNotFoundError:
        return 0
    validation = curves.get(metrics_of(curves).validation_accuracy)
    return 0 if validation is None else len(validation.values)


def is_finished(run: Run) -> bool:
    """Whether ``run`` validated after every one of the epochs it was created for.

    A run that is still training, or was interrupted, has fewer; a run created without a number
    of epochs counts as finished once it has validated at all.
    """
    done = validated_epochs(run)
    return done >= (run.epochs or 1)
