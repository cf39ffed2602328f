"""The seed study: every distinct run of the experiment notebooks, trained with several seeds.

One run is one sample. Two runs that differ only in their seed (the starting weights, the order
of the images, which neurons dropout switches off, how each image is turned) end about a point
apart, so a verdict drawn from one pair of runs can be noise. This module executes the notebooks
themselves, whose code is the only definition of each network, with seeds 0, 1, 2, ... in the
``cpu`` profile (seed 0 is the run the notebooks are committed with), and records each run the
study needs, read from the TensorBoard logs the notebook wrote, as a small JSON file under
``results/seed_study/runs/``, which :mod:`maintainers.seed_study_report` turns into tables, plots
and verdicts. A run that several notebooks make (the base network without dropout in experiments
1 and 2) is recorded once, from one of them.

A notebook is given its parameters by papermill: ``profile_name``, ``seed`` and, for the runs
only the study trains, ``large_batch_learning_rate``. One whose parameters cell lacks a parameter
the study would give it is refused before it starts: it would train with its own value, and the
record would say otherwise.

On a 2-core CPU the whole study takes hours, so it resumes: started again, it trains only the
runs not yet recorded. Each notebook executes in a process of its own, so an interrupted or
failed execution leaves nothing recorded and the next start trains it again (its partial logs
are set aside by :func:`dl101.runs.new_run`, never mixed in)::

    make seeds                                # or: python -m maintainers.seed_study --seeds 5
    python -m maintainers.seed_study --list   # what is recorded and what is still to train
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dl101 import claims
from dl101.paths import REPO_ROOT
from dl101.runs import DEFAULT_SEED, Run
from dl101.verdicts import PROFILE, SEEDS, record_path, records_dir

LOG_GROUP = "seed_study"
LARGE_BATCH_LEARNING_RATE = "large_batch_learning_rate"
# How a notebook must take each parameter the study gives it: said when one is missing.
PARAMETER_USES = {
    "profile_name": "`profile_name = None` in its parameters cell, passed to "
    "`dl101.prepare_notebook(profile_name)`",
    "seed": "`seed = 0` in its parameters cell, passed to `dl101.Experiment(..., seed=seed)`",
    LARGE_BATCH_LEARNING_RATE: "`large_batch_learning_rate = 0.001` in its parameters cell, "
    "passed as batch 2,000's `learning_rate` to `experiment.new_run(...)`",
}


@dataclass(frozen=True)
class NotebookExecution:
    """A notebook, and the parameters it is executed with besides its profile and seed."""

    notebook: str
    parameters: tuple[tuple[str, float], ...] = ()

    @property
    def label(self) -> str:
        """Its log folder's name: ``experiment_3_batch_size-large_batch_learning_rate_0.006325``."""
        return "-".join([self.notebook, *(f"{name}_{value}" for name, value in self.parameters)])


@dataclass(frozen=True)
class StudyRun:
    """One distinct training run and the notebook runs it stands for.

    It is recorded from the run ``recorded_from`` (by default the first of ``notebook_runs``)
    that ``notebook`` makes when executed with ``parameters``; its settings are what that run
    recorded, so they are written once, in the notebook.
    """

    name: str
    notebook: str
    notebook_runs: tuple[str, ...] = ()
    trained_as: str | None = None
    parameters: dict[str, float] = field(default_factory=dict)

    @property
    def recorded_from(self) -> str:
        return self.trained_as or self.notebook_runs[0]

    @property
    def execution(self) -> NotebookExecution:
        return NotebookExecution(self.notebook, tuple(sorted(self.parameters.items())))


# The slides' rule for a batch X times larger is the learning rate divided by X "(or sqrt(X))";
# today's rule of thumb scales it up. Batch 2000 is 40 times batch 50: both ways by sqrt(40),
# from experiment 3's learning rate.
SCALE_FOR_40_TIMES_THE_BATCH = 40**0.5
EXPERIMENT_3_LEARNING_RATE = 0.001


def _batch_2000_with_learning_rate(name: str, learning_rate: float) -> StudyRun:
    """A run only the study trains: experiment 3's batch 2,000, given another learning rate."""
    return StudyRun(
        name,
        "experiment_3_batch_size",
        trained_as="experiment_3_batch_size/batch_2000",
        parameters={LARGE_BATCH_LEARNING_RATE: round(learning_rate, 6)},
    )


