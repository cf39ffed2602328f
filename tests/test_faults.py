"""Faults and bad input outside the data module (see test_faults_data.py): each case of issue 10
gets a clear message, loses nothing, leaves nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dl101 import notebook, python_check
from dl101.paths import REPO_ROOT
from maintainers import run_notebooks

import pytest
from helpers import write_notebook


@pytest.mark.notebook
def test_a_dead_kernel_is_reported_and_a_good_copy_is_kept(tmp_path: Path) -> None:
    output_dir = tmp_path / "executed"
    output_dir.mkdir()
    good = output_dir / "crash.ipynb"
    good.write_text("the good copy of an earlier run")
    source = write_notebook(tmp_path / "crash.ipynb", "print('before')", "import os\nos._exit(9)")

    outcome = run_notebooks.execute(source, output_dir)

    assert not outcome.succeeded
    assert "the kernel stopped" in outcome.detail and "memory" in outcome.detail
    assert good.read_text() == "the good copy of an earlier run"
    assert sorted(p.name for p in output_dir.iterdir()) == ["crash.FAILED.ipynb", "crash.ipynb"]


def test_an_output_dir_that_is_a_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "out").write_text("a file")

    with pytest.raises(SystemExit):
        run_notebooks.main(["--output-dir", str(tmp_path / "out"), "start_here"])

    error = capsys.readouterr().err
    assert "File exists" in error and str(tmp_path / "out") in error


def test_a_log_dir_that_is_a_file_stops_make_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "logs").write_text("a file")
    monkeypatch.setenv("DL101_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(run_notebooks, "execute", lambda *args: pytest.fail("a kernel started"))

    with pytest.raises(SystemExit):
        run_notebooks.main(["--output-dir", str(tmp_path / "out"), "start_here"])

    assert "Set DL101_LOG_DIR to a folder you can write to" in capsys.readouterr().err


def test_the_tensorboard_command_quotes_a_path_with_spaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DL101_LOG_DIR", str(tmp_path / "my logs"))

    assert notebook.tensorboard_command() == f"tensorboard --logdir '{tmp_path / 'my logs'}'"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ((3, 11, 4), "Python 3.11.4 is too old: this project supports 3.11.5 up to (not "),
        ((3, 14, 0), "Python 3.14.0 is too new"),
        ((3, 11, 5), None),
        ((3, 13, 9), None),
    ],
)
def test_a_python_outside_the_supported_range_is_refused_with_the_range(
    version: tuple[int, ...], expected: str | None
) -> None:
    said = python_check.problem(version)

    assert said is None if expected is None else said.startswith(expected)


def test_make_refuses_a_too_old_python_before_it_creates_anything(tmp_path: Path) -> None:
    # pyenv's shims name interpreters they will not run, so ask each candidate to answer.
    candidates = [
        shutil.which("python3.10"),
        *Path.home().glob(".pyenv/versions/3.10.*/bin/python3.10"),
    ]
    old_python = next(
        (
            str(python)
            for python in candidates
            if python and subprocess.run([python, "-c", ""], capture_output=True).returncode == 0
        ),
        None,
    )
    if old_python is None:
        pytest.skip("no Python 3.10 on this machine to try make with")
    venv = tmp_path / "venv"

    result = subprocess.run(
        ["make", "setup", f"PYTHON={old_python}", f"VENV={venv}"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip

    assert result.returncode != 0
    assert "is too old: this project supports 3.11.5" in result.stderr
    assert not venv.exists()
