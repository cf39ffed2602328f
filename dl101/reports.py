"""What a notebook shows at its end: runs plotted side by side and a table of their results.

Everything is made from the runs' TensorBoard logs (:mod:`dl101.tensorboard_logs`) and the
settings each run recorded (:mod:`dl101.runs`), so the plot, the table and TensorBoard agree,
and the table says what produced each number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dl101.pictures import ShownFigure
from dl101.runs import Run, open_run
from dl101.tensorboard_logs import (
    TFLEARN_RUNNING_AVERAGES,
    Curve,
    Curves,
    DamagedLogError,
    Metrics,
    is_finished,
    metrics_of,
    read_scalars,
    start_time,
    validated_epochs,
    what_to_do,
)
from dl101.verdicts import RunNumbers

import numpy as np


def minutes(seconds: float) -> str:
    """``"2 min 05 s"``: how the tables and verdicts write a duration."""
    whole_minutes, seconds = divmod(round(seconds), 60)
    return f"{whole_minutes} min {seconds:02d} s"


def summarize(run: Run) -> RunNumbers:
    """``run``'s accuracies after every epoch and when each epoch ended, read from its logs.

    Runs logged before training accuracy was measured after each epoch have tflearn's running
    average per step instead: its last value in each epoch is taken. When the logs stop early
    (a damaged file, an interrupted run), both curves end at the last epoch logged in full.
    """
    curves = read_scalars(run)
    metrics = metrics_of(curves)
    missing = [
        tag for tag in (metrics.train_accuracy, metrics.validation_accuracy) if tag not in curves
    ]
    if missing and curves.damaged:
        raise DamagedLogError(
            f"{run.folder} has no {', '.join(missing)} curve: "
            f"{'; '.join(map(str, curves.damage))}, and nothing of it was logged before the "
            f"damage. {what_to_do(curves.damage)}"
        )
    if missing:
        raise KeyError(
            f"{run.folder} has no {', '.join(missing)} curve; it has {', '.join(sorted(curves))}."
        )
    validation = curves[metrics.validation_accuracy]
    training = curves[metrics.train_accuracy]
    last_in_epoch = np.searchsorted(training.steps, validation.steps, side="right") - 1
    epochs = len(validation.values)
    if metrics != TFLEARN_RUNNING_AVERAGES:
        # The training pass comes once per epoch too: an epoch counts when both were logged.
        epochs = min(epochs, len(training.values))
    return RunNumbers(
        validation_accuracy=validation.values[:epochs],
        training_accuracy=training.values[np.clip(last_in_epoch[:epochs], 0, None)],
        seconds=validation.wall_times[:epochs] - start_time(curves),
        name=run.label,
        settings=run.settings,
        damage=tuple(map(str, curves.damage)),
    )


def _setting_text(key: str, value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1_000:
        value = f"{value:,}"
    return f"{key.replace('_', ' ')} {value}"


@dataclass(frozen=True)
class ResultsTable:
    """Results of several runs; Jupyter shows it as a table.

    Settings every run shares are written once under the table; the ``settings`` column shows
    only what differs between the runs.
    """

    rows: tuple[RunNumbers, ...]

    def _shared_settings(self) -> dict[str, object]:
        first = dict(self.rows[0].settings) if self.rows else {}
        return {
            key: value
            for key, value in first.items()
            if all(row.settings.get(key) == value for row in self.rows)
        }

    def to_markdown(self) -> str:
        shared = self._shared_settings()
        lines = [
            "| run | final validation accuracy | best validation accuracy "
            "| final training accuracy | gap (train − validation) | wall time | settings |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            own = ", ".join(
                _setting_text(key, value)
                for key, value in row.settings.items()
                if key not in shared
            )
            name = f"{row.name} (partial: {row.shortfall})" if row.partial else row.name
            lines.append(
                f"| {name} | {row.final_validation_accuracy:.3f} "
                f"| {row.best_validation_accuracy:.3f} | {row.final_train_accuracy:.3f} "
                f"| {row.gap:+.3f} | {minutes(row.wall_time_seconds)} | {own} |"
            )
        for row in self.rows:
            if row.partial:
                lines += ["", row.partial_note()]
        if shared:
            settings = ", ".join(_setting_text(key, value) for key, value in shared.items())
            lines += ["", f"Every run: {settings}."]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return self.to_markdown()

    def __getitem__(self, name: str) -> RunNumbers:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(
            f"No run named {name!r} in this table; it has {[r.name for r in self.rows]}."
        )


def results_table(runs: Sequence[Run]) -> ResultsTable:
    """One row per run, in order: final and best validation accuracy, and more."""
    return ResultsTable(tuple(summarize(run) for run in runs))


def _damage_of(run: Run) -> str | None:
    """Why ``run``'s logs cannot be trusted for a comparison, if a damaged event file is why."""
    try:
        curves = read_scalars(run)
    except DamagedLogError:
        return "has a damaged event file, with no curve that can be read"
    except FileNotFoundError:
        return None
    if curves.damaged:
        return "has a damaged event file: its curves stop early"
    return None


