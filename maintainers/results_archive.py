"""Publish one profile's run of the notebooks in ``results/<profile>/``, written from its logs.

The ``full`` profile (the article's 50 epochs on all 50,000 images) takes hours per notebook on
a CPU, so its notebooks are not committed with those outputs; their results are published here
instead. For each notebook this reads the runs it made (their TensorBoard logs and recorded
settings, under the log directory the run used) and the executed copy that ``run_notebooks``
stamped (wall time, library versions, processor), and writes:

- ``results/<profile>/README.md``: per notebook, its wall time, results table, the verdict on
  the article's claim (made by the same :mod:`dl101.claims` function the notebook calls), the
  settings of every run and the versions that produced them;
- ``results/<profile>/<notebook>.png``: the comparison plot;
- ``results/<profile>/<notebook>.ipynb``: the executed notebook, cleaned, when it is small;
- ``results/<profile>/summary.json``: the same, for :mod:`maintainers.results_section`.

Never the raw event files. A notebook whose runs are missing or unfinished here keeps what an
earlier publication wrote for it (the logs are not committed, so a fresh clone has none), and
is listed as not run yet if there was nothing.
Run a notebook, then publish it (``make full-results NOTEBOOKS=...`` does both)::

    DL101_LOG_DIR=logs/full python -m maintainers.run_notebooks NAME --profile full --output-dir executed/full
    python -m maintainers.results_archive --profile full
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101 import claims
from dl101.notebook import shown_path
from dl101.paths import REPO_ROOT
from dl101.reports import minutes, plot_runs, results_table
from dl101.runs import PREVIOUS_RUN_MARKER, SETTINGS_FILE, Run, open_run
from dl101.tensorboard_logs import is_finished, validated_epochs
from dl101.verdicts import summary_numbers
from maintainers.notebook_outputs import METADATA_KEY, clean, machine_text

import nbformat

# An executed notebook bigger than this is left out of the archive (its plots are kept).
LARGEST_NOTEBOOK_BYTES = 2_000_000


@dataclass(frozen=True)
class Published:
    """What to publish of one notebook: its runs, the claim it tests and how it plots them."""

    notebook: str
    title: str
    group: str
    claim: claims.Claim | None
    run_names: tuple[str, ...] = ()  # empty: every run in the group
    plotted: tuple[str, ...] = ()  # empty: every run
    x_axis: str = "epoch"


NOTEBOOKS = (
    Published(
        "experiment_0_few_layers",
        "Experiment 0: one set of layers",
        "experiment_0",
        # Not tested until experiment_0_three_layer_sets has run too; that one compares them.
        claims.DEPTH,
        run_names=("few_layers",),
    ),
    Published(
        "experiment_0_three_layer_sets",
        claims.DEPTH.title,
        "experiment_0",
        claims.DEPTH,
        run_names=("few_layers", "three_layer_sets"),
    ),
    Published(
        "experiment_1_dropout",
        claims.DROPOUT.title,
        "experiment_1_dropout",
        claims.DROPOUT,
    ),
    Published(
        "experiment_2_l2",
        claims.L2.title,
        "experiment_2_l2",
        claims.L2,
    ),
    Published(
        "experiment_3_batch_size",
        claims.BATCH_SIZE.title,
        "experiment_3_batch_size",
        claims.BATCH_SIZE,
        x_axis="time",
    ),
    Published(
        "experiment_4_learning_rate",
        claims.LEARNING_RATE.title,
        "experiment_4_learning_rate",
        claims.LEARNING_RATE,
    ),
    Published(
        "keras_mnist",
        "Keras on MNIST",
        "keras_mnist",
        None,
        plotted=claims.MNIST_MODELS,
    ),
)


def runs_of(published: Published, log_root: Path) -> list[Run]:
    """The notebook's runs under ``log_root``, in the order they were made; runs set aside are not."""
    group = log_root / published.group
    folders = [
        settings.parent
        for settings in group.glob(f"*/{SETTINGS_FILE}")
        if PREVIOUS_RUN_MARKER not in settings.parent.name
        and (not published.run_names or settings.parent.name in published.run_names)
    ]
    folders.sort(key=lambda folder: (folder / SETTINGS_FILE).stat().st_mtime)
    runs = [open_run(f"{published.group}/{folder.name}", log_root) for folder in folders]
    return [run for run in runs if run is not None]


