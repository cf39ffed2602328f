"""Read training curves back from a run's TensorBoard event files, with TensorBoard's own reader.

Plots and tables are made from the event files TensorBoard shows, so the two always agree. That
reader stops quietly at a damaged record (a crash, a full disk, a changed byte), so every file is
also checked (:func:`damage_in`): a damaged run is said to be damaged, never "not trained yet",
and what was read before the damage comes back flagged (:attr:`Curves.damaged`), with a warning.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from dl101.runs import Run

import numpy as np
from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer
from tensorboard.util import tensor_util

# TensorBoard warns when tflearn writes the graph twice, and TensorFlow once that its record
# reader is deprecated (for tf.data, which tflearn's graph mode cannot iterate): both harmless.
logging.getLogger("tensorboard").setLevel(logging.ERROR)
logging.getLogger("tensorflow").addFilter(lambda log: "tf_record_iterator" not in log.getMessage())


@dataclass(frozen=True)
class Curve:
    """One scalar over a run."""

    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray


# Where the measured training pass of either framework logs, inside a run's folder (a run of its
# own in TensorBoard, so no framework's event file is mixed with it), and how many training
# images it measures: as many as the validation set has, equally precise and as cheap.
TRAINING_PASS_FOLDER = "training_pass"
TRAINING_PASS_IMAGES = 10_000
# tflearn's pass logs these tags there, beside tflearn's own "Accuracy/Validation".
TFLEARN_TRAINING_ACCURACY = "Accuracy/Training"
TFLEARN_TRAINING_LOSS = "Loss/Training"


@dataclass(frozen=True)
class Metrics:
    """Which scalar tags a framework writes for accuracy and loss, and what its steps count."""

    train_accuracy: str
    validation_accuracy: str
    train_loss: str
    validation_loss: str
    steps_are_epochs: bool


# tflearn validates once per epoch; dl101.tflearn_training.TrainingPass measures training
# accuracy and loss the same way, on the training images, and logs them in "training_pass/".
TFLEARN = Metrics(f"{TRAINING_PASS_FOLDER}/{TFLEARN_TRAINING_ACCURACY}", "Accuracy/Validation",
                  f"{TRAINING_PASS_FOLDER}/{TFLEARN_TRAINING_LOSS}", "Loss/Validation",
                  steps_are_epochs=False)  # fmt: skip
# tflearn's own "Accuracy" and "Loss", logged every step, are running averages over mini-batches
# of augmented images with dropout on: all that a run trained without TrainingPass has.
TFLEARN_RUNNING_AVERAGES = replace(TFLEARN, train_accuracy="Accuracy", train_loss="Loss")
# Keras' TensorBoard callback logs once per epoch, in train/ (running averages) and validation/;
# dl101.keras_training.MeasuredTraining measures training as validation is, in training_pass/.
KERAS_ACCURACY, KERAS_LOSS = "epoch_accuracy", "epoch_loss"  # Keras' tags, in each folder
KERAS = Metrics(f"{TRAINING_PASS_FOLDER}/{KERAS_ACCURACY}", f"validation/{KERAS_ACCURACY}",
                f"{TRAINING_PASS_FOLDER}/{KERAS_LOSS}", f"validation/{KERAS_LOSS}",
                steps_are_epochs=True)  # fmt: skip


class DamagedLogError(RuntimeError):
    """A run's event file is damaged and nothing before the damage holds a scalar."""


class DamagedLogWarning(UserWarning):
    """Part of a run's event files could be read, but one is damaged: its curves stop early."""


@dataclass(frozen=True)
class Damage:
    """Where an event file stops being readable: the file ends inside the record at ``offset``
    (``cut_short``), or that record fails its checksum; ``empty``: the file has no byte at all."""

    file: Path
    offset: int
    cut_short: bool
    empty: bool = False

    def __str__(self) -> str:
        what = (
            "it is empty (0 bytes), though TensorBoard's writer saves a first record as soon as "
            "it creates the file: it was cut short, by a full disk or a crash"
            if self.empty
            else f"it is cut short at byte {self.offset}, inside a record (a crash or a full disk "
            "stopped its writer there, or a run still training has not written all of it yet)"
            if self.cut_short
            else f"it has a corrupted record at byte {self.offset} (the record fails its checksum: "
            "a byte of it changed)"
        )
        return f"the event file {self.file} is damaged: {what}"


class Curves(dict[str, Curve]):
    """Every scalar of a run, keyed by tag. ``damage`` lists its event files that could be read
    only up to a damaged record (then ``damaged`` is true and the curves stop early)."""

    damage: tuple[Damage, ...] = ()
    started = 0.0  # when the run opened its log: Keras writes its first scalar after an epoch

    @property
    def damaged(self) -> bool:
        return bool(self.damage)


