"""Publish the seed study (``results/seed_study/README.md`` and its plots) from its records alone,
each claim judged by the notebooks' own :mod:`dl101.claims` code. ``--check``: exit 1 if the page
disagrees with the records."""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dl101 import claims, runs, verdicts
from dl101.pictures import ShownFigure
from dl101.reports import minutes
from dl101.verdicts import RULE, spread
from maintainers import seed_study
from maintainers.notebook_outputs import machine_text

import numpy as np

PAGE_DIR = verdicts.RECORDS_DIR.parent


def _records_of(*compared: claims.Claim) -> tuple[str, ...]:
    """The study records the claims compare, each once, in the claims' order."""
    return tuple(dict.fromkeys(record for claim in compared for record in claim.roles.values()))


# Each plot: a title and the study runs it draws.
PLOTS = {
    "depth": (claims.DEPTH.title, _records_of(claims.DEPTH)),
    "dropout_and_l2": ("Experiments 1 and 2: dropout and L2", _records_of(claims.DROPOUT, claims.L2)),
    "batch_size": (claims.BATCH_SIZE.title, _records_of(claims.BATCH_SIZE, claims.LEARNING_RATE_SCALING)),
    "learning_rate": (claims.LEARNING_RATE.title, _records_of(claims.LEARNING_RATE)),
}  # fmt: skip


