"""Faults and bad input, round two, in run folders: two kernels, full disks, damaged settings, names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dl101 import reports, runs

import numpy as np
import pytest
from helpers import train_small_classifier

HOLD_A_RUN = """
import sys, time
from dl101 import runs
runs.new_run("experiment_1_dropout/with_dropout", root=sys.argv[1], epochs=1)
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def other_kernel(tmp_path: Path) -> Iterator[subprocess.Popen]:
    """Another process that created experiment_1_dropout/with_dropout and is still alive."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, str(tmp_path)], stdout=subprocess.PIPE, text=True
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


def test_this_process_re_running_a_cell_sets_its_own_earlier_run_aside(tmp_path: Path) -> None:
    first = runs.new_run("group/run", root=tmp_path, epochs=1)
    second = runs.new_run("group/run", root=tmp_path, epochs=1)

    assert second.folder == first.folder and second.folder.is_dir()
    assert len(list((tmp_path / "group").glob("run.previous-*"))) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "it is not readable JSON"),
        ("", "it is not readable JSON"),
        ("[1, 2]", "it holds a list, not a table of settings"),
        ('{"seed": "1"}', "its 'seed' is '1', not a int"),
        ('{"epochs": 1.5}', "its 'epochs' is 1.5, not a int"),
        ('{"learning_rate": "fast"}', "its 'learning_rate' is 'fast', not a int or float"),
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


@pytest.mark.parametrize("name", ["", ".", "./", "/tmp/x", "../x", "a/../../x", "a/.."])
def test_a_run_name_that_leaves_its_folder_or_names_nothing_is_refused(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "events").write_text("kept")

    with pytest.raises(ValueError, match="A run name must be a relative path inside the log"):
        runs.new_run(name, root=tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier"]


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


def test_a_name_with_dot_parts_is_normalised_and_logs_inside_its_folder(tmp_path: Path) -> None:
    run = runs.new_run("./group//./run", root=tmp_path, epochs=2)
    train_small_classifier(run, 2)

    assert run.name == "group/run" and run.folder == tmp_path / "group" / "run"
    assert list(run.folder.glob("events.out.tfevents.*"))
    assert reports.summarize(run).final_validation_accuracy > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".runs-in-use", "group"]


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
    assert not list(full_disk.rglob("run_settings.json"))
    assert not list(full_disk.glob(".write-test-*"))


def test_settings_are_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_fills_up(self: Path, text: str) -> int:
        with open(self, "w") as handle:
            handle.write(text[:5])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_fills_up)
    with pytest.raises(
        RuntimeError,
        match=r"The run's settings cannot be written to .*run_settings\.json \(No space left on device; ",
    ):
        runs.new_run("group/run", root=tmp_path, epochs=1)
    monkeypatch.undo()

    folder = tmp_path / "group" / "run"
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
import sys, time
from dl101 import runs
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
try:
    runs.new_run("group/run", root=sys.argv[1], epochs=1)
    print("started", flush=True)
    time.sleep(3)
except RuntimeError as error:
    print("refused:", error, flush=True)
"""


def test_two_processes_starting_the_same_run_at_once_never_both_get_it(tmp_path: Path) -> None:
    # An earlier run is there, so a second winner would set the first one's folder aside.
    (tmp_path / "group" / "run").mkdir(parents=True)
    (tmp_path / "group" / "run" / "events").write_text("earlier")
    for attempt in range(3):
        start = str(time.time() + 1.5)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", START_TOGETHER, str(tmp_path), start],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        said = [process.communicate(timeout=60)[0].strip() for process in processes]

        (refused,) = [text for text in said if text.startswith("refused:")]
        (started,) = [text for text in said if text.endswith("started")]
        assert refused.startswith("refused: The run 'group/run' in "), said
        assert re.search(r"is in use by process \d+: another notebook kernel", refused), said
        # One earlier folder set aside per attempt, never the winner's own.
        assert len(list((tmp_path / "group").glob("run.previous-*"))) == attempt + 1


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"seed": 1.5}, "The run setting seed=1.5 must be a int."),
        ({"seed": "3"}, "The run setting seed='3' must be a int."),
        ({"batch_size": 2.5}, "The run setting batch_size=2.5 must be a int."),
    ],
)
def test_a_setting_of_the_wrong_kind_is_refused_where_it_is_given(
    tmp_path: Path, settings: dict, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        runs.new_run("group/run", root=tmp_path, **settings)
    assert not (tmp_path / "group" / "run").exists()


def test_numpy_numbers_are_recorded_as_plain_ones(tmp_path: Path) -> None:
    run = runs.new_run("group/run", root=tmp_path, seed=np.int64(3), learning_rate=np.float32(0.5))

    reread = runs.open_run("group/run", root=tmp_path)
    assert reread is not None and reread.seed == run.seed == 3
    assert reread.learning_rate == 0.5


def test_the_locks_folder_and_a_file_are_no_runs(tmp_path: Path) -> None:
    runs.new_run("group/run", root=tmp_path)
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(ValueError, match="A run name must be a relative path"):
        runs.new_run(".runs-in-use", root=tmp_path)
    with pytest.raises(ValueError, match=r"notes\.txt is a file, not a run folder"):
        runs.new_run("notes.txt", root=tmp_path)
    assert (tmp_path / ".runs-in-use").is_dir() and (tmp_path / "notes.txt").read_text() == "mine"
