"""Publish one profile's run of the notebooks (``full``: hours per notebook on a CPU, so not
committed as outputs) in ``results/<profile>/``: from each notebook's logs and its stamped executed
copy, a README, a plot, the small executed notebook and ``summary.json``. A notebook whose runs are
missing or unfinished here keeps what was published before::

    DL101_LOG_DIR=logs/full python -m maintainers.run_notebooks NAME --profile full --output-dir executed/full
    python -m maintainers.results_archive --profile full   # make full-results NOTEBOOKS=... does both
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
from dl101.verdicts import published_entries, summary_numbers
from maintainers.notebook_outputs import METADATA_KEY, clean, machine_text

import nbformat

# An executed notebook bigger than this is left out of the archive (its plots are kept).
LARGEST_NOTEBOOK_BYTES = 2_000_000


@dataclass(frozen=True)
class Published:
    notebook: str
    claim: claims.Claim | None
    run_names: tuple[str, ...] = ()  # empty: every run in the group
    plotted: tuple[str, ...] = ()  # empty: every run
    x_axis: str = "epoch"

    @property
    def group(self) -> str:
        """The log folder of the notebook's runs: its claim's, else named after the notebook."""
        return (self.claim.group if self.claim else "") or self.notebook


NOTEBOOKS = (
    # Its claim is not tested until experiment_0_three_layer_sets has run too; that one compares.
    Published("experiment_0_few_layers", claims.DEPTH, run_names=("few_layers",)),
    Published("experiment_0_three_layer_sets", claims.DEPTH,
              run_names=("few_layers", "three_layer_sets")),
    *(
        Published(claim.notebook, claim, x_axis=x_axis)
        for claim, x_axis in [(claims.DROPOUT, "epoch"), (claims.L2, "epoch"),
                              (claims.BATCH_SIZE, "time"), (claims.LEARNING_RATE, "epoch")]
    ),
    Published("keras_mnist", None, plotted=claims.MNIST_MODELS),
)  # fmt: skip


def title_of(notebook: str) -> str:
    """The notebook's own title: the first level-one heading of its markdown."""
    cells = nbformat.read(REPO_ROOT / f"{notebook}.ipynb", as_version=4).cells
    headings = (line for cell in cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("# "))  # fmt: skip
    return next(headings).removeprefix("# ")


def runs_of(published: Published, log_root: Path) -> list[Run]:
    """The notebook's runs under ``log_root`` in the order they were made, none set aside."""
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