STUDY_RUNS: tuple[StudyRun, ...] = (
    StudyRun("few_layers", "experiment_0_few_layers", ("experiment_0/few_layers",)),
    StudyRun("linear", "experiment_0_few_layers", ("experiment_0/linear",)),
    StudyRun("three_layer_sets", "experiment_0_three_layer_sets", ("experiment_0/three_layer_sets",)),
    # base and base_dropout come from experiment 1, whose claim compares the two; the other
    # notebooks that make them train them again, and that run is not recorded.
    StudyRun(
        "base", "experiment_1_dropout",
        ("experiment_1_dropout/without_dropout", "experiment_2_l2/without_l2"),
    ),
    StudyRun(
        "base_dropout", "experiment_1_dropout",
        ("experiment_1_dropout/with_dropout", "experiment_4_learning_rate/lr_0.001"),
    ),
    StudyRun("base_l2", "experiment_2_l2", ("experiment_2_l2/with_l2",)),
    StudyRun("batch_50", "experiment_3_batch_size", ("experiment_3_batch_size/batch_50",)),
    StudyRun("batch_2000", "experiment_3_batch_size", ("experiment_3_batch_size/batch_2000",)),
    StudyRun("lr_0.0001", "experiment_4_learning_rate", ("experiment_4_learning_rate/lr_0.0001",)),
    StudyRun("lr_0.01", "experiment_4_learning_rate", ("experiment_4_learning_rate/lr_0.01",)),
    # Only in the study: batch 2000 with the learning rate scaled the slides' way and today's.
    _batch_2000_with_learning_rate(
        "batch_2000_lr_down", EXPERIMENT_3_LEARNING_RATE / SCALE_FOR_40_TIMES_THE_BATCH
    ),
    _batch_2000_with_learning_rate(
        "batch_2000_lr_up", EXPERIMENT_3_LEARNING_RATE * SCALE_FOR_40_TIMES_THE_BATCH
    ),
)  # fmt: skip
STUDY_RUNS_BY_NAME = {run.name: run for run in STUDY_RUNS}

# Notebooks whose runs are all small: the study executes the whole notebook with each seed and
# records every run it made, as "<prefix><run>". keras_mnist's models train in minutes, and its
# "one improvement at a time" differ by tenths of a point.
NOTEBOOK_STUDIES = {"keras_mnist": "mnist_"}
# The runs each notebook study must have recorded for a seed to count as done.
NOTEBOOK_RUNS = {"keras_mnist": claims.MNIST_MODELS}


def missing(
    seeds: Sequence[int], names: Sequence[str], folder: Path | None = None
) -> list[tuple[str, int]]:
    """The (run or notebook, seed) pairs not recorded yet, seed by seed.

    Notebook studies come first (they are short), then every run's seed 1 before any seed 2:
    in this order an interrupted study still compares every claim over the same seeds.
    """

    def recorded(name: str, seed: int) -> bool:
        if name in NOTEBOOK_STUDIES:
            prefix = NOTEBOOK_STUDIES[name]
            return all(
                record_path(prefix + run, seed, folder).is_file() for run in NOTEBOOK_RUNS[name]
            )
        return record_path(name, seed, folder).is_file()

    notebooks = [name for name in names if name in NOTEBOOK_STUDIES]
    runs = [name for name in names if name not in NOTEBOOK_STUDIES]
    return [
        (name, seed)
        for group in (notebooks, runs)
        for seed in seeds
        for name in group
        if not recorded(name, seed)
    ]


def recorded_seeds(notebook: str, records: Sequence[Mapping[str, Any]]) -> list[int]:
    """The seeds for which every run a notebook study needs is among ``records``."""
    prefix, needed = NOTEBOOK_STUDIES[notebook], NOTEBOOK_RUNS[notebook]
    by_seed: dict[int, set[str]] = {}
    for record in records:
        by_seed.setdefault(record["seed"], set()).add(record["run"])
    return sorted(seed for seed, names in by_seed.items() if {prefix + n for n in needed} <= names)