def problem_with(published: Published, runs: Sequence[Run], profile: str) -> str | None:
    """Why the runs cannot be published yet, or ``None`` if they can."""
    found = {run.label for run in runs}
    missing = [name for name in published.run_names if name not in found]
    if not runs or missing:
        return f"not run yet (no logs of {', '.join(missing) or published.group})"
    for run in runs:
        if run.profile != profile:
            return f"{run.name} ran in the {run.profile} profile, not {profile}"
        if not is_finished(run):
            return f"{run.name} has not finished ({validated_epochs(run)} of {run.epochs} epochs)"
    return None


def _stamp_of(executed: Path, profile: str) -> dict[str, Any] | None:
    if not executed.is_file():
        return None
    stamp = nbformat.read(executed, as_version=4).metadata.get(METADATA_KEY)
    return stamp if stamp and stamp.get("profile") == profile else None


def publish(
    published: Published, profile: str, log_root: Path, executed_dir: Path, out: Path
) -> dict[str, Any]:
    """Write one notebook's plot (and executed copy); return its summary entry."""
    runs = runs_of(published, log_root)
    entry: dict[str, Any] = {"notebook": published.notebook, "title": published.title}
    if problem := problem_with(published, runs, profile):
        return entry | {"status": problem}
    executed = executed_dir / f"{published.notebook}.ipynb"
    stamp = _stamp_of(executed, profile)
    if stamp is None:
        return entry | {
            "status": f"no executed copy of the {profile} run stamped by run_notebooks in "
            f"{shown_path(executed_dir.resolve())}"
        }
    table = results_table(runs)
    plotted = [run for run in runs if not published.plotted or run.label in published.plotted]
    figure = plot_runs(plotted, x_axis=published.x_axis, title=f"{published.title} ({profile})")
    figure.savefig(out / f"{published.notebook}.png", dpi=80)
    entry |= {
        "status": "published",
        "wall_time_seconds": stamp["wall_time_seconds"],
        "date": stamp["date"],
        "machine": stamp["machine"],
        "versions": stamp["versions"],
        "table": table.to_markdown(),
        "runs": {run.label: dict(run.settings) for run in runs},
        # What the claims read, as data: the README and the notebooks judge from these.
        "numbers": {
            row.name: {
                "final_validation_accuracy": row.final_validation_accuracy,
                "best_validation_accuracy": row.best_validation_accuracy,
                "final_training_accuracy": row.final_train_accuracy,
                "wall_time_seconds": row.wall_time_seconds,
            }
            for row in table.rows
        },
    }
    notebook = nbformat.read(executed, as_version=4)
    clean(notebook, log_root, f"logs/{profile}")
    copy = out / executed.name
    nbformat.write(notebook, copy)
    if copy.stat().st_size > LARGEST_NOTEBOOK_BYTES:
        copy.unlink()
    else:
        entry["executed_notebook"] = copy.name
    return entry


def _verdict(entry: dict[str, Any]) -> claims.Verdict | None:
    """The notebook's claim judged part by part on this one run by today's code (None: no claim)."""
    claim = next(p.claim for p in NOTEBOOKS if p.notebook == entry["notebook"])
    if claim is None:
        return None
    return claims.verdict(claim, None, {}, summary_numbers(entry["numbers"]))