def publish(
    published: Published, profile: str, log_root: Path, executed_dir: Path, out: Path
) -> dict[str, Any]:
    """Write one notebook's plot (and executed copy); return its summary entry."""
    runs = runs_of(published, log_root)
    entry: dict[str, Any] = {"notebook": published.notebook, "title": title_of(published.notebook)}
    if problem := problem_with(published, runs, profile):
        return entry | {"status": problem}
    executed = executed_dir / f"{published.notebook}.ipynb"
    notebook = nbformat.read(executed, as_version=4) if executed.is_file() else None
    stamp = notebook.metadata.get(METADATA_KEY) if notebook else None
    if not stamp or stamp.get("profile") != profile:
        return entry | {
            "status": f"no executed copy of the {profile} run stamped by run_notebooks in "
            f"{shown_path(executed_dir.resolve())}"
        }
    table = results_table(runs)
    plotted = [run for run in runs if not published.plotted or run.label in published.plotted]
    figure = plot_runs(plotted, x_axis=published.x_axis, title=f"{entry['title']} ({profile})")
    figure.savefig(out / f"{published.notebook}.png", dpi=80)
    entry |= {
        "status": "published",
        **{key: stamp[key] for key in ("wall_time_seconds", "date", "machine", "versions")},
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
    clean(notebook, log_root, f"logs/{profile}")
    copy = out / executed.name
    nbformat.write(notebook, copy)
    if copy.stat().st_size > LARGEST_NOTEBOOK_BYTES:
        copy.unlink()
    else:
        entry["executed_notebook"] = copy.name
    return entry


def report(entries: Sequence[dict[str, Any]], profile: str) -> str:
    """The archive's README: an overview table, then one section per notebook."""
    overview = [
        f"# The `{profile}` profile, measured",
        "",
        "Written by `python -m maintainers.results_archive` from the runs' TensorBoard logs and the executed notebooks' metadata; never edited by hand. "
        "Each claim is judged part by part from the runs' numbers, by today's `dl101.claims`, as the notebooks judge theirs.",
        "",
        "Each notebook ran once, with seed 0: one sample, judged on its own, with no seed study of its own (the `cpu` profile's [seed study](../seed_study/README.md) gives a sense of how far runs differ between seeds). "
        "Runs made before the notebooks measured training accuracy with a pass over the training images show tflearn's running average instead "
        "(see [how the results are measured](../../docs/profiles.md#how-the-results-are-measured)), and so do the gaps made from it.",
        "",
        "| notebook | wall time | parts of its claim that held in this run |",
        "|---|---|---|",
    ]
    sections = []
    for entry in entries:
        name = entry["notebook"]
        sections += ["", f"## {name}", ""]  # the notebooks link here, published or not
        if entry["status"] != "published":
            overview.append(f"| [{name}](#{name}) | | {entry['status']} |")
            sections.append(
                f"Not published: {entry['status']}. To publish it, run `make full-results NOTEBOOKS={name}` (it takes hours on a CPU: see [Run profiles](../../docs/profiles.md))."
            )
            continue
        # The claim judged on this one run by today's code; parts it has no runs for left out.
        claim = next(p.claim for p in NOTEBOOKS if p.notebook == name)
        verdict = claim and claims.verdict(claim, None, {}, summary_numbers(entry["numbers"]))
        parts = (
            [p.part.holds(p.full) for p in verdict.parts if p.full is not None] if verdict else []
        )
        held = f"{sum(parts)} of {len(verdict.parts)}" if verdict and parts else "no claim tested"
        machine, wall_time = machine_text(entry), minutes(entry["wall_time_seconds"])
        overview.append(f"| [{name}](#{name}) | {wall_time} ({machine}) | {held} |")
        versions = ", ".join(f"{library} {number}" for library, number in entry["versions"].items())
        run_on = (
            f"run on {entry['date']} on {machine}, in {wall_time} from the first cell to the last"
        )
        sections += [f"{entry['title']}: {run_on}; {versions}.", "", entry["table"], ""]
        if verdict and parts:
            sections += [f"**{verdict.claim.title}.** {verdict.claim.text}", ""]
            sections += [f"- {p.part.text}: {p.in_one_run(p.full)}" for p in verdict.parts]
            sections.append("")
        sections.append(f"![{entry['title']}]({name}.png)")
        if "executed_notebook" in entry:
            sections += ["", f"The executed notebook: [{name}.ipynb]({name}.ipynb)."]
    return "\n".join(overview + sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="full", help="the profile the runs used")
    parser.add_argument("--log-dir", type=Path, help="default: logs/<profile>")
    parser.add_argument("--executed-dir", type=Path, help="default: executed/<profile>")
    parser.add_argument("--out", type=Path, help="default: results/<profile>")
    parser.add_argument("--page-only", action="store_true", help="README.md from summary.json")
    args = parser.parse_args(argv)
    log_root = (args.log_dir or REPO_ROOT / "logs" / args.profile).resolve()
    out = args.out or REPO_ROOT / "results" / args.profile
    summary = out / "summary.json"
    if args.page_only:
        entries = json.loads(summary.read_text())
    elif not log_root.is_dir():
        parser.error(
            f"no logs at {log_root}: run the notebooks first, with DL101_LOG_DIR={log_root}"
        )
    else:
        out.mkdir(parents=True, exist_ok=True)
        executed_dir = args.executed_dir or REPO_ROOT / "executed" / args.profile
        earlier = published_entries(summary)
        entries = []
        for published in NOTEBOOKS:
            entry = publish(published, args.profile, log_root, executed_dir, out)
            status = entry["status"]
            if status != "published" and published.notebook in earlier:
                entry, status = earlier[published.notebook], f"kept as published before ({status})"
            print(f"  {published.notebook:32} {status}")
            entries.append(entry)
        partial = summary.with_name(f".{summary.name}.partial")  # never a half-written summary
        partial.write_text(json.dumps(entries, indent=2) + "\n")
        os.replace(partial, summary)
    (out / "README.md").write_text(report(entries, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
