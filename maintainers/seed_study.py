"""The seed study: every distinct CIFAR-10 run of the experiments, trained with several seeds.

One run is one sample. Two runs that differ only in their seed (the starting weights, the order
of the images, which neurons dropout switches off, how each image is turned) end about a point
apart, so a verdict drawn from one pair of runs can be noise. This module trains each distinct
run of the experiment notebooks with seeds 0, 1, 2, ... in the ``cpu`` profile (seed 0 is the
run the notebooks are committed with) and records each finished run as a small JSON file under
``results/seed_study/runs/``, which :mod:`maintainers.seed_study_report` turns into tables, plots and
verdicts. Runs that several notebooks share (the base network without dropout in experiments 1
and 2) are trained once.

On a 2-core CPU the whole study takes hours, so it resumes: started again, it trains only the
runs not yet recorded. Each run trains in a process of its own, so an interrupted or failed
run leaves nothing recorded and the next start trains it again (its partial logs are set aside
by :func:`dl101.runs.new_run`, never mixed in)::

    make seeds                                # or: python -m maintainers.seed_study --seeds 5
    python -m maintainers.seed_study --list         # what is recorded and what is still to train
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dl101.paths import REPO_ROOT
from dl101.verdicts import (
    PROFILE,
    record_path,
    records_dir,
)

DEFAULT_SEEDS = 5
LOG_GROUP = "seed_study"


@dataclass(frozen=True)
class StudyRun:
    """One distinct training run: its network, its settings, and the notebook runs it stands for."""

    name: str
    network: str  # a function of maintainers.article_networks
    batch_size: int
    learning_rate: float
    network_settings: dict[str, Any] = field(default_factory=dict)
    notebook_runs: tuple[str, ...] = ()

    def settings(self) -> dict[str, Any]:
        """What the run records beside its logs, as the notebooks' runs record it."""
        return {
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            **{k: v for k, v in self.network_settings.items() if v is not None},
        }


# The slides' rule for a batch X times larger is the learning rate divided by X "(or sqrt(X))";
# today's rule of thumb scales it up. Batch 2000 is 40 times batch 50: both ways by sqrt(40).
SCALE_FOR_40_TIMES_THE_BATCH = 40**0.5

STUDY_RUNS: tuple[StudyRun, ...] = (
    StudyRun("few_layers", "few_layers", 96, 0.001, notebook_runs=("experiment_0/few_layers",)),
    StudyRun("linear", "linear", 96, 0.001, notebook_runs=("experiment_0/linear",)),
    StudyRun(
        "three_layer_sets", "three_layer_sets", 96, 0.001,
        notebook_runs=("experiment_0/three_layer_sets",),
    ),
    StudyRun(
        "base", "base_network", 96, 0.001,
        notebook_runs=("experiment_1_dropout/without_dropout", "experiment_2_l2/without_l2"),
    ),
    StudyRun(
        "base_dropout", "base_network", 96, 0.001, {"keep_probability": 0.5},
        notebook_runs=("experiment_1_dropout/with_dropout", "experiment_4_learning_rate/lr_0.001"),
    ),
    StudyRun(
        "base_l2", "base_network", 96, 0.001, {"regularizer": "L2"},
        notebook_runs=("experiment_2_l2/with_l2",),
    ),
    StudyRun(
        "batch_50", "base_network", 50, 0.001, {"keep_probability": 0.5},
        notebook_runs=("experiment_3_batch_size/batch_50",),
    ),
    StudyRun(
        "batch_2000", "base_network", 2000, 0.001, {"keep_probability": 0.5},
        notebook_runs=("experiment_3_batch_size/batch_2000",),
    ),
    StudyRun(
        "lr_0.0001", "base_network", 96, 0.0001, {"keep_probability": 0.5},
        notebook_runs=("experiment_4_learning_rate/lr_0.0001",),
    ),
    StudyRun(
        "lr_0.01", "base_network", 96, 0.01, {"keep_probability": 0.5},
        notebook_runs=("experiment_4_learning_rate/lr_0.01",),
    ),
    # Only in the study: batch 2000 with the learning rate scaled the slides' way and today's.
    StudyRun(
        "batch_2000_lr_down", "base_network", 2000, round(0.001 / SCALE_FOR_40_TIMES_THE_BATCH, 6),
        {"keep_probability": 0.5},
    ),
    StudyRun(
        "batch_2000_lr_up", "base_network", 2000, round(0.001 * SCALE_FOR_40_TIMES_THE_BATCH, 6),
        {"keep_probability": 0.5},
    ),
)  # fmt: skip
STUDY_RUNS_BY_NAME = {run.name: run for run in STUDY_RUNS}

