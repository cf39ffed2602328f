"""Faults and bad input, round two, in run folders: two kernels, full disks, damaged settings, names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dl101 import runs

import numpy as np
import pytest

HOLD_A_RUN = """
import sys
from dl101 import runs
runs.new_run("experiment_1_dropout/with_dropout", root=sys.argv[1], epochs=1)
print("holding", flush=True)
sys.stdin.read()  # until the test ends this process
"""


@pytest.fixture
def other_kernel(tmp_path: Path) -> Iterator[subprocess.Popen]:
    """Another process that created experiment_1_dropout/with_dropout and is still alive."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "holding"
    yield process
    process.kill()
    process.wait()


def test_a_run_in_use_by_another_process_is_not_taken_over(
    tmp_path: Path, other_kernel: subprocess.Popen
) -> None:
    folder = tmp_path / "experiment_1_dropout" / "with_dropout"
    before = sorted(p.name for p in folder.iterdir())

    with pytest.raises(RuntimeError, match=rf"in use by process {other_kernel.pid}: another"):
        runs.new_run("experiment_1_dropout/with_dropout", root=tmp_path, epochs=1)
    # Nor can its experiment's whole folder be set aside from under it.
    with pytest.raises(RuntimeError, match=rf"in use by process {other_kernel.pid}"):
        runs.new_run("experiment_1_dropout", root=tmp_path)

    assert sorted(p.name for p in folder.iterdir()) == before
    assert not list(tmp_path.glob("*/*.previous-*"))


def test_once_the_other_process_ends_its_run_is_set_aside_as_usual(
    tmp_path: Path, other_kernel: subprocess.Popen
) -> None:
    other_kernel.kill()
    other_kernel.wait()

    run = runs.new_run("experiment_1_dropout/with_dropout", root=tmp_path, epochs=1)

    assert run.folder.is_dir()
    (kept,) = (tmp_path / "experiment_1_dropout").glob("with_dropout.previous-*")
    assert (kept / "run_settings.json").is_file()


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
    folder = tmp_path / "group" / "run"
    folder.mkdir(parents=True)
    (folder / "run_settings.json").write_text(text)

    with pytest.raises(ValueError) as raised:
        runs.open_run("group/run", root=tmp_path)

    message = str(raised.value)
    assert message.startswith(f"The run settings in {folder / 'run_settings.json'} are damaged: ")
    assert problem in message and "train that run again" in message


@pytest.mark.parametrize(
    "name", ["", ".", "./", "/tmp/x", "../x", "a/../../x", "a/..", ".runs-in-use"]
)
def test_a_run_name_that_leaves_its_folder_names_nothing_or_the_locks_is_refused(
    tmp_path: Path, name: str
) -> None:
    earlier = runs.new_run("earlier", root=tmp_path)
    (earlier.folder / "events").write_text("kept")

    with pytest.raises(ValueError, match="A run name must be a relative path inside the log"):
        runs.new_run(name, root=tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [".runs-in-use", "earlier"]
    assert (earlier.folder / "events").read_text() == "kept"


@pytest.mark.parametrize("name", ["", ".", "./"])
def test_an_experiment_never_sets_its_own_folder_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(runs.LOG_DIR_VARIABLE, str(tmp_path))
    experiment = runs.Experiment("experiment_1_dropout")
    experiment.new_run("without_dropout")

    with pytest.raises(ValueError, match="A run name must be a relative path"):
        experiment.new_run(name)

    assert (tmp_path / "experiment_1_dropout" / "without_dropout").is_dir()
    assert not list(tmp_path.glob("*.previous-*"))


DISK_BYTES = 4 << 20


def fill(disk: Path, leaving: int) -> None:
    """Fill ``disk`` with one file, up to ``leaving`` bytes free."""
    (disk / "filler").unlink(missing_ok=True)
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"x" * max(free - leaving, 0))


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, filled up: what a full log disk looks like."""
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
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
        f"TensorBoard logs cannot be written to {full_disk}: its disk is full ("
    )
    assert "MB free)" in str(raised.value)
    assert [p.name for p in full_disk.iterdir()] == ["filler"]  # nothing left behind


def test_settings_are_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_fills_up(self: Path, text: str) -> int:
        with open(self, "w") as handle:
            handle.write(text[:5])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_fills_up)
    folder = tmp_path / "group" / "run"
    with pytest.raises(RuntimeError) as raised:
        runs.new_run("group/run", root=tmp_path, epochs=1)
    monkeypatch.undo()

    assert str(raised.value).startswith(
        f"The run 'group/run' cannot be written to {folder} (No space left on device; "
    )
    assert not (folder / "run_settings.json").exists()
    assert not list(folder.glob(".run_settings.json*"))
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


START_TOGETHER = """
import sys
from dl101 import runs
print("ready", flush=True)
sys.stdin.readline()  # the test lets both go at once
try:
    runs.new_run("group/run", root=sys.argv[1], epochs=1)
    print("started", flush=True)
except RuntimeError as error:
    print("refused:", error, flush=True)
sys.stdin.read()  # holding the run until the test has heard both
"""


def test_two_processes_starting_the_same_run_at_once_never_both_get_it(tmp_path: Path) -> None:
    # An earlier run is there, so a second winner would set the first one's folder aside.
    (tmp_path / "group" / "run").mkdir(parents=True)
    (tmp_path / "group" / "run" / "events").write_text("earlier")
    for attempt in range(3):
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", START_TOGETHER, str(tmp_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in processes:
            assert process.stdout.readline() == "ready\n"
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        said = [
            next(line.strip() for line in process.stdout if line.startswith(("started", "refused")))
            for process in processes
        ]
        for process in processes:
            process.communicate()  # ends them: the winner held the run until now

        (refused,) = [text for text in said if text.startswith("refused:")]
        (started,) = [text for text in said if text.endswith("started")]
        assert refused.startswith("refused: The run 'group/run' in "), said
        assert re.search(r"is in use by process \d+: another notebook kernel", refused), said
        # One earlier folder set aside per attempt, never the winner's own.
        assert len(list((tmp_path / "group").glob("run.previous-*"))) == attempt + 1


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