def report(entries: Sequence[dict[str, Any]], profile: str) -> str:
    """The archive's README: an overview table, then one section per notebook."""
    lines = [
        f"# The `{profile}` profile, measured",
        "",
        "Written by `python -m maintainers.results_archive` from the runs' TensorBoard logs and the "
        "executed notebooks' metadata; never edited by hand. Each claim is judged part by part "
        "from the runs' numbers, by today's `dl101.claims`, as the notebooks judge theirs.",
        "",
        "Each notebook ran once, with seed 0: one sample, judged on its own, with no seed study of "
        "its own (the `cpu` profile's [seed study](../seed_study/README.md) gives a sense of how "
        "far runs differ between seeds). Runs made before the notebooks measured training accuracy "
        "with a pass over the training images show tflearn's running average instead (see "
        "[how the results are measured](../../docs/profiles.md#how-the-results-are-measured)), "
        "and so do the gaps made from it.",
        "",
        "| notebook | wall time | parts of its claim that held in this run |",
        "|---|---|---|",
    ]
    for entry in entries:
        link = f"[{entry['notebook']}](#{entry['notebook']})"
        if entry["status"] != "published":
            lines.append(f"| {link} | | {entry['status']} |")
            continue
        verdict = _verdict(entry)
        parts = (
            [p.part.holds(p.full) for p in verdict.parts if p.full is not None] if verdict else []
        )
        held = f"{sum(parts)} of {len(verdict.parts)}" if verdict and parts else "no claim tested"
        lines.append(
            f"| {link} | {minutes(entry['wall_time_seconds'])} ({machine_text(entry)}) | {held} |"
        )
    for entry in entries:
        if entry["status"] != "published":
            # Notebooks link to their section here, published or not.
            lines += [
                "",
                f"## {entry['notebook']}",
                "",
                f"Not published: {entry['status']}. To publish it, run "
                f"`make full-results NOTEBOOKS={entry['notebook']}` (it takes hours on a CPU: see "
                "[Run profiles](../../docs/profiles.md)).",
            ]
            continue
        versions = ", ".join(f"{name} {number}" for name, number in entry["versions"].items())
        lines += [
            "",
            f"## {entry['notebook']}",
            "",
            f"{entry['title']}: run on {entry['date']} on {machine_text(entry)}, in "
            f"{minutes(entry['wall_time_seconds'])} from the first cell to the last; {versions}.",
            "",
            entry["table"],
            "",
        ]
        verdict = _verdict(entry)
        if verdict and any(part.full is not None for part in verdict.parts):
            lines += [f"**{verdict.claim.title}.** {verdict.claim.text}", ""]
            lines += [f"- {part.part.text}: {part.in_one_run(part.full)}" for part in verdict.parts]
            lines.append("")
        lines.append(f"![{entry['title']}]({entry['notebook']}.png)")
        if "executed_notebook" in entry:
            lines += [
                "",
                f"The executed notebook: [{entry['notebook']}.ipynb]({entry['notebook']}.ipynb).",
            ]
    return "\n".join(lines) + "\n"


def published_entries(summary: Path) -> dict[str, dict[str, Any]]:
    """The published entries of a ``summary.json``, by notebook; empty if there is none."""
    if not summary.is_file():
        return {}
    return {
        entry["notebook"]: entry
        for entry in json.loads(summary.read_text())
        if entry["status"] == "published"
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="full", help="the profile the runs used")
    parser.add_argument(
        "--log-dir", type=Path, help="where the runs logged (default: logs/<profile>)"
    )
    parser.add_argument(
        "--executed-dir", type=Path, help="the executed copies (default: executed/<profile>)"
    )
    parser.add_argument("--out", type=Path, help="default: results/<profile>")
    parser.add_argument(
        "--page-only",
        action="store_true",
        help="rewrite README.md from summary.json alone (after a change to the claims' code)",
    )
    args = parser.parse_args(argv)
    log_root = (args.log_dir or REPO_ROOT / "logs" / args.profile).resolve()
    executed_dir = args.executed_dir or REPO_ROOT / "executed" / args.profile
    out = args.out or REPO_ROOT / "results" / args.profile
    if args.page_only:
        entries = json.loads((out / "summary.json").read_text())
        (out / "README.md").write_text(report(entries, args.profile))
        return 0
    if not log_root.is_dir():
        parser.error(
            f"no logs at {log_root}: run the notebooks first, with DL101_LOG_DIR={log_root}"
        )
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.json"
    earlier = published_entries(summary)
    entries = []
    for published in NOTEBOOKS:
        entry = publish(published, args.profile, log_root, executed_dir, out)
        if entry["status"] != "published" and published.notebook in earlier:
            print(f"  {published.notebook:32} kept as published before ({entry['status']})")
            entry = earlier[published.notebook]
        else:
            print(f"  {published.notebook:32} {entry['status']}")
        entries.append(entry)
    partial = summary.with_name(f".{summary.name}.partial")
    partial.write_text(json.dumps(entries, indent=2) + "\n")
    os.replace(partial, summary)
    (out / "README.md").write_text(report(entries, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
