"""Read training curves back from a run's event files with TensorBoard's own reader, so plots,
tables and TensorBoard agree; damaged files are found and named (:func:`damage_in`)."""

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

# Harmless: TensorBoard warns that tflearn writes the graph twice, TensorFlow of its record reader.
logging.getLogger("tensorboard").setLevel(logging.ERROR)
logging.getLogger("tensorflow").addFilter(lambda log: "tf_record_iterator" not in log.getMessage())


@dataclass(frozen=True)
class Curve:
    """One scalar over a run."""

    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Metrics:
    """Which scalar tags a framework writes for accuracy and loss, and what its steps count."""

    train_accuracy: str
    validation_accuracy: str
    train_loss: str
    validation_loss: str
    steps_are_epochs: bool


TRAINING_PASS_FOLDER = "training_pass"  # where either framework's measured training pass logs
TRAINING_PASS_IMAGES = 10_000  # as many as validation has
TFLEARN_TRAINING_ACCURACY = "Accuracy/Training"  # the tags tflearn's pass logs there
TFLEARN_TRAINING_LOSS = "Loss/Training"
# tflearn validates once per epoch, and dl101.tflearn_training.TrainingPass measures training alike.
TFLEARN = Metrics(f"{TRAINING_PASS_FOLDER}/{TFLEARN_TRAINING_ACCURACY}", "Accuracy/Validation",
                  f"{TRAINING_PASS_FOLDER}/{TFLEARN_TRAINING_LOSS}", "Loss/Validation",
                  steps_are_epochs=False)  # fmt: skip
# tflearn's own running averages per step, over augmented mini-batches, without TrainingPass.
TFLEARN_RUNNING_AVERAGES = replace(TFLEARN, train_accuracy="Accuracy", train_loss="Loss")
# Keras logs once per epoch in validation/; dl101.keras_training.MeasuredTraining in training_pass/.
KERAS_ACCURACY, KERAS_LOSS = "epoch_accuracy", "epoch_loss"  # Keras' tags, in each folder
KERAS = Metrics(f"{TRAINING_PASS_FOLDER}/{KERAS_ACCURACY}", f"validation/{KERAS_ACCURACY}",
                f"{TRAINING_PASS_FOLDER}/{KERAS_LOSS}", f"validation/{KERAS_LOSS}",
                steps_are_epochs=True)  # fmt: skip
WHAT_TO_DO = (
    "Train the run again for its full curves: a new run of the same name keeps this folder aside, "
    "damaged file and all, as '<name>.previous-<time>'."
)


class DamagedLogError(RuntimeError):
    """A run's event file is damaged and nothing before the damage holds a scalar."""


class DamagedLogWarning(UserWarning):
    """Part of a run's event files could be read, but one is damaged: its curves stop early."""


class Curves(dict[str, Curve]):
    """Every scalar of a run, by tag; ``damage``: event files read only up to a damaged record."""

    damage: tuple[str, ...] = ()
    started = 0.0  # when the run opened its log: Keras writes its first scalar after an epoch


def damage_in(event_file: Path) -> str | None:
    """What is wrong with ``event_file``, if anything, by TensorFlow's TF1 record reader (tflearn's
    graph mode cannot iterate tf.data): it takes a cut in a record's 12-byte header for an end."""
    import tensorflow as tf

    size, offset = os.path.getsize(event_file), 0  # the size first: a file being written grows
    try:
        for record in tf.compat.v1.io.tf_record_iterator(str(event_file)):
            offset += 16 + len(record)  # data's length (8 bytes), its checksum (4), data, checksum
    except tf.errors.DataLossError as error:
        if "truncated" not in error.message:
            return (
                f"the event file {event_file} is damaged: it has a corrupted record at byte "
                f"{offset} (the record fails its checksum: a byte of it changed)"
            )
    if 0 < size <= offset:  # read to the end, and not empty: a writer saves a record at once
        return None
    return (
        f"the event file {event_file} is damaged: it is cut short at byte {offset}, inside a "
        "record (a crash or a full disk stopped its writer there; if the run is still training, "
        "read it again once it has finished)"
    )


def read_scalars(run: Run | str | os.PathLike[str]) -> Curves:
    """Every scalar of ``run`` (or a folder) by tag, prefixed with its subfolder if any; raises
    ``FileNotFoundError`` if none (never trained), :class:`DamagedLogError` if none for damage."""
    folder = run.folder if isinstance(run, Run) else Path(run)
    files = sorted(folder.rglob("events.out.tfevents.*")) if folder.is_dir() else []
    curves = _read(folder, tuple((f, s.st_size, s.st_mtime_ns) for f in files for s in [f.stat()]))
    if not curves and curves.damage:
        raise DamagedLogError(
            f"No TensorBoard scalars could be read under {folder}: {'; '.join(curves.damage)}. "
            f"Nothing before the damage holds a scalar, so this run's curves are lost. {WHAT_TO_DO}"
        )
    if not curves:
        raise FileNotFoundError(
            f"No TensorBoard scalars under {folder}: this run has not been trained yet (run the "
            "cell that trains it), or its logs were written somewhere else."
            + (" Its event files hold no scalars yet: a run that has just started training "
               "writes its first ones within a few minutes." if files else "")
        )  # fmt: skip
    return curves


# A notebook's plot, table and verdict read the same runs, each read taking about a second.
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
    if curves and curves.damage:
        warnings.warn(
            f"Only part of the run in {folder} could be read: {'; '.join(curves.damage)}. Its "
            f"curves stop early, where the damage starts: what was logged after it is lost. "
            f"{WHAT_TO_DO}",
            DamagedLogWarning,
            stacklevel=3,  # the line that called read_scalars
        )
    return curves


def metrics_of(curves: Curves) -> Metrics:
    """The tags of the framework that wrote ``curves`` (Keras writes ``validation/``)."""
    if any(tag.startswith("validation/") for tag in curves):
        return KERAS
    return TFLEARN if TFLEARN.train_accuracy in curves else TFLEARN_RUNNING_AVERAGES


def start_time(curves: Curves) -> float:
    return curves.started


def validated_epochs(run: Run) -> int:
    """How many epochs of ``run`` ended with a validation: 0 if it never trained."""
    try:
        curves = read_scalars(run)
    except FileNotFoundError:
        return 0
    validation = curves.get(metrics_of(curves).validation_accuracy)
    return 0 if validation is None else len(validation.values)


def is_finished(run: Run) -> bool:
    """Whether ``run`` validated after each epoch it was created for (1 if it has no number)."""
    return validated_epochs(run) >= (run.epochs or 1)