def record_from_logs(run: Any, name: str, seed: int, profile: str) -> dict[str, Any]:
    """What the study keeps of a finished run: every epoch's numbers, read from its logs."""
    from dl101.tensorboard_logs import metrics_of, read_scalars, start_time
    from dl101.tensorflow_settings import onednn_in_use
    from maintainers.notebook_outputs import processor, versions

    curves = read_scalars(run)
    metrics = metrics_of(curves)
    started = start_time(curves)
    validation = curves[metrics.validation_accuracy]
    return {
        "run": name,
        "seed": seed,
        "profile": profile,
        "settings": dict(run.settings),
        "validation_accuracy": validation.values.round(5).tolist(),
        "validation_loss": curves[metrics.validation_loss].values.round(5).tolist(),
        "training_accuracy": curves[metrics.train_accuracy].values.round(5).tolist(),
        "training_loss": curves[metrics.train_loss].values.round(5).tolist(),
        "seconds": (validation.wall_times - started).round(1).tolist(),
        "machine": {
            "processor": processor(),
            "cores": os.cpu_count(),
            "onednn": onednn_in_use(),
        },
        # How busy the machine was (1, 5 and 15 minutes): a run that shared the cores with other
        # work took longer, which matters where runs are compared by the clock.
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d"),
    }


def check_parameters(source: Path, parameters: Mapping[str, object]) -> None:
    """Refuse ``parameters`` that the parameters cell of the notebook ``source`` does not have.

    Papermill sets such a parameter without complaint and the notebook then trains with its own
    value, so the record would name a seed or learning rate its run did not train with.
    """
    import papermill

    lacking = sorted(parameters.keys() - papermill.inspect_notebook(source).keys())
    if lacking:
        raise RuntimeError(
            f"{source.name} has no parameter {', '.join(lacking)}, so it would train with its "
            "own value, not the study's. It needs "
            + "; and ".join(PARAMETER_USES[name] for name in lacking)
            + "."
        )


def execute_for_study(execution: NotebookExecution, seed: int, profile_name: str) -> Path:
    """Execute a notebook with ``seed`` in a log folder of its own, and return that folder.

    Raises, with nothing recorded, when the notebook lacks a parameter or fails.
    """
    import tempfile

    from dl101 import runs
    from maintainers.run_notebooks import execute

    source = REPO_ROOT / f"{execution.notebook}.ipynb"
    parameters: dict[str, object] = {"profile_name": profile_name, **dict(execution.parameters)}
    # A notebook's runs start from the default seed unless it is given another, so that seed
    # needs no parameter: seed 0 trains as asked even in a notebook without a `seed` parameter.
    if seed != DEFAULT_SEED:
        parameters["seed"] = seed
    check_parameters(source, parameters)
    group = f"{LOG_GROUP}/{execution.label}/seed_{seed}"
    log_root = runs.log_dir() / group
    if log_root.exists():
        runs.new_run(group)  # sets the earlier attempt aside
    os.environ[runs.LOG_DIR_VARIABLE] = str(log_root)
    with tempfile.TemporaryDirectory() as executed:
        outcome = execute(source, Path(executed), parameters)
    if not outcome.succeeded:
        raise RuntimeError(f"{execution.label} with seed {seed} failed: {outcome.detail}")
    return log_root


def _checked_record(run: Run, name: str, seed: int, profile: str) -> dict[str, Any]:
    """The record of a notebook's run that trained every epoch with the study's seed and profile."""
    if (run.seed, run.profile) != (seed, profile):
        raise RuntimeError(
            f"{run.name} trained with seed {run.seed} in the {run.profile} profile, not with "
            f"seed {seed} in the {profile} profile as the study asked."
        )
    record = record_from_logs(run, name, seed, profile)
    if len(record["validation_accuracy"]) != run.epochs:
        raise RuntimeError(
            f"{run.folder} logged {len(record['validation_accuracy'])} of {run.epochs} epochs."
        )
    return record


