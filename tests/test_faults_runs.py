"""Faults and bad input, round two, in run folders: two kernels, full disks, damaged settings, names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from dl101 import runs

import numpy as np
import pytest

START_WHEN_TOLD = """
import sys
from dl101 import runs
print("ready", flush=True)
sys.stdin.readline()
try:
    runs.new_run("group/run", root=sys.argv[1], epochs=1)
    print("started", flush=True)
except RuntimeError as error:
    print("refused:", error, flush=True)
sys.stdin.read()  # holding the run until the test ends this process
"""

Kernel = tuple[subprocess.Popen, str]


@pytest.fixture
def other_kernels(tmp_path: Path) -> Iterator[Callable[[int], list[Kernel]]]:
    """Start processes that each create group/run in tmp_path at once; each with what it said."""
    started: list[subprocess.Popen] = []

    def start(count: int) -> list[Kernel]:
        command = [sys.executable, "-c", START_WHEN_TOLD, str(tmp_path)]
        processes = [
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(count)
        ]
        started.extend(processes)
        for process in processes:  # all ready, then all told to go
            assert process.stdout.readline() == "ready\n"
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        return [(process, said_of_the_run(process)) for process in processes]

    yield start
    for process in started:
        process.kill()
        process.wait()


def said_of_the_run(process: subprocess.Popen) -> str:
    """``started``, or ``refused: <why>`` (after any line about an earlier run set aside)."""
    return next(line.strip() for line in process.stdout if line.startswith(("started", "refused")))


def in_use_by(process: subprocess.Popen) -> str:
    return f"is in use by process {process.pid}: another notebook kernel or `make run` created it"


def test_a_run_in_use_by_another_process_is_refused_until_it_ends(
    tmp_path: Path, other_kernels: Callable[[int], list[Kernel]]
) -> None:
    ((kernel, said),) = other_kernels(1)
    assert said == "started"

    for name in ("group/run", "group"):  # nor can its experiment be set aside from under it
        with pytest.raises(RuntimeError, match=re.escape(in_use_by(kernel))):
            runs.new_run(name, root=tmp_path, epochs=1)
    assert [p.name for p in (tmp_path / "group").iterdir()] == ["run"]

    kernel.kill()
    kernel.wait()
    runs.new_run("group/run", root=tmp_path, epochs=1)
    (kept,) = (tmp_path / "group").glob("run.previous-*")
    assert (kept / "run_settings.json").is_file()


def test_two_processes_starting_the_same_run_at_once_never_both_get_it(
    tmp_path: Path, other_kernels: Callable[[int], list[Kernel]]
) -> None:
    # An earlier run is there, so a second winner would set the first one's folder aside.
    (tmp_path / "group" / "run").mkdir(parents=True)
    (tmp_path / "group" / "run" / "events").write_text("earlier")
    # From the second attempt on, the lock file still names the earlier winner, now ended.
    for attempt in range(3):
        kernels = other_kernels(2)

        (winner,) = [process for process, said in kernels if said == "started"]
        (refused,) = [said for _, said in kernels if said.startswith("refused: ")]
        assert in_use_by(winner) in refused
        assert len(list((tmp_path / "group").glob("run.previous-*"))) == attempt + 1
        for process, _ in kernels:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is not readable JSON"),
        ("[1, 2]", "it holds a list, not a table of settings"),
        ('{"epochs": 1.5}', "epochs=1.5 is not of type int"),
        ('{"learning_rate": "fast"}', "learning_rate='fast' is not of type int or float"),
    ],
)
def test_damaged_run_settings_give_one_error_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    (tmp_path / "group" / "run").mkdir(parents=True)
    settings = tmp_path / "group" / "run" / "run_settings.json"
    settings.write_text(text)

    with pytest.raises(ValueError) as raised:
        runs.open_run("group/run", root=tmp_path)

    assert str(raised.value).startswith(f"The run settings in {settings} are damaged: {problem}")
    assert "train that run again" in str(raised.value)


@pytest.mark.parametrize(
    "name", ["", ".", "./", "/tmp/x", "../x", "a/../../x", "a/..", ".runs-in-use"]
)
def test_a_run_name_that_leaves_its_folder_names_nothing_or_the_locks_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(runs.LOG_DIR_VARIABLE, str(tmp_path))
    experiment = runs.Experiment("experiment")
    (experiment.new_run("earlier").folder / "events").write_text("kept")

    # Nor may an experiment's run be "" or ".", which would be the experiment's own folder.
    for create in (lambda: runs.new_run(name, root=tmp_path), lambda: experiment.new_run(name)):
        with pytest.raises(ValueError, match="A run name must be a relative path inside the log"):
            create()

    assert sorted(p.name for p in tmp_path.iterdir()) == [".runs-in-use", "experiment"]
    assert [p.name for p in (tmp_path / "experiment").iterdir()] == ["earlier"]
    assert (tmp_path / "experiment" / "earlier" / "events").read_text() == "kept"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"seed": True}, "The run setting seed=True is not of type int."),
        ({"batch_size": 2.5}, "The run setting batch_size=2.5 is not of type int."),
    ],
)
def test_a_setting_of_the_wrong_kind_is_refused_where_it_is_given(
    tmp_path: Path, settings: dict, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        runs.new_run("group/run", root=tmp_path, **settings)
    assert not (tmp_path / "group" / "run").exists()


def test_a_file_is_no_run_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(ValueError, match=r"notes\.txt is a file, not a run folder"):
        runs.new_run("notes.txt", root=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def fill(disk: Path, leaving: int) -> None:
    """Fill ``disk`` with one file, up to ``leaving`` bytes free."""
    (disk / "filler").unlink(missing_ok=True)
    (disk / "filler").write_bytes(b"x" * max(shutil.disk_usage(disk).free - leaving, 0))


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, filled up: what a full log disk looks like."""
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={4 << 20}", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        fill(mount_point, leaving=4096)
        yield mount_point
    finally:
        # Lazily: TensorFlow's writer threads may still hold a file open there.
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def test_a_full_log_disk_is_named_before_training(full_disk: Path) -> None:
    with pytest.raises(RuntimeError) as raised:
        runs.new_run("group/run", root=full_disk, epochs=1)

    assert str(raised.value).startswith(
        f"TensorBoard logs cannot be written to {full_disk}: its disk is full (0.0 MB free)."
    )
    assert [p.name for p in full_disk.iterdir()] == ["filler"]  # nothing left behind


