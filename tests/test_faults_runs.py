"""Faults and bad input in run folders: two kernels, full disks, damaged settings, names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

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
except RuntimeError:
    print("refused", flush=True)
sys.stdin.read()  # holding the run until the test ends this process
"""
IN_USE = "is in use by another process: a notebook kernel or `make run` created it"


def test_a_run_is_held_by_one_process_at_a_time_until_it_ends(tmp_path: Path) -> None:
    command = [sys.executable, "-c", START_WHEN_TOLD, str(tmp_path)]
    kernels = [subprocess.Popen(command, stdin=PIPE, stdout=PIPE, text=True) for _ in range(2)]
    try:
        for kernel in kernels:  # all ready, then all told to go at once
            assert kernel.stdout.readline() == "ready\n"
        for kernel in kernels:
            kernel.stdin.write("go\n")
            kernel.stdin.flush()
        said = sorted(kernel.stdout.readline() for kernel in kernels)

        assert said == ["refused\n", "started\n"]
        for name in ("group/run", "group"):  # nor can its experiment be set aside
            with pytest.raises(RuntimeError, match=re.escape(IN_USE)):
                runs.new_run(name, root=tmp_path, epochs=1)
    finally:
        for kernel in kernels:
            kernel.kill()
            kernel.wait()

    runs.new_run("group/run", root=tmp_path, epochs=1)  # its holder ended
    (kept,) = (tmp_path / "group").glob("run.previous-*")
    assert (kept / "run_settings.json").is_file()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is not readable JSON"),
        ("[1, 2]", "it holds a list, not a table of settings"),
        ('{"epochs": 1.5}', "epochs=1.5 is not of type int"),
        ('{"seed": true}', "seed=True is not of type int"),
        ('{"learning_rate": "fast"}', "learning_rate='fast' is not of type int or float"),
    ],
)
def test_damaged_run_settings_name_their_file_and_wrong_ones_are_refused_where_given(
    tmp_path: Path, text: str, problem: str
) -> None:
    (tmp_path / "group" / "run").mkdir(parents=True)
    settings = tmp_path / "group" / "run" / "run_settings.json"
    settings.write_text(text)

    damaged = re.escape(f"The run settings in {settings} are damaged: {problem}")
    with pytest.raises(ValueError, match=f"{damaged}.*train that run again"):
        runs.open_run("group/run", root=tmp_path)
    if text.startswith("{"):
        with pytest.raises(ValueError, match=re.escape(f"The run setting {problem}.")):
            runs.new_run("group/new", root=tmp_path, **json.loads(text))
        assert not (tmp_path / "group" / "new").exists()


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


def fill(disk: Path, leaving: int) -> None:
    """Fill ``disk`` with one file, up to ``leaving`` bytes free."""
    (disk / "filler").unlink(missing_ok=True)
    (disk / "filler").write_bytes(b"x" * max(shutil.disk_usage(disk).free - leaving, 0))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, to fill up."""
    mount = ["mount", "-t", "tmpfs", "-o", f"size={4 << 20}", "tmpfs", str(tmp_path)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield tmp_path
    # Lazily: TensorFlow's writer threads may still hold a file open there.
    subprocess.run(["umount", "-l", str(tmp_path)], check=True)


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
def test_a_full_log_disk_is_named_before_training_and_when_it_fills_up_during_training(
    small_disk: Path,
) -> None:
    from dl101.tflearn_training import new_graph, train

    from tflearn.layers.core import fully_connected, input_data
    from tflearn.layers.estimator import regression

    fill(small_disk, leaving=4096)
    full = f"TensorBoard logs cannot be written to {small_disk}: its disk is full (0.0 MB free)."
    with pytest.raises(RuntimeError, match=re.escape(full)):
        runs.new_run("group/run", root=small_disk, epochs=1)
    assert [p.name for p in small_disk.iterdir()] == ["filler"]  # nothing left behind

    (small_disk / "filler").unlink()  # room for the run to be created ...
    run = runs.new_run("group/run", root=small_disk, epochs=2, batch_size=10, training_examples=50)
    fill(small_disk, leaving=8192)  # ... then the disk fills up
    new_graph(run.seed)
    net = regression(fully_connected(input_data(shape=[None, 2]), 2, activation="softmax"))
    points = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    labels = np.eye(2, dtype=np.float32)[(points[:, 0] > 0).astype(int)]

    written = f"The logs of 'group/run' could not be written to {run.folder}: its disk is full ("
    with pytest.raises(RuntimeError, match=re.escape(written)):
        train(net, run, (points, labels), (points, labels))
