"""Read training curves back from a run's TensorBoard event files, with TensorBoard's own reader.

The notebooks never keep their own copies of the numbers: every plot and table is made from the
same event files TensorBoard shows, so the two always agree. tflearn and Keras name their
curves differently; :func:`metrics_of` tells which one wrote a run.

TensorBoard's reader stops quietly at a damaged record (a file cut short by a crash or a full
disk, or a changed byte), so every event file read is also checked record by record
(:func:`damage_in`): a damaged run is said to be damaged, never "not trained yet", and what
could be read before the damage comes back flagged (:attr:`Curves.damaged`), with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dl101.runs import Run

import numpy as np
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
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


class DamagedLogError(RuntimeError):
    """A run's event file is damaged and nothing before the damage holds a scalar.

    The message says which file, at which byte, and what to do.
    """


class DamagedLogWarning(UserWarning):
    """Part of a run's event files could be read, but one is damaged: its curves stop early."""


@dataclass(frozen=True)
class Damage:
    """Where an event file stops being readable: every record before ``offset`` is whole.

    ``cut_short``: the file ends inside the record at ``offset`` (a crash or a full disk
    stopped its writer, or a run still training has not written all of it yet); otherwise
    that record fails its checksum (a changed byte). ``empty``: the file has no byte at all.
    """

    file: Path
    offset: int
    cut_short: bool
    empty: bool = False

    def __str__(self) -> str:
        if self.empty:
            what = (
                "it is empty (0 bytes), though TensorBoard's writer saves a first record as soon "
                "as it creates the file: it was cut short, by a full disk or a crash"
            )
        elif self.cut_short:
            what = (
                f"it is cut short at byte {self.offset}, inside a record (a crash or a full disk "
                "stopped its writer there, or a run still training has not written all of it yet)"
            )
        else:
            what = (
                f"it has a corrupted record at byte {self.offset} (the record fails its "
                "checksum: a byte of it changed)"
            )
        return f"the event file {self.file} is damaged: {what}"


class Curves(dict[str, Curve]):
    """Every scalar of a run, keyed by tag: what :func:`read_scalars` returns.

    ``damage`` lists the run's event files that could be read only up to a damaged record:
    then ``damaged`` is true and the curves stop early. It is empty for an intact run.
    """

    damage: tuple[Damage, ...] = ()

    @property
    def damaged(self) -> bool:
        return bool(self.damage)


# An event file is a TFRecord file: each record is its data's length (uint64), a masked CRC32C
# of those 8 bytes (uint32), the data, and a masked CRC32C of the data (uint32).
_LENGTH = struct.Struct("<Q")
_CHECKSUM = struct.Struct("<I")
_HEADER_BYTES = _LENGTH.size + _CHECKSUM.size
_FRAMING_BYTES = _HEADER_BYTES + _CHECKSUM.size