def damage_in(event_file: Path) -> Damage | None:
    """Where ``event_file`` is cut short inside a record, or has one failing its checksum: found by
    TensorFlow's record reader (fast, in C++), which stops at the first damaged record and says
    why, but takes a file ending inside a record's first 12 bytes for a clean end."""
    import tensorflow as tf

    size, offset = os.path.getsize(event_file), 0  # the size first: a file being written grows
    try:
        for record in tf.compat.v1.io.tf_record_iterator(str(event_file)):
            offset += 16 + len(record)  # data's length (8 bytes), its checksum (4), data, checksum
    except tf.errors.DataLossError as error:
        return Damage(event_file, offset, cut_short="truncated" in error.message)
    if size == 0:
        return Damage(event_file, 0, cut_short=True, empty=True)
    return Damage(event_file, offset, cut_short=True) if offset < size else None


def what_to_do(damage: tuple[Damage, ...]) -> str:
    """What to do about a run whose event files have ``damage``: the end of every message."""
    first = (
        "If the run is still training, read it again once it has finished. Otherwise train"
        if any(found.cut_short and not found.empty for found in damage)
        else "Train"
    )
    return (
        f"{first} the run again for its full curves: a new run of the same name keeps this "
        "folder aside, damaged file and all, as '<name>.previous-<time>'."
    )


def read_scalars(run: Run | str | os.PathLike[str]) -> Curves:
    """Every scalar logged by ``run`` (a :class:`Run` or its folder), keyed by tag, prefixed with
    its subfolder if any (``validation/epoch_accuracy``). Raises ``FileNotFoundError`` if there is
    none (never trained), :class:`DamagedLogError` if none because of damage. Scalars read before
    a damage come back flagged, with a :class:`DamagedLogWarning` once per state of the files."""
    folder = run.folder if isinstance(run, Run) else Path(run)
    files = sorted(folder.rglob("events.out.tfevents.*")) if folder.is_dir() else []
    state = tuple((f, s.st_size, s.st_mtime_ns) for f in files for s in [f.stat()])
    curves = _read(folder, state)
    if not curves and curves.damaged:
        raise DamagedLogError(
            f"No TensorBoard scalars could be read under {folder}: "
            f"{'; '.join(map(str, curves.damage))}. Nothing before the damage holds a scalar, so "
            f"this run's curves are lost. {what_to_do(curves.damage)}"
        )
    if not curves:
        raise FileNotFoundError(
            f"No TensorBoard scalars under {folder}: this run has not been trained yet (run the "
            "cell that trains it), or its logs were written somewhere else."
            + (" Its event files hold no scalars yet: a run that has just started training "
               "writes its first ones within a few minutes." if files else "")
        )  # fmt: skip
    return curves


# Reading a run takes about a second, and a notebook's plot, table and verdict read the same
# runs: what was read is kept while the event files keep their sizes and times.
@functools.lru_cache(maxsize=32)
def _read(folder: Path, files: tuple[tuple[Path, int, int], ...]) -> Curves:
    """The scalars of ``files`` (with their sizes and times), warning of damage once per state."""
    logs = EventMultiplexer(tensor_size_guidance={"scalars": 0})
    logs.AddRunsFromDirectory(str(folder))
    logs.Reload()
    scalar_runs = logs.PluginRunToTagToContent("scalars")
    curves = Curves()
    curves.started = min((logs.FirstEventTimestamp(run) for run in scalar_runs), default=0.0)
    for subfolder, tags in scalar_runs.items():
        for tag in tags:
            events = logs.Tensors(subfolder, tag)
            curves[tag if subfolder == "." else f"{subfolder}/{tag}"] = Curve(
                np.array([event.step for event in events]),
                np.array([event.wall_time for event in events]),
                np.array([tensor_util.make_ndarray(e.tensor_proto).item() for e in events]),
            )
    curves.damage = tuple(filter(None, (damage_in(file) for file, _, _ in files)))
    if curves and curves.damaged:
        warnings.warn(
            f"Only part of the run in {folder} could be read: "
            f"{'; '.join(map(str, curves.damage))}. Its curves stop early, where the damage "
            f"starts: whatever was logged after it is lost. {what_to_do(curves.damage)}",
            DamagedLogWarning,
            stacklevel=3,  # the line that called read_scalars
        )
    return curves


def metrics_of(curves: Curves) -> Metrics:
    """The tags of the framework that wrote ``curves``: Keras writes ``validation/``;
    a tflearn run trained without ``TrainingPass`` (``training_pass/``) has running averages."""
    if any(tag.startswith("validation/") for tag in curves):
        return KERAS
    measured = any(tag.startswith(f"{TRAINING_PASS_FOLDER}/") for tag in curves)
    return TFLEARN if measured else TFLEARN_RUNNING_AVERAGES


def start_time(curves: Curves) -> float:
    return curves.started


def validated_epochs(run: Run) -> int:
    """How many epochs of ``run`` ended with a validation (0 if it never trained, or raises
    :class:`DamagedLogError` if it is damaged before any scalar: it did train)."""
    try:
        curves = read_scalars(run)
    except FileNotFoundError:
        return 0
    validation = curves.get(metrics_of(curves).validation_accuracy)
    return 0 if validation is None else len(validation.values)


def is_finished(run: Run) -> bool:
    """Whether ``run`` validated after each epoch it was created for (not if still training or
    interrupted); after one, if it was created without a number of epochs."""
    return validated_epochs(run) >= (run.epochs or 1)