def _run_rows(numbers: verdicts.Records) -> list[str]:
    lines = [
        "| run | stands for | seeds | final validation accuracy | best validation accuracy | gap (train − validation) | wall time, mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for study_run in seed_study.STUDY_RUNS:
        own = list(numbers.get(study_run.name, {}).values())
        stands_for = ", ".join(f"`{name}`" for name in study_run.notebook_runs) or "study only"
        if not own:
            lines.append(f"| **{study_run.name}** | {stands_for} | 0 | | | | |")
            continue
        # What the run recorded it trained with, less what every run of a notebook records.
        settings = ", ".join(
            f"{key.replace('_', ' ')} {value}"
            for key, value in own[0].settings.items()
            if key not in runs.EXPERIMENT_SETTINGS
        )
        final = spread([run.final_validation_accuracy for run in own], percent=True)
        best = spread([run.best_validation_accuracy for run in own], percent=True)
        gap = spread([run.gap for run in own])
        wall = minutes(statistics.fmean(run.wall_time_seconds for run in own))
        lines.append(f"| **{study_run.name}** ({settings}) | {stands_for} | {len(own)} | {final} | {best} | {gap} | {wall} |")  # fmt: skip
    return lines


def _parts_table(
    judged: Sequence[claims.Claim], numbers: verdicts.Records, first: str,
    margin: str = "margin over the seeds", held: str = "held in",
) -> list[str]:  # fmt: skip
    return [
        f"| {first} | {margin}: mean ± sd (range) | {held} | verdict |",
        "|---|---|---|---|",
        *(
            f"| {part.part.text} | {part.over_seeds('no seed with every run recorded')} |"
            for claim in judged
            for part in claims.judge_claim(claim, None, numbers)
        ),
    ]


# A study run keeps both cores busy by itself (a load of about 2); above this, other work shared
# them, which slows a run down and matters where runs are compared by the clock (experiment 3).
BUSY_LOAD = 3.0


def page(records: Sequence[Mapping[str, Any]]) -> str:
    numbers = verdicts.load_numbers(records)
    cifar_names = {run.name for run in seed_study.STUDY_RUNS}
    cifar_recorded = sum(record["run"] in cifar_names for record in records)
    needed = (set(numbers.get(name, {})) for name in seed_study.NEEDED["keras_mnist"])
    mnist_seeds = len(set.intersection(*needed))
    dates = sorted({record["date"] for record in records})
    by_machine: dict[str, list[float]] = {}
    for record in records:
        by_machine.setdefault(machine_text(dict(record)), []).append(record["seconds"][-1])
    # math.fsum, not sum: Python 3.12's sum rounds differently, and the page must not depend on it
    machines = "; ".join(
        f"{len(times)} runs on {machine} ({minutes(math.fsum(times))} of training in all)"
        for machine, times in sorted(by_machine.items())
    )
    busy = [
        f"{record['run']} seed {record['seed']} ({record['load_average'][1]:.1f})"
        for record in records
        if record.get("load_average") and record["load_average"][1] > BUSY_LOAD
    ]
    exercises = [model for model, _, _ in claims.MNIST_EXERCISE_STEPS]
    changes = "(test accuracy, minus the model it changes)"
    mnist_columns = {"margin": "over the seeds", "held": "helped in"}
    mnist_rows = []
    for model in (*claims.MNIST_MODELS, *exercises):
        own = numbers.get(verdicts.MNIST_RECORD_PREFIX + model, {})
        final = [run.final_validation_accuracy for run in own.values()]
        mnist_rows.append(f"| {model} | {len(own)} | {spread(final, percent=True) if own else ''} |")  # fmt: skip
    lines = [
        "# The seed study: every claim over several seeds",
        "",
        "Written by `python -m maintainers.seed_study_report` from the records in [runs/](runs/); never edited by hand. `make seeds` trains what is missing (it resumes where it stopped) and rewrites this page.",
        "",
        "One run is one sample: runs that differ only in their seed (the starting weights, the order of the images, dropout's choices, each image's random turn) end apart by about as much as some of the effects the experiments look for. "
        f"So every distinct CIFAR-10 run of the experiments is trained here with seeds 0 to {verdicts.SEEDS - 1} in the `cpu` profile (15 epochs on 10,000 training images, validated on the 10,000 test images); "
        "seed 0 has the committed notebooks' settings. Runs that several notebooks share are trained once. Training accuracy is measured after every epoch as validation is (unaugmented training images, dropout off).",
        "",
        f"Recorded: {cifar_recorded} of {len(cifar_names) * verdicts.SEEDS} CIFAR-10 runs ({len(cifar_names)} runs x {verdicts.SEEDS} seeds) "
        f"and keras_mnist with {mnist_seeds} of {verdicts.SEEDS} seeds, {', '.join(dates) or 'none yet'}: {machines or 'none yet'}.",
        "",
    ]
    if busy:
        lines += [
            f"Trained while other work shared the cores (5-minute load average above {BUSY_LOAD:.0f} when the run ended): {', '.join(busy)}. "
            "Their wall times are longer than they would have been on a quiet machine.",
            "",
        ]
    lines += ["## How a claim is judged", "", RULE, "", "## The runs", "", *_run_rows(numbers)]
    lines += ["", "## The claims"]
    for claim in claims.EXPERIMENT_CLAIMS:
        lines += [
            "",
            f"### {claim.title}",
            "",
            claim.text,
            "",
            *_parts_table([claim], numbers, "part of the claim"),
            "",
            f"([the notebook](../../{claim.notebook}.ipynb))",
        ]
    lines += [
        "",
        "## keras_mnist's models",
        "",
        "The whole of `keras_mnist.ipynb`, run with each seed in the `cpu` profile (3 epochs per model on all 60,000 training images); its test set is its validation set. Each step compares a model with the model it was built from.",
        "",
        "| model | seeds | final test accuracy |",
        "|---|---|---|",
        *mnist_rows,
        "",
        *_parts_table(claims.MNIST_STEP_CLAIMS, numbers, f"step {changes}", **mnist_columns),
        "",
        f'Its exercises ("Try this next"), as an earlier version of the notebook trained them in section 4 ({", ".join(exercises)}; same models, same settings):',
        "",
        *_parts_table(
            claims.MNIST_EXERCISE_CLAIMS, numbers, f"exercise {changes}", **mnist_columns
        ),
        "",
        "## The curves",
        "",
        "Each seed is a faint line, the mean over the seeds a solid one: validation accuracy after every epoch.",
    ]
    for name, (title, _) in PLOTS.items():
        lines += ["", f"![{title}]({name}.png)"]
    return "\n".join(lines) + "\n"


def plot(records: Sequence[Mapping[str, Any]], title: str, runs: Sequence[str]) -> bytes:
    """Each run's seeds as faint curves, their mean as a solid one."""
    figure = ShownFigure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    for index, name in enumerate(runs):
        curves = [np.asarray(r["validation_accuracy"]) for r in records if r["run"] == name]
        if not curves:
            continue
        epochs = np.arange(1, len(curves[0]) + 1)
        for curve in curves:
            axes.plot(epochs, curve, color=f"C{index}", alpha=0.25, linewidth=1)
        label = f"{name} ({len(curves)} seeds)"
        axes.plot(epochs, np.mean(curves, axis=0), color=f"C{index}", linewidth=2, label=label)
    axes.set(xlabel="epoch", ylabel="validation accuracy", title=title)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[1]:
        figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maintainers.seed_study_report")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    parser.add_argument("--out", type=Path, default=PAGE_DIR, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    records = verdicts.load_records()
    text = page(records)
    readme = arguments.out / "README.md"
    if arguments.check:
        if not readme.is_file() or readme.read_text() != text:
            print(
                f"{readme} disagrees with the records: run python -m maintainers.seed_study_report"
            )
            return 1
        return 0
    arguments.out.mkdir(parents=True, exist_ok=True)
    readme.write_text(text)
    for name, (title, plotted) in PLOTS.items():
        (arguments.out / f"{name}.png").write_bytes(plot(records, title, plotted))
    print(f"wrote {readme} and {len(PLOTS)} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
