"""What a notebook shows at its end: runs plotted side by side and a table of their results,
read from the runs' TensorBoard logs and the settings each run recorded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dl101.pictures import ShownFigure
from dl101.runs import Run, open_run
from dl101.tensorboard_logs import (
    WHAT_TO_DO,
    DamagedLogError,
    is_finished,
    metrics_of,
    read_scalars,
    validated_epochs,
)
from dl101.verdicts import RunNumbers

import numpy as np


def minutes(seconds: float) -> str:
    """``"2 min 05 s"``: how the tables and verdicts write a duration."""
    whole_minutes, seconds = divmod(round(seconds), 60)
    return f"{whole_minutes} min {seconds:02d} s"


def summarize(run: Run) -> RunNumbers:
    """``run``'s accuracies after every epoch logged in full and when each ended, from its logs."""
    curves = read_scalars(run)
    metrics = metrics_of(curves)
    tags = (metrics.train_accuracy, metrics.validation_accuracy)
    if missing := ", ".join(tag for tag in tags if tag not in curves):
        if curves.damage:
            raise DamagedLogError(
                f"{run.folder} has no {missing} curve: {'; '.join(curves.damage)}, and nothing "
                f"of it was logged before the damage. {WHAT_TO_DO}"
            )
        raise KeyError(f"{run.folder} has no {missing} curve; it has {', '.join(sorted(curves))}.")
    training, validation = (curves[tag] for tag in tags)
    # An epoch counts when both were logged (a running average has many values an epoch).
    epochs = min(len(validation.values), len(training.values))
    last_in_epoch = np.searchsorted(training.steps, validation.steps[:epochs], side="right") - 1
    return RunNumbers(
        validation_accuracy=validation.values[:epochs],
        training_accuracy=training.values[np.clip(last_in_epoch, 0, None)],
        seconds=validation.wall_times[:epochs] - curves.started,
        name=run.label,
        settings=run.settings,
        damage=curves.damage,
    )


def _partial_note(row: RunNumbers) -> str:
    damage = "".join(f" {text[0].upper()}{text[1:]}." for text in row.damage)
    return (
        f"**{row.name} is partial** ({row.shortfall}): its final numbers are those after epoch "
        f"{len(row.validation_accuracy)}, maybe not the end of its training: it is still "
        f"training, was interrupted, or its log lost its last records.{damage} Let it finish, or "
        "train it again, for its results."
    )


