"""Read training curves back from TensorBoard logs, plot runs side by side, tabulate results.

The notebooks never keep their own copies of the numbers: everything shown at the end of a
notebook is read from the same event files TensorBoard shows, with TensorBoard's own reader,
so the plot, the table and TensorBoard always agree.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dl101.logs import SETTINGS_FILE

import numpy as np
from matplotlib.figure import Figure
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.util import tensor_util

# TensorBoard warns when tflearn writes the graph twice; that is harmless here.
logging.getLogger("tensorboard").setLevel(logging.ERROR)

RunPaths = Mapping[str, "str | os.PathLike[str]"]


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


# tflearn logs every training step; "Accuracy" and "Loss" are its smoothed running values,
# and validation is logged once per epoch.
TFLEARN = Metrics(
    "Accuracy", "Accuracy/Validation", "Loss", "Loss/Validation", steps_are_epochs=False
)
# Keras' TensorBoard callback logs once per epoch, in train/ and validation/ subfolders.
KERAS = Metrics(
    "train/epoch_accuracy", "validation/epoch_accuracy", "train/epoch_loss", "validation/epoch_loss",
    steps_are_epochs=True,
)  # fmt: skip


def read_scalars(run_path: str | os.PathLike[str]) -> dict[str, Curve]:
    """Every scalar logged under ``run_path``, keyed by tag.

    Tags from a subfolder are prefixed with it (``validation/epoch_accuracy``). Raises
    ``FileNotFoundError`` when the folder holds no event files, i.e. the run never trained.
    """
    run_path = Path(run_path)
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 0})
    if run_path.is_dir():
        multiplexer.AddRunsFromDirectory(str(run_path))
    multiplexer.Reload()
    curves: dict[str, Curve] = {}
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
    if not curves:
        raise FileNotFoundError(
            f"No TensorBoard scalars under {run_path}: this run has not been trained yet "
            "(run the cell that trains it), or its logs were written somewhere else."
        )
    return curves


def _knows_epochs(curves: dict[str, Curve], metrics: Metrics) -> bool:
    return metrics.steps_are_epochs or metrics.validation_accuracy in curves


def _x_values(curve: Curve, curves: dict[str, Curve], metrics: Metrics, x_axis: str) -> np.ndarray:
    """Where a curve's points go along the x axis: epoch, training step, or seconds since start."""
    if x_axis == "time":
        return curve.wall_times - _start_time(curves)
    if x_axis == "step":
        return curve.steps
    if metrics.steps_are_epochs:
        return curve.steps + 1.0
    # tflearn validates once at the end of every epoch, so its first step is one epoch long.
    return curve.steps / curves[metrics.validation_accuracy].steps[0]


def _start_time(curves: dict[str, Curve]) -> float:
    return min(curve.run_started for curve in curves.values())


@dataclass(frozen=True)
class RunResult:
    """What a run ended with, read from its logs."""

    name: str
    final_validation_accuracy: float
    best_validation_accuracy: float
    final_train_accuracy: float
    wall_time_seconds: float
    settings: str = ""

    @property
    def gap(self) -> float:
        """Training minus validation accuracy: large means overfitting."""
        return self.final_train_accuracy - self.final_validation_accuracy


def _settings_text(run_path: Path) -> str:
    """The settings :func:`dl101.logs.new_run` saved beside a run, as ``key value, ...``."""
    settings_file = run_path / SETTINGS_FILE
    if not settings_file.is_file():
        return ""
    settings = json.loads(settings_file.read_text())
    return ", ".join(f"{key} {value}" for key, value in settings.items())