@contextlib.contextmanager
def _quiet_tensorflow_logger() -> Iterator[None]:
    """TensorFlow logs a deprecation notice the first time its record iterator is called."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def damage_in(event_file: Path) -> Damage | None:
    """Where ``event_file`` is damaged (cut short inside a record, or a record failing its
    checksum), or ``None`` if every record in it is whole.

    TensorFlow's record reader (fast, in C++) checks every record's two checksums and stops at
    the first damaged one; the record there is then examined here, so the offset is exact and
    a file that ends inside a record's first 12 bytes, which that reader takes for a clean end,
    is caught too.
    """
    import tensorflow as tf

    offset = 0
    stopped = False
    try:
        with _quiet_tensorflow_logger():
            for record in tf.compat.v1.io.tf_record_iterator(str(event_file)):
                offset += _FRAMING_BYTES + len(record)
    except tf.errors.DataLossError:
        stopped = True
    with open(event_file, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(offset)
        header = handle.read(_HEADER_BYTES)
        if offset == size:
            return Damage(event_file, 0, cut_short=True, empty=True) if size == 0 else None
        if len(header) < _HEADER_BYTES:
            return Damage(event_file, offset, cut_short=True)
        if not stopped:
            return None  # the file grew while it was read: it is being written
        length_bytes = header[: _LENGTH.size]
        (length,) = _LENGTH.unpack(length_bytes)
        (length_checksum,) = _CHECKSUM.unpack_from(header, _LENGTH.size)
        if masked_crc32c(length_bytes) != length_checksum:
            return Damage(event_file, offset, cut_short=False)
        if offset + _FRAMING_BYTES + length > size:
            return Damage(event_file, offset, cut_short=True)
        data = handle.read(length)
        (data_checksum,) = _CHECKSUM.unpack(handle.read(_CHECKSUM.size))
    if masked_crc32c(data) != data_checksum:
        return Damage(event_file, offset, cut_short=False)
    return None  # the record was completed while it was read: it is being written


# Reading a run's event files takes about a second on a CPU, and a notebook's plot, table and
# verdict all read the same runs: keep what was read for as long as the files are unchanged.
_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], Curves]] = {}


def _event_files_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(folder.rglob("events.out.tfevents.*")) if folder.is_dir() else []
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _read(folder: Path, state: tuple[tuple[str, int, int], ...]) -> Curves:
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 0})
    multiplexer.AddRunsFromDirectory(str(folder))
    multiplexer.Reload()
    curves = Curves()
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
    damage = (damage_in(Path(file)) for file, _, _ in state)
    curves.damage = tuple(found for found in damage if found is not None)
    return curves


def what_to_do(damage: tuple[Damage, ...]) -> str:
    """What to do about a run whose event files have ``damage``: the end of every message."""
    still_training = (
        "If the run is still training, read it again once it has finished. Otherwise train "
        if any(found.cut_short and not found.empty for found in damage)
        else "Train "
    )
    return (
        f"{still_training}the run again for its full curves: a new run of the same name keeps "
        "this folder aside, damaged file and all, as '<name>.previous-<time>'."
    )


def read_scalars(run: Run | str | os.PathLike[str]) -> Curves:
    """Every scalar logged by ``run`` (a :class:`Run` or its folder), keyed by tag.

    Tags from a subfolder are prefixed with it (``validation/epoch_accuracy``). Raises
    ``FileNotFoundError`` when the folder holds no scalars, i.e. the run never trained, and
    :class:`DamagedLogError` when it holds none because an event file is damaged. When an event
    file is damaged after some scalars, those are returned with ``damaged`` set, and a
    :class:`DamagedLogWarning` says which file, once for each state of the files.
    """
    folder = run.folder if isinstance(run, Run) else Path(run)
    state = _event_files_state(folder)
    cached = _cache.get(folder)
    fresh = cached is None or cached[0] != state
    if cached is None or fresh:
        _cache[folder] = cached = (state, _read(folder, state) if state else Curves())
    curves = cached[1]
    if not curves and curves.damaged:
        raise DamagedLogError(
            f"No TensorBoard scalars could be read under {folder}: "
            f"{'; '.join(map(str, curves.damage))}. Nothing before the damage holds a scalar, "
            f"so this run's curves are lost. {what_to_do(curves.damage)}"
        )
    if not curves:
        started = (
            " Its event files hold no scalars yet: a run that has just started training writes "
            "its first ones within a few minutes."
            if state
            else ""
        )
        raise FileNotFoundError(
            f"No TensorBoard scalars under {folder}: this run has not been trained yet "
            f"(run the cell that trains it), or its logs were written somewhere else.{started}"
        )
    if fresh and curves.damaged:
        warnings.warn(
            f"Only part of the run in {folder} could be read: "
            f"{'; '.join(map(str, curves.damage))}. Its curves stop early, where the damage "
            f"starts: whatever was logged after it is lost. {what_to_do(curves.damage)}",
            DamagedLogWarning,
            stacklevel=2,
        )
    return curves


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
    """How many epochs of ``run`` ended with a validation pass (0 if it never trained).

    A run whose event files are damaged before any scalar raises :class:`DamagedLogError`
    rather than pass for one that never trained.
    """
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
