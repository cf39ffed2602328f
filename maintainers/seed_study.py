"""The seed study: every distinct run of the experiment notebooks, executed with seeds 0, 1, 2, ...
in the ``cpu`` profile, each recorded from its logs as ``results/seed_study/runs/<run>/seed_<n>.json``.

It resumes: only runs not yet recorded train, each notebook execution in a process of its own, so a
failed one records nothing. ``make seeds``, or ``python -m maintainers.seed_study [--seeds 5] [--list]``.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101 import claims
from dl101.paths import REPO_ROOT
from dl101.runs import DEFAULT_SEED
from dl101.verdicts import MNIST_RECORD_PREFIX, PROFILE, SEEDS, STANDS_FOR, record_path, records_dir

LOG_GROUP = "seed_study"
LARGE_BATCH_LEARNING_RATE = "large_batch_learning_rate"


@dataclass(frozen=True)
class StudyRun:
    """A distinct training run, recorded from the run ``recorded_from`` that ``notebook`` makes
    when executed with ``parameters``."""

    name: str
    notebook: str
    trained_as: str | None = None
    parameters: tuple[tuple[str, float], ...] = ()

    @property
    def notebook_runs(self) -> tuple[str, ...]:
        return STANDS_FOR.get(self.name, ())

    @property
    def recorded_from(self) -> str:
        return self.trained_as or self.notebook_runs[0]

    @property
    def execution(self) -> str:
        """The execution that trains it, also its log folder's name (``notebook-parameter_value``)."""
        return "-".join([self.notebook, *(f"{name}_{value}" for name, value in self.parameters)])


BATCH_2000 = STANDS_FOR["batch_2000"][0]
STUDY_RUNS: tuple[StudyRun, ...] = (
    StudyRun("few_layers", "experiment_0_few_layers"),
    StudyRun("linear", "experiment_0_few_layers"),
    StudyRun("three_layer_sets", "experiment_0_three_layer_sets"),
    # From experiment 1, whose claim compares the two; the other notebooks' runs are not recorded.
    StudyRun("base", "experiment_1_dropout"),
    StudyRun("base_dropout", "experiment_1_dropout"),
    StudyRun("base_l2", "experiment_2_l2"),
    StudyRun("batch_50", "experiment_3_batch_size"),
    StudyRun("batch_2000", "experiment_3_batch_size"),
    StudyRun("lr_0.0001", "experiment_4_learning_rate"),
    StudyRun("lr_0.01", "experiment_4_learning_rate"),
    StudyRun("batch_2000_lr_down", "experiment_3_batch_size", trained_as=BATCH_2000,
             parameters=((LARGE_BATCH_LEARNING_RATE, claims.SCALED_LEARNING_RATES["down"]),)),
    StudyRun("batch_2000_lr_up", "experiment_3_batch_size", trained_as=BATCH_2000,
             parameters=((LARGE_BATCH_LEARNING_RATE, claims.SCALED_LEARNING_RATES["up"]),)),
)  # fmt: skip

# keras_mnist's runs are all small: it is executed whole with each seed, and every run it made
# recorded as "mnist_<run>" (its "one improvement at a time" differ by tenths of a point).
NOTEBOOK_RUNS = {"keras_mnist": claims.MNIST_MODELS}  # what counts as done for a seed
NEEDED = {"keras_mnist": [MNIST_RECORD_PREFIX + model for model in claims.MNIST_MODELS]}
# What the study trains, by the name `--runs` takes: the notebook study, then each run.
TRAINED = {run.name: run for run in (StudyRun("keras_mnist", "keras_mnist"), *STUDY_RUNS)}


def missing(seeds: Sequence[int], names: Sequence[str]) -> list[tuple[str, int]]:
    """The (run or notebook, seed) pairs not recorded yet: notebooks first (they are short), then
    every run's seed 1 before any seed 2, so an interrupted study compares claims on equal seeds."""
    notebooks = [name for name in names if name in NEEDED]
    runs = [name for name in names if name not in NEEDED]
    return [
        (name, seed)
        for group in (notebooks, runs)
        for seed in seeds
        for name in group
        if not all(record_path(n, seed).is_file() for n in NEEDED.get(name, [name]))
    ]


def record_from_logs(run: Any, name: str, seed: int, profile: str) -> dict[str, Any]:
    """What the study keeps of a finished run: every epoch's numbers, read from its logs."""
    from dl101.tensorboard_logs import metrics_of, read_scalars, start_time
    from maintainers.notebook_outputs import onednn_in_use, processor, versions

    curves = read_scalars(run)
    metrics = metrics_of(curves)
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
        "seconds": (validation.wall_times - start_time(curves)).round(1).tolist(),
        "machine": {"processor": processor(), "cores": os.cpu_count(), "onednn": onednn_in_use()},
        # The 1, 5 and 15 minutes' load: a run that shared the cores took longer by the clock.
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d"),
    }


def check_parameters(source: Path, parameters: Mapping[str, object]) -> None:
    """Refuse ``parameters`` that ``source``'s parameters cell lacks: papermill would set them
    silently and the record would name a seed its run did not train with."""
    import papermill

    lacking = sorted(parameters.keys() - papermill.inspect_notebook(source).keys())
    if lacking:
        raise RuntimeError(
            f"{source.name} has no parameter {', '.join(lacking)} in its parameters cell, so it "
            "would train with its own value, not the study's."
        )