def _minutes(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


def summarize(name: str, run_path: str | os.PathLike[str], metrics: Metrics = TFLEARN) -> RunResult:
    curves = read_scalars(run_path)
    missing = [
        tag for tag in (metrics.train_accuracy, metrics.validation_accuracy) if tag not in curves
    ]
    if missing:
        raise KeyError(
            f"{run_path} has no {', '.join(missing)} curve; it has {', '.join(sorted(curves))}."
        )
    validation = curves[metrics.validation_accuracy].values
    last_written = max(float(curve.wall_times.max()) for curve in curves.values())
    return RunResult(
        name=name,
        final_validation_accuracy=float(validation[-1]),
        best_validation_accuracy=float(validation.max()),
        final_train_accuracy=float(curves[metrics.train_accuracy].values[-1]),
        wall_time_seconds=last_written - _start_time(curves),
        settings=_settings_text(Path(run_path)),
    )


def best_validation_accuracy_within(
    run_path: str | os.PathLike[str], seconds: float, metrics: Metrics = TFLEARN
) -> float:
    """The best validation accuracy a run had reached ``seconds`` after it started (NaN: none yet).

    Settings that make each epoch cheaper or dearer (the batch size) compare fairly this way.
    """
    curves = read_scalars(run_path)
    validation = curves[metrics.validation_accuracy]
    in_time = validation.values[validation.wall_times - _start_time(curves) <= seconds]
    return float(in_time.max()) if len(in_time) else float("nan")


@dataclass(frozen=True)
class ResultsTable:
    """Results of several runs; Jupyter shows it as a table."""

    rows: tuple[RunResult, ...]

    def to_markdown(self) -> str:
        with_settings = any(row.settings for row in self.rows)
        lines = [
            "| run | final validation accuracy | best validation accuracy "
            "| final training accuracy | gap (train − validation) | wall time |"
            + (" settings |" if with_settings else ""),
            "|---|---|---|---|---|---|" + ("---|" if with_settings else ""),
        ]
        for row in self.rows:
            lines.append(
                f"| {row.name} | {row.final_validation_accuracy:.3f} "
                f"| {row.best_validation_accuracy:.3f} | {row.final_train_accuracy:.3f} "
                f"| {row.gap:+.3f} | {_minutes(row.wall_time_seconds)} |"
                + (f" {row.settings} |" if with_settings else "")
            )
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __getitem__(self, name: str) -> RunResult:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)


def describe_comparison(table: ResultsTable, baseline: str, variant: str) -> str:
    """One sentence comparing two runs of a table, with every number taken from it."""
    base, other = table[baseline], table[variant]
    difference = 100 * (other.final_validation_accuracy - base.final_validation_accuracy)
    return (
        f"**{variant}** ended at {other.final_validation_accuracy:.1%} validation accuracy "
        f"against {base.final_validation_accuracy:.1%} for **{baseline}** "
        f"({difference:+.1f} points; best {other.best_validation_accuracy:.1%} against "
        f"{base.best_validation_accuracy:.1%}). Training minus validation accuracy was "
        f"{100 * other.gap:+.1f} points against {100 * base.gap:+.1f}, and training took "
        f"{_minutes(other.wall_time_seconds)} against {_minutes(base.wall_time_seconds)}."
    )


def results_table(runs: RunPaths, metrics: Metrics = TFLEARN) -> ResultsTable:
    """One row per run (name -> run folder): final and best validation accuracy, and more."""
    return ResultsTable(tuple(summarize(name, path, metrics) for name, path in runs.items()))


class ShownFigure(Figure):
    """A figure that Jupyter draws by itself as a PNG, without pyplot.

    Made outside pyplot, a figure is shown exactly once, when a cell returns it, and never
    stays alive in pyplot's list of open figures.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


X_AXIS_LABELS = {"epoch": "epoch", "time": "seconds since the run started", "step": "training step"}


def plot_runs(
    runs: RunPaths, metrics: Metrics = TFLEARN, x_axis: str = "epoch", title: str | None = None
) -> Figure:
    """Accuracy and loss of several runs side by side: training dashed, validation solid.

    ``x_axis`` is ``"epoch"`` or ``"time"`` (seconds since the run started: the fair way to
    compare settings that make each epoch cheaper or dearer, like the batch size). A quantity
    no run logged (a regression has no accuracy) gets no panel.
    """
    if x_axis not in ("epoch", "time"):
        raise ValueError(f'x_axis must be "epoch" or "time", got {x_axis!r}.')
    run_curves = {name: read_scalars(path) for name, path in runs.items()}
    if x_axis == "epoch" and not all(_knows_epochs(c, metrics) for c in run_curves.values()):
        x_axis = "step"
    logged = [
        (quantity, tags)
        for quantity, tags in (
            ("accuracy", (metrics.train_accuracy, metrics.validation_accuracy)),
            ("loss", (metrics.train_loss, metrics.validation_loss)),
        )
        if any(tag in curves for curves in run_curves.values() for tag in tags)
    ]
    figure = ShownFigure(figsize=(6 * len(logged), 4.5), layout="constrained")
    all_axes = figure.subplots(1, len(logged), squeeze=False)[0]
    for axes, (quantity, tags) in zip(all_axes, logged, strict=True):
        for index, (name, curves) in enumerate(run_curves.items()):
            for tag, style, kind in zip(tags, ("--", "-"), ("training", "validation"), strict=True):
                if tag not in curves:
                    continue
                x = _x_values(curves[tag], curves, metrics, x_axis)
                marker = "o" if len(x) < 30 else None  # few points: show each one
                label = f"{name} ({kind})"
                axes.plot(
                    x, curves[tag].values, style, color=f"C{index}", marker=marker, label=label
                )
        axes.set(xlabel=X_AXIS_LABELS[x_axis], ylabel=quantity)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    return figure