def _setting_text(key: str, value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1_000:
        value = f"{value:,}"
    return f"{key.replace('_', ' ')} {value}"


@dataclass(frozen=True)
class ResultsTable:
    """Results of several runs, shown as a table; the settings every run shares are written once."""

    rows: tuple[RunNumbers, ...]

    def to_markdown(self) -> str:
        shared = {
            key: value
            for key, value in (self.rows[0].settings.items() if self.rows else ())
            if all(row.settings.get(key) == value for row in self.rows)
        }
        lines = [
            "| run | final validation accuracy | best validation accuracy "
            "| final training accuracy | gap (train − validation) | wall time | settings |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            own = ", ".join(
                _setting_text(*item) for item in row.settings.items() if item[0] not in shared
            )
            name = f"{row.name} (partial: {row.shortfall})" if row.partial else row.name
            lines.append(
                f"| {name} | {row.final_validation_accuracy:.3f} "
                f"| {row.best_validation_accuracy:.3f} | {row.final_train_accuracy:.3f} "
                f"| {row.gap:+.3f} | {minutes(row.wall_time_seconds)} | {own} |"
            )
        lines += [line for row in self.rows if row.partial for line in ("", _partial_note(row))]
        if shared:
            settings = ", ".join(_setting_text(key, value) for key, value in shared.items())
            lines += ["", f"Every run: {settings}."]
        return "\n".join(lines)

    _repr_markdown_ = __repr__ = to_markdown


def results_table(runs: Sequence[Run]) -> ResultsTable:
    """One row per run, in order: final and best validation accuracy, and more."""
    return ResultsTable(tuple(summarize(run) for run in runs))


def _why_not_compared(other: Run | None, this: Run) -> str:
    """Why the partner run ``other`` would not compare fairly with ``this`` (``""``: it would)."""
    try:
        epochs = 0 if other is None else validated_epochs(other)
    except DamagedLogError:
        return "has a damaged event file"
    if other is None or epochs == 0:
        return "has not been run yet"
    if read_scalars(other).damage:
        return "has a damaged event file"
    if not is_finished(other):
        return (
            f"has not finished ({epochs} of {other.epochs} epochs: it is still training, or was "
            "interrupted)"
        )
    if other.profile != this.profile:
        return f"ran in the {other.profile} profile, this one in {this.profile}"
    if other.seed != this.seed:
        return f"ran with seed {other.seed}, this one with seed {this.seed}"
    return ""


def with_finished_partner(runs: Sequence[Run], partner: str, notebook: str) -> list[Run]:
    """``runs`` and the run ``partner`` if it finished alike, or ``runs`` after saying why not."""
    other = open_run(partner)
    reason = _why_not_compared(other, runs[0])
    if other is not None and not reason:
        return [*runs, other]
    print(
        f"Not compared with {partner}: that run {reason}. To compare, run {notebook} "
        f"in the {runs[0].profile} profile, then re-run the cells below."
    )
    return list(runs)


def plot_runs(
    runs: Sequence[Run], x_axis: str = "epoch", title: str | None = None, log_loss: bool = False
) -> ShownFigure:
    """Accuracy and loss of runs by ``"epoch"`` or ``"time"`` (fair to settings that make an epoch
    cheaper), training dashed, no panel for what no run logged; ``log_loss``: a log-scale loss."""
    if x_axis not in ("epoch", "time"):
        raise ValueError(f'x_axis must be "epoch" or "time", got {x_axis!r}.')
    x_labels = {"epoch": "epoch", "time": "seconds since the run started", "step": "training step"}
    run_curves = {run.label: read_scalars(run) for run in runs}
    metrics = metrics_of(next(iter(run_curves.values())))
    if x_axis == "epoch" and not (
        metrics.steps_are_epochs
        or all(metrics.validation_accuracy in curves for curves in run_curves.values())
    ):
        x_axis = "step"  # tflearn runs without validation: nothing says where an epoch ends
    logged = [
        (quantity, tags)
        for quantity, tags in (
            ("accuracy", (metrics.train_accuracy, metrics.validation_accuracy)),
            ("loss", (metrics.train_loss, metrics.validation_loss)),
        )
        if any(tag in curves for curves in run_curves.values() for tag in tags)
    ]
    legend_rows = math.ceil(len(runs) / 2)  # a training and a validation line per run, 4 a row
    figure = ShownFigure(figsize=(6 * len(logged), 4.5 + 0.25 * legend_rows), layout="constrained")
    all_axes = figure.subplots(1, len(logged), squeeze=False)[0]
    for axes, (quantity, tags) in zip(all_axes, logged, strict=True):
        for index, (name, curves) in enumerate(run_curves.items()):
            for tag, style, kind in zip(tags, ("--", "-"), ("training", "validation"), strict=True):
                if tag not in curves:
                    continue
                curve = curves[tag]
                if x_axis == "time":
                    x = curve.wall_times - curves.started
                elif x_axis == "step":
                    x = curve.steps
                elif metrics.steps_are_epochs:
                    x = curve.steps + 1.0
                else:  # tflearn validates once at the end of every epoch: its first step is one
                    x = curve.steps / curves[metrics.validation_accuracy].steps[0]
                marker = "o" if len(x) < 30 else None  # few points: show each one
                label = f"{name} ({kind})"
                axes.plot(x, curve.values, style, color=f"C{index}", marker=marker, label=label)
        axes.set(xlabel=x_labels[x_axis], ylabel=quantity)
        if quantity == "loss" and log_loss:
            axes.set_yscale("log")
        axes.grid(alpha=0.3)
    # One legend for both panels, below them, so that it never covers a curve.
    handles, labels = all_axes[0].get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="outside lower center", ncols=min(4, len(labels)), fontsize="small"
    )
    if title:
        figure.suptitle(title)
    return figure