# Notebooks whose runs are all small: the study executes the whole notebook with each seed (its
# `seed` parameter) and records every run it made, as "<prefix><run>". keras_mnist's models train
# in minutes, and its "one improvement at a time" differ by tenths of a point.
NOTEBOOK_STUDIES = {"keras_mnist": "mnist_"}
# The runs each notebook study must have recorded for a seed to count as done.
NOTEBOOK_RUNS = {
    "keras_mnist": (
        "first_model", "softmax", "hidden_layers", "he_initialisation", "l2", "dropout",
        "augmentation", "convnet",
    ),
}  # fmt: skip


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


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    partial.replace(path)


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


def train_and_record(name: str, seed: int, profile_name: str = PROFILE) -> Path:
    """Train one run of the study with one seed, in this process, and record it."""
    from dl101 import runs
    from dl101.data import cifar10_experiment_data
    from dl101.profiles import PROFILES
    from dl101.tflearn_training import train
    from maintainers import article_networks

    study_run = STUDY_RUNS_BY_NAME[name]
    profile = PROFILES[profile_name]
    (images, labels), validation = cifar10_experiment_data(profile)
    run = runs.new_run(
        f"{LOG_GROUP}/{name}/seed_{seed}",
        profile=profile.name,
        epochs=profile.epochs,
        training_examples=len(images),
        seed=seed,
        **study_run.settings(),
    )
    build: Callable[..., Any] = getattr(article_networks, study_run.network)
    network = build(seed=seed, learning_rate=run.learning_rate, **study_run.network_settings)
    train(network, run, (images, labels), validation)
    record = record_from_logs(run, name, seed, profile.name)
    if len(record["validation_accuracy"]) != profile.epochs:
        raise RuntimeError(f"{run.folder} logged {len(record['validation_accuracy'])} epochs.")
    path = record_path(name, seed)
    _write_atomically(path, json.dumps(record, indent=1) + "\n")
    return path


def train_notebook_and_record(notebook: str, seed: int, profile_name: str = PROFILE) -> list[Path]:
    """Execute ``notebook`` with ``seed`` in a log folder of its own, and record every run it made."""
    import tempfile

    from dl101 import runs
    from maintainers.run_notebooks import execute

    log_root = runs.log_dir() / LOG_GROUP / notebook / f"seed_{seed}"
    if log_root.exists():
        runs.new_run(f"{LOG_GROUP}/{notebook}/seed_{seed}")  # sets the earlier attempt aside
    os.environ[runs.LOG_DIR_VARIABLE] = str(log_root)
    with tempfile.TemporaryDirectory() as executed:
        outcome = execute(
            REPO_ROOT / f"{notebook}.ipynb",
            Path(executed),
            {"profile_name": profile_name, "seed": seed},
        )
    if not outcome.succeeded:
        raise RuntimeError(f"{notebook} with seed {seed} failed: {outcome.detail}")
    paths = []
    for folder in sorted((log_root / notebook).iterdir()):
        if not folder.is_dir() or runs.PREVIOUS_RUN_MARKER in folder.name:
            continue
        run = runs.open_run(f"{notebook}/{folder.name}", root=log_root)
        assert run is not None
        name = NOTEBOOK_STUDIES[notebook] + folder.name
        record = record_from_logs(run, name, seed, profile_name)
        path = record_path(name, seed)
        _write_atomically(path, json.dumps(record, indent=1) + "\n")
        paths.append(path)
    return paths


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.seed_study",
        description="Train every distinct CIFAR-10 run of the experiments with several seeds; "
        "resumes where it stopped.",
    )
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds 0 to N-1 (5)")
    every = [*NOTEBOOK_STUDIES, *STUDY_RUNS_BY_NAME]
    parser.add_argument(
        "--runs", nargs="+", choices=every, default=every, metavar="RUN",
        help="only these runs or notebooks (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", default=PROFILE, choices=["cpu", "smoke"], help=argparse.SUPPRESS
    )
    parser.add_argument("--list", action="store_true", help="say what is recorded and what is not")
    parser.add_argument("--train", metavar="RUN", help=argparse.SUPPRESS)  # one run, this process
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    if arguments.train in NOTEBOOK_STUDIES:
        paths = train_notebook_and_record(arguments.train, arguments.seed, arguments.profile)
        print(f"recorded {len(paths)} runs of {arguments.train}")
        return 0
    if arguments.train:
        print(f"recorded {train_and_record(arguments.train, arguments.seed, arguments.profile)}")
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
    for name, seed in to_train:
        started = time.monotonic()
        print(f"{time.strftime('%H:%M:%S')} training {name} with seed {seed} ...", flush=True)
        command = [sys.executable, "-m", "maintainers.seed_study", "--train", name, "--seed", str(seed),
                   "--profile", profile]  # fmt: skip
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            failed += 1
            print(f"  FAILED ({result.returncode}); its last lines:\n{result.stderr[-2000:]}")
            continue
        print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"{failed} runs failed and were not recorded: run the same command again.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
