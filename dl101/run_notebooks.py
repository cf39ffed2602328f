"""Execute the notebooks headless, in reading order, and print a short summary.

``make run`` calls this. Each notebook runs in a fresh kernel, exactly as Kernel > Restart &
Run All would, and its executed copy (with outputs and plots) is written to ``executed/``: under
a temporary name until the run ends, so an interrupted run never replaces a good copy, and as
``<name>.FAILED.ipynb`` when the notebook fails. A failing notebook, even one whose kernel dies,
does not stop the others; the summary and the exit status say which failed and why.

    python -m dl101.run_notebooks                 # all notebooks
    python -m dl101.run_notebooks start_here      # just one
    python -m dl101.run_notebooks --in-place      # write each notebook back with its outputs
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101.notebook import shown_path, tensorboard_command
from dl101.paths import REPO_ROOT
from dl101.profiles import PROFILE_VARIABLE, choose_profile
from dl101.runs import check_log_dir, log_dir

NOTEBOOKS = (
    "start_here",
    "experiment_0_few_layers",
    "experiment_0_three_layer_sets",
    "experiment_1_dropout",
    "experiment_2_l2",
    "experiment_3_batch_size",
    "experiment_4_learning_rate",
    "keras_mnist",
)
EXECUTED_DIR = REPO_ROOT / "executed"


@dataclass(frozen=True)
class Outcome:
    """How one notebook's run ended; ``executed`` is the copy with its outputs (kept on failure)."""

    notebook: str
    succeeded: bool
    seconds: float
    detail: str
    executed: Path


def execute(source: Path, output_dir: Path, parameters: dict[str, object] | None = None) -> Outcome:
    """Run one notebook in a fresh kernel; never raises for an error inside the notebook.

    The executed copy is written under a temporary name and renamed when the run ends: to
    ``<name>.ipynb`` when it succeeded, to ``<name>.FAILED.ipynb`` when it did not, so the last
    good copy survives a failure or an interruption.
    """
    import papermill

    name = source.stem
    partial = output_dir / f".{name}.partial.ipynb"
    started = time.monotonic()
    try:
        papermill.execute_notebook(
            source, partial, parameters=parameters or {}, cwd=REPO_ROOT, progress_bar=True
        )
    except papermill.PapermillExecutionError as error:
        detail = f"cell {error.exec_count} raised {error.ename}: {error.evalue}"
    except KeyboardInterrupt:
        partial.unlink(missing_ok=True)
        raise
    except Exception as error:  # the kernel died, or could not start
        detail = (
            f"the kernel stopped ({type(error).__name__}: {error}); it may have run out of "
            "memory: close other programs, or run this notebook alone"
        )
    else:
        output = output_dir / source.name
        os.replace(partial, output)
        (output_dir / f"{name}.FAILED.ipynb").unlink(missing_ok=True)
        return Outcome(name, True, time.monotonic() - started, f"executed copy: {output}", output)
    failed = output_dir / f"{name}.FAILED.ipynb"
    if partial.exists():
        os.replace(partial, failed)
    return Outcome(name, False, time.monotonic() - started, detail, failed)


def _write_whole(notebook: Any, path: Path) -> None:
    """Write ``notebook`` to ``path`` under a temporary name first, so no reader sees half of it."""
    import nbformat

    partial = path.with_name(f".{path.stem}.partial.ipynb")
    nbformat.write(notebook, partial)
    os.replace(partial, path)


def stamp_executed(outcome: Outcome, profile: str) -> None:
    """Record in the executed copy's metadata what produced it, as a committed notebook has.

    Papermill copies the source notebook's metadata, so until then the copy carries the stamp
    of the run the notebook was committed with.
    """
    from dl101 import notebook_outputs

    import nbformat

    notebook = nbformat.read(outcome.executed, as_version=4)
    notebook_outputs.stamp(notebook, profile, outcome.seconds)
    _write_whole(notebook, outcome.executed)


def write_back(outcome: Outcome) -> Outcome:
    """Replace the notebook with its stamped executed copy, cleaned (see notebook_outputs)."""
    from dl101 import notebook_outputs

    import nbformat

    notebook = nbformat.read(outcome.executed, as_version=4)
    notebook_outputs.clean(notebook, log_dir())
    source = REPO_ROOT / f"{outcome.notebook}.ipynb"
    _write_whole(notebook, source)
    return Outcome(
        outcome.notebook,
        True,
        outcome.seconds,
        f"written back with its outputs: {source.name}",
        source,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", metavar="NAME", help=f"default: all of {', '.join(NOTEBOOKS)}"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=EXECUTED_DIR, help="where executed copies go"
    )
    parser.add_argument(
        "--profile", help=f"run profile for every notebook (default: ${PROFILE_VARIABLE} or auto)"
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="write each notebook that ran without error back over itself, with its outputs "
        "(cleaned of this machine's paths) and what produced them in its metadata",
    )
    args = parser.parse_args(argv)

    names = [name.removesuffix(".ipynb") for name in args.notebooks]
    unknown = [name for name in names if not (REPO_ROOT / f"{name}.ipynb").is_file()]
    if unknown:
        parser.error(f"no such notebook: {', '.join(unknown)}. Choose from: {', '.join(NOTEBOOKS)}")
    present = [name for name in NOTEBOOKS if (REPO_ROOT / f"{name}.ipynb").is_file()]
    names = names or present
    if args.profile:
        try:
            choose_profile(args.profile)
        except ValueError as error:
            parser.error(str(error))
        # Every kernel inherits it, including notebooks without a parameters cell.
        os.environ[PROFILE_VARIABLE] = args.profile
    try:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        check_log_dir()
    except (OSError, RuntimeError) as error:
        parser.error(str(error))
    if not os.access(args.output_dir, os.W_OK):
        parser.error(
            f"--output-dir {args.output_dir} is not writable: choose a folder you can write to."
        )

    profile = choose_profile(args.profile).name
    print(f"Running {len(names)} notebook(s); TensorBoard logs go to {shown_path(log_dir())}")
    outcomes = []
    for name in names:
        print(f"\n=== {name}.ipynb")
        outcome = execute(REPO_ROOT / f"{name}.ipynb", args.output_dir)
        if outcome.succeeded:
            stamp_executed(outcome, profile)
            if args.in_place:
                outcome = write_back(outcome)
        outcomes.append(outcome)

    print("\nSummary")
    for outcome in outcomes:
        status = "ok    " if outcome.succeeded else "FAILED"
        print(f"  {status} {outcome.notebook:32} {outcome.seconds / 60:5.1f} min  {outcome.detail}")
    print(f"See every run in TensorBoard: {tensorboard_command()}")
    return 0 if all(outcome.succeeded for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