def with_finished_partner(runs: Sequence[Run], partner: str, notebook: str) -> list[Run]:
    """``runs`` and the run ``partner`` from another notebook, if it finished alike (profile, seed).

    Otherwise ``runs`` alone, after a line that says which notebook to run: a partner run that
    is still training, was interrupted, or used another profile would compare unfairly.
    """
    profile = runs[0].profile if runs else None
    other = open_run(partner)
    damaged = _damage_of(other) if other is not None else None
    if damaged:
        reason = damaged
    elif other is None or validated_epochs(other) == 0:
        reason = "has not been run yet"
    elif not is_finished(other):
        reason = (
            f"has not finished ({validated_epochs(other)} of {other.epochs} epochs: it is "
            "still training, or was interrupted)"
        )
    elif other.profile != profile:
        reason = f"ran in the {other.profile} profile, this one in {profile}"
    elif runs and other.seed != runs[0].seed:
        reason = f"ran with seed {other.seed}, this one with seed {runs[0].seed}"
    else:
        return [*runs, other]
    print(
        f"Not compared with {partner}: that run {reason}. To compare, run {notebook} "
        f"in the {profile} profile, then re-run the cells below."
    )
    return list(runs)


X_AXIS_LABELS = {"epoch": "epoch", "time": "seconds since the run started", "step": "training step"}


def _x_values(curve: Curve, curves: Curves, metrics: Metrics, x_axis: str) -> np.ndarray:
    """Where a curve's points go along the x axis: epoch, training step, or seconds since start."""
    if x_axis == "time":
        return curve.wall_times - start_time(curves)
    if x_axis == "step":
        return curve.steps
    if metrics.steps_are_epochs:
        return curve.steps + 1.0
    # tflearn validates once at the end of every epoch, so its first step is one epoch long.
    return curve.steps / curves[metrics.validation_accuracy].steps[0]


def plot_runs(
    runs: Sequence[Run], x_axis: str = "epoch", title: str | None = None, log_loss: bool = False
) -> ShownFigure:
    """Accuracy and loss of several runs side by side: training dashed, validation solid.

    ``x_axis`` is ``"epoch"`` or ``"time"`` (seconds since the run started: the fair way to
    compare settings that make each epoch cheaper or dearer, like the batch size). A quantity
    no run logged (a regression has no accuracy) gets no panel; ``log_loss`` draws the loss
    on a logarithmic scale.
    """
    if x_axis not in ("epoch", "time"):
        raise ValueError(f'x_axis must be "epoch" or "time", got {x_axis!r}.')
    run_curves = {run.label: read_scalars(run) for run in runs}
    metrics = metrics_of(next(iter(run_curves.values())))
    if x_axis == "epoch" and not (
        metrics.steps_are_epochs
        or all(metrics.validation_accuracy in curves for curves in run_curves.values())
    ):
        x_axis = "step"
    logged = [
        (quantity, tags)
        for quantity, tags in (
            ("accuracy", (metrics.train_accuracy, metrics.validation_accuracy)),
            ("loss", (metrics.train_loss, metrics.validation_loss)),
        )
        if any(tag in curves for curves in run_curves.values() for tag in tags)
    ]
    rows_of_legend = -(-2 * len(runs) // 4)
    height = 4.5 + 0.25 * rows_of_legend
    figure = ShownFigure(figsize=(6 * len(logged), height), layout="constrained")
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
        if quantity == "loss" and log_loss:
            axes.set_yscale("log")
        axes.grid(alpha=0.3)
    # One legend for both panels, below them, so that it never covers a curve.
    handles, labels = all_axes[0].get_legend_handles_labels()
    columns = min(4, len(labels))
    figure.legend(handles, labels, loc="outside lower center", ncols=columns, fontsize="small")
    if title:
        figure.suptitle(title)
    return figure