def _write_record(name: str, seed: int, record: Mapping[str, Any]) -> Path:
    path = record_path(name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    partial.replace(path)
    return path


def train_and_record(names: Sequence[str], seed: int, profile_name: str = PROFILE) -> list[Path]:
    """Execute the notebook that trains the study runs ``names`` with ``seed``, and record them."""
    from dl101 import runs

    study_runs = [STUDY_RUNS_BY_NAME[name] for name in names]
    (execution,) = {run.execution for run in study_runs}  # by_execution grouped them so
    log_root = execute_for_study(execution, seed, profile_name)
    records = {}
    for study_run in study_runs:
        run = runs.open_run(study_run.recorded_from, root=log_root)
        if run is None:
            raise RuntimeError(f"{study_run.notebook} made no run {study_run.recorded_from}.")
        records[study_run.name] = _checked_record(run, study_run.name, seed, profile_name)
    return [_write_record(name, seed, record) for name, record in records.items()]


def train_notebook_and_record(notebook: str, seed: int, profile_name: str = PROFILE) -> list[Path]:
    """Execute ``notebook`` with ``seed`` and record every run it made."""
    from dl101 import runs

    log_root = execute_for_study(NotebookExecution(notebook), seed, profile_name)
    records = {}
    for folder in sorted((log_root / notebook).iterdir()):
        if not folder.is_dir() or runs.PREVIOUS_RUN_MARKER in folder.name:
            continue
        run = runs.open_run(f"{notebook}/{folder.name}", root=log_root)
        assert run is not None
        name = NOTEBOOK_STUDIES[notebook] + folder.name
        records[name] = _checked_record(run, name, seed, profile_name)
    return [_write_record(name, seed, record) for name, record in records.items()]


def by_execution(
    to_train: Sequence[tuple[str, int]],
) -> list[tuple[NotebookExecution, list[str], int]]:
    """The (run or notebook, seed) pairs grouped by the notebook execution that trains them.

    One execution of experiment_0_few_layers with seed 1 records both few_layers and linear.
    The order of ``to_train`` is kept.
    """
    groups: dict[tuple[NotebookExecution, int], list[str]] = {}
    for name, seed in to_train:
        execution = (
            NotebookExecution(name)
            if name in NOTEBOOK_STUDIES
            else STUDY_RUNS_BY_NAME[name].execution
        )
        groups.setdefault((execution, seed), []).append(name)
    return [(execution, names, seed) for (execution, seed), names in groups.items()]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.seed_study",
        description="Train every distinct run of the experiment notebooks with several seeds, "
        "by executing the notebooks; resumes where it stopped.",
    )
    parser.add_argument("--seeds", type=int, default=SEEDS, help="seeds 0 to N-1 (5)")
    every = [*NOTEBOOK_STUDIES, *STUDY_RUNS_BY_NAME]
    parser.add_argument(
        "--runs", nargs="+", choices=every, default=every, metavar="RUN",
        help="only these runs or notebooks (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", default=PROFILE, choices=["cpu", "smoke"], help=argparse.SUPPRESS
    )
    parser.add_argument("--list", action="store_true", help="say what is recorded and what is not")
    # The runs of one notebook execution, trained in this process.
    parser.add_argument("--train", nargs="+", metavar="RUN", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    if arguments.train:
        if arguments.train[0] in NOTEBOOK_STUDIES:
            (notebook,) = arguments.train
            paths = train_notebook_and_record(notebook, arguments.seed, arguments.profile)
        else:
            paths = train_and_record(arguments.train, arguments.seed, arguments.profile)
        print(f"recorded {len(paths)} runs with seed {arguments.seed}")
        return 0
    seeds = range(arguments.seeds)
    to_train = missing(seeds, arguments.runs)
    total = len(seeds) * len(arguments.runs)
    print(f"Seed study ({arguments.profile} profile): {total - len(to_train)} of {total} runs "
          f"recorded in {records_dir()}, {len(to_train)} to train.", flush=True)  # fmt: skip
    if arguments.list:
        for name, seed in to_train:
            print(f"  to train: {name} seed {seed}")
        return 0
    with _only_study_running(records_dir()):
        return _train_missing(to_train, arguments.profile)


@contextlib.contextmanager
def _only_study_running(folder: Path) -> Iterator[None]:
    """Refuse to start while another study trains into the same folder (it would train the same runs)."""
    try:
        import fcntl  # POSIX only: on Windows the study runs without this guard
    except ImportError:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise SystemExit(
                f"Another seed study is training into {folder} (process {lock.read().strip()}): "
                "wait for it to end, or stop it, before starting one again."
            ) from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def _train_missing(to_train: Sequence[tuple[str, int]], profile: str) -> int:
    failed = 0
    for execution, names, seed in by_execution(to_train):
        started = time.monotonic()
        print(f"{time.strftime('%H:%M:%S')} training {', '.join(names)} with seed {seed}: "
              f"executing {execution.label} ...", flush=True)  # fmt: skip
        command = [sys.executable, "-m", "maintainers.seed_study", "--train", *names,
                   "--seed", str(seed), "--profile", profile]  # fmt: skip
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            failed += len(names)
            print(f"  FAILED ({result.returncode}); its last lines:\n{result.stderr[-2000:]}")
            continue
        print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"{failed} runs failed and were not recorded: run the same command again.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