def execute_for_study(study: StudyRun, seed: int, profile_name: str) -> Path:
    """Execute a notebook with ``seed`` in a log folder of its own; raise if it fails."""
    import tempfile

    from dl101 import runs
    from maintainers.run_notebooks import execute

    source = REPO_ROOT / f"{study.notebook}.ipynb"
    parameters: dict[str, object] = {"profile_name": profile_name, **dict(study.parameters)}
    # Runs start from the default seed unless given another: seed 0 needs no `seed` parameter.
    if seed != DEFAULT_SEED:
        parameters["seed"] = seed
    check_parameters(source, parameters)
    group = f"{LOG_GROUP}/{study.execution}/seed_{seed}"
    log_root = runs.log_dir() / group
    if log_root.exists():
        runs.new_run(group)  # sets the earlier attempt aside
    os.environ[runs.LOG_DIR_VARIABLE] = str(log_root)
    with tempfile.TemporaryDirectory() as executed:
        outcome = execute(source, Path(executed), parameters)
    if not outcome.succeeded:
        raise RuntimeError(f"{study.execution} with seed {seed} failed: {outcome.detail}")
    return log_root


def train_and_record(names: Sequence[str], seed: int, profile_name: str = PROFILE) -> list[Path]:
    """Execute the notebook that trains ``names`` (study runs, or one notebook study) and record
    them, each only if it trained every epoch with the study's seed and profile."""
    from dl101 import runs

    study = TRAINED[names[0]]  # by_execution grouped ``names`` by the execution that trains them
    log_root = execute_for_study(study, seed, profile_name)
    if study.name in NOTEBOOK_RUNS:  # every run the notebook made
        made = {
            MNIST_RECORD_PREFIX + folder.name: f"{study.notebook}/{folder.name}"
            for folder in sorted((log_root / study.notebook).iterdir())
            if folder.is_dir() and runs.PREVIOUS_RUN_MARKER not in folder.name
        }
    else:
        made = {name: TRAINED[name].recorded_from for name in names}
    records = {}
    for name, run_name in made.items():
        run = runs.open_run(run_name, root=log_root)
        if run is None:
            raise RuntimeError(f"{study.notebook} made no run {run_name}.")
        if (run.seed, run.profile) != (seed, profile_name):
            raise RuntimeError(
                f"{run.name} trained with seed {run.seed} in the {run.profile} profile, not with "
                f"seed {seed} in the {profile_name} profile as the study asked."
            )
        records[name] = record_from_logs(run, name, seed, profile_name)
        if (logged := len(records[name]["validation_accuracy"])) != run.epochs:
            raise RuntimeError(f"{run.folder} logged {logged} of {run.epochs} epochs.")
    paths = []
    for name, record in records.items():  # only once every run passed
        path = record_path(name, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(record, indent=1) + "\n")
        paths.append(partial.replace(path))
    return paths


def by_execution(to_train: Sequence[tuple[str, int]]) -> list[tuple[list[str], int]]:
    """The (run or notebook, seed) pairs grouped by the notebook execution that trains them, in
    the order of ``to_train``: one execution of experiment_0_few_layers records both its runs."""
    groups: dict[tuple[str, int], list[str]] = {}
    for name, seed in to_train:
        groups.setdefault((TRAINED[name].execution, seed), []).append(name)
    return [(names, seed) for (_, seed), names in groups.items()]


@contextlib.contextmanager
def _only_study_running(folder: Path) -> Iterator[None]:
    """Refuse to start while another study trains into ``folder``: it would train the same runs."""
    if sys.platform == "win32":  # no flock: the study runs without this guard
        yield
        return
    import fcntl

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.seed_study",
        description="Train every distinct run of the experiment notebooks with several seeds, "
        "by executing the notebooks; resumes where it stopped.",
    )
    parser.add_argument("--seeds", type=int, default=SEEDS, help="seeds 0 to N-1 (5)")
    parser.add_argument(
        "--runs", nargs="+", choices=list(TRAINED), default=list(TRAINED), metavar="RUN",
        help="only these runs or notebooks (default: all)",
    )  # fmt: skip
    parser.add_argument("--profile", default=PROFILE, choices=["cpu", "smoke"], help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--list", action="store_true", help="say what is recorded and what is not")
    # The runs of one notebook execution, trained in this process.
    parser.add_argument("--train", nargs="+", metavar="RUN", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.train:
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
    failed = 0
    with _only_study_running(records_dir()):
        for names, seed in by_execution(to_train):
            started = time.monotonic()
            print(f"{time.strftime('%H:%M:%S')} training {', '.join(names)} with seed {seed}: "
                  f"executing {TRAINED[names[0]].execution} ...", flush=True)  # fmt: skip
            command = [sys.executable, "-m", "maintainers.seed_study", "--train", *names,
                       "--seed", str(seed), "--profile", arguments.profile]  # fmt: skip
            result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
            if result.returncode != 0:
                failed += len(names)
                print(f"  FAILED ({result.returncode}); its last lines:\n{result.stderr[-2000:]}")
            else:
                print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"{failed} runs failed and were not recorded: run the same command again.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