def test_settings_are_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_fills_up(self: Path, text: str) -> int:
        with open(self, "w") as handle:
            handle.write(text[:5])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_fills_up)
    with pytest.raises(RuntimeError, match=r"cannot be written to .*/group/run: its disk is full"):
        runs.new_run("group/run", root=tmp_path, epochs=1)
    monkeypatch.undo()

    assert [p.name for p in (tmp_path / "group" / "run").iterdir()] == []
    # A partner notebook then finds a run without settings, never half of a file.
    assert runs.open_run("group/run", root=tmp_path).settings == {}  # type: ignore[union-attr]


# TensorFlow's log-writer thread fails on the full disk too, after the error this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_disk_that_fills_up_during_training_is_named_with_its_free_space(
    full_disk: Path,
) -> None:
    from dl101.tflearn_training import new_graph, train

    from tflearn.layers.core import fully_connected, input_data
    from tflearn.layers.estimator import regression

    (full_disk / "filler").unlink()  # room for the run to be created ...
    run = runs.new_run("group/run", root=full_disk, epochs=2, batch_size=10, training_examples=50)
    fill(full_disk, leaving=8192)  # ... then the disk fills up
    new_graph(run.seed)
    net = regression(fully_connected(input_data(shape=[None, 2]), 2, activation="softmax"))
    points = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    labels = np.eye(2, dtype=np.float32)[(points[:, 0] > 0).astype(int)]

    with pytest.raises(RuntimeError) as raised:
        train(net, run, (points, labels), (points, labels))

    assert str(raised.value).startswith(
        f"The logs of 'group/run' could not be written to {run.folder}: its disk is full ("
    )
