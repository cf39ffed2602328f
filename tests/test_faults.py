"""Faults and bad input: each case of issue 10 gets a clear message, loses nothing, leaves nothing."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import subprocess
from pathlib import Path

from dl101 import data, notebook, python_check
from dl101.data import DataError, Download
from dl101.paths import REPO_ROOT
from maintainers import run_notebooks

import pytest
from helpers import (
    cifar10_archive,
    cifar10_batch,
    sha256,
    write_cifar10,
    write_mnist,
    write_notebook,
)


class RunsCode:
    """A pickle that runs a shell command when loaded, as a crafted batch file would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def served_cifar10(tmp_path: Path, web_root: tuple[Path, str]) -> tuple[Path, Download, bytes]:
    """A small CIFAR-10 archive served on 127.0.0.1: the folder, its download, and its bytes."""
    served, url = web_root
    archive = cifar10_archive(tmp_path)
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    return served, Download(f"{url}/cifar-10-python.tar.gz", "sha256", sha256(archive)), archive


def test_a_batch_that_would_run_code_is_refused_without_running_it(tmp_path: Path) -> None:
    folder = tmp_path / data.CIFAR10_FOLDER
    write_cifar10(folder)
    marker = tmp_path / "code-ran"
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": RunsCode(marker)}, protocol=2))

    with pytest.raises(DataError, match=r"data_batch_2 is truncated or corrupt.*asks to load"):
        data.load_cifar10(tmp_path)

    assert not marker.exists()


def test_a_label_out_of_range_names_the_file_and_the_value(tmp_path: Path) -> None:
    """A label of -1 would train as class 9 (the MNIST tests check both ends of the range)."""
    folder = tmp_path / data.CIFAR10_FOLDER
    write_cifar10(folder)
    batch = cifar10_batch(3)
    batch["labels"][5] = -1
    (folder / "data_batch_4").write_bytes(pickle.dumps(batch, protocol=2))

    with pytest.raises(DataError, match=r"data_batch_4 is corrupt: it has the label -1"):
        data.load_cifar10(tmp_path)


def test_a_folder_missing_one_batch_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "mine" / data.CIFAR10_FOLDER
    write_cifar10(folder)
    (folder / "data_batch_3").unlink()
    source = Download("http://127.0.0.1:9/cifar-10-python.tar.gz", "md5", "0" * 32)

    with pytest.raises(DataError, match=r"incomplete: data_batch_3 is missing"):
        data.find_cifar10(tmp_path / "mine", source=source)


def test_an_incomplete_download_folder_is_replaced_and_kept_aside(
    tmp_path: Path, served_cifar10: tuple[Path, Download, bytes]
) -> None:
    served, source, archive = served_cifar10
    write_cifar10(data.REPO_DATA_DIR / data.CIFAR10_FOLDER)
    (data.REPO_DATA_DIR / data.CIFAR10_FOLDER / "test_batch").unlink()

    folder = data.find_cifar10(source=source)

    assert folder == data.REPO_DATA_DIR / data.CIFAR10_FOLDER
    assert (folder / "test_batch").is_file()
    names = sorted(os.listdir(data.REPO_DATA_DIR))
    assert names[0] == data.CIFAR10_FOLDER and names[1].startswith(
        f"{data.CIFAR10_FOLDER}.incomplete-"
    )
    assert len(names) == 2, "the verified archive is deleted only after unpacking"


def test_a_verified_archive_is_never_thrown_away_when_unpacking_fails(
    tmp_path: Path, served_cifar10: tuple[Path, Download, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, source, archive = served_cifar10

    def disk_full(*args: object, **options: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(data.tarfile.TarFile, "extractall", disk_full)
        with pytest.raises(DataError, match=r"its disk is full .* No space left on device"):
            data.find_cifar10(source=source)

    assert os.listdir(data.REPO_DATA_DIR) == ["cifar-10-python.tar.gz"]
    assert (data.REPO_DATA_DIR / "cifar-10-python.tar.gz").read_bytes() == archive
    (served / "cifar-10-python.tar.gz").unlink()  # the retry must not download again
    folder = data.find_cifar10(source=source)
    assert os.listdir(data.REPO_DATA_DIR) == [data.CIFAR10_FOLDER] == [folder.name]


def test_an_archive_put_in_the_data_folder_by_hand_is_used(tmp_path: Path) -> None:
    archive = cifar10_archive(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "cifar-10-python.tar.gz").write_bytes(archive)
    offline = Download("http://127.0.0.1:9/cifar-10-python.tar.gz", "sha256", sha256(archive))

    folder = data.find_cifar10(mine, source=offline)

    assert folder == data.REPO_DATA_DIR / data.CIFAR10_FOLDER
    assert (mine / "cifar-10-python.tar.gz").is_file(), "a file the user put there is left alone"


def _find_mnist(source: Download) -> str:
    return str(data.find_mnist(source=source))


def test_two_first_downloads_at_once_both_get_the_data(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    served, url = web_root
    write_mnist(served / data.MNIST_FILE)
    content = (served / data.MNIST_FILE).read_bytes()
    source = Download(f"{url}/{data.MNIST_FILE}", "sha256", sha256(content))

    with multiprocessing.get_context("fork").Pool(2) as pool:
        paths = pool.map(_find_mnist, [source] * 2)

    assert paths == [str(data.REPO_DATA_DIR / data.MNIST_FILE)] * 2
    assert os.listdir(data.REPO_DATA_DIR) == [data.MNIST_FILE]


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
