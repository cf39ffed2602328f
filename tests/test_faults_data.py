"""Faults in the data module: an mnist.npz that is not MNIST, and a disk that cannot take a download.

Each test says what the learner sees (the cause, the file or folder it is in, what to do) and
what is left on disk afterwards: nothing half-written, and nothing of the learner's deleted.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from dl101 import data
from dl101.data import DataError, Download

import numpy as np
import pytest
from helpers import cifar10_archive, sha256, write_mnist

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
OFFLINE = "http://127.0.0.1:9"  # nothing listens there: a download would fail at once
FIX = "Delete it and run again to download a fresh copy, or point DL101_DATA_DIR at a good one."


def with_arrays(**changes: np.ndarray | None) -> Callable[[Path], None]:
    """Writes a small mnist.npz with some arrays replaced, or left out where given None."""

    def write(path: Path) -> None:
        write_mnist(path)
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in npz.files} | changes
        np.savez(path, **{key: value for key, value in arrays.items() if value is not None})

    return write


def labels_with(bad_label: int) -> np.ndarray:
    labels = np.arange(10, dtype=np.int64)
    labels[3] = bad_label
    return labels


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (
            lambda path: path.write_bytes(b"not a zip file"),
            # numpy takes a file that is not a zip for a pickle, which it refuses to load.
            "truncated or corrupt (ValueError: ",
        ),
        (
            with_arrays(y_test=None),
            "truncated or corrupt (KeyError: 'y_test is not a file in the archive')",
        ),
        (
            with_arrays(y_test=labels_with(10)),
            "corrupt: its test set has the label 10, but labels run from 0 to 9",
        ),
        (
            with_arrays(y_test=labels_with(-1)),
            "corrupt: its test set has the label -1, but labels run from 0 to 9",
        ),
        (
            with_arrays(x_train=np.zeros((60, 28, 28))),
            "corrupt: its train set holds float64 images of shape (60, 28, 28) and uint8 labels "
            "of shape (60,), but MNIST's are uint8 images of shape (N, 28, 28) and integer "
            "labels of shape (N,)",
        ),
        (
            with_arrays(y_train=np.zeros(60, dtype=np.float32)),
            "corrupt: its train set holds uint8 images of shape (60, 28, 28) and float32 labels",
        ),
        (
            with_arrays(x_test=np.zeros((10, 784), dtype=np.uint8)),
            "corrupt: its test set holds uint8 images of shape (10, 784) and",
        ),
        (
            with_arrays(y_train=np.zeros((60, 1), dtype=np.uint8)),
            "corrupt: its train set holds uint8 images of shape (60, 28, 28) and uint8 labels of "
            "shape (60, 1)",
        ),
        (
            with_arrays(y_train=np.zeros(59, dtype=np.uint8)),
            "corrupt: its train set has 60 images but 59 labels",
        ),
        (
            with_arrays(x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.uint8)),
            "corrupt: its test set has no images",
        ),
    ],
    ids=[
        "not-an-npz",
        "missing-array",
        "label-10",
        "label-minus-1",
        "float-pixels",
        "float-labels",
        "flat-images",
        "label-column",
        "counts-differ",
        "no-images",
    ],
)
def test_an_mnist_file_that_is_not_mnist_is_refused_and_left_alone(
    tmp_path: Path, write: Callable[[Path], None], problem: str
) -> None:
    """Without these checks a label of -1 trains as class 9, and the rest fail inside Keras."""
    path = tmp_path / data.MNIST_FILE
    write(path)
    content = path.read_bytes()

    with pytest.raises(DataError) as raised:
        data.load_mnist(tmp_path)

    message = str(raised.value)
    assert message.startswith(f"{path} is {problem}"), message
    assert message.endswith(FIX)
    assert os.listdir(tmp_path) == [data.MNIST_FILE] and path.read_bytes() == content


@pytest.fixture
def served_mnist(web_root: tuple[Path, str]) -> Download:
    """A small mnist.npz served on 127.0.0.1, and its download."""
    served, url = web_root
    write_mnist(served / data.MNIST_FILE)
    return Download(
        f"{url}/{data.MNIST_FILE}", "sha256", sha256((served / data.MNIST_FILE).read_bytes())
    )


def refuse_to_create(suffix: Any = None, prefix: Any = None, dir: Any = None) -> NoReturn:
    """tempfile.mkdtemp in a folder the learner may not write to, which root always may."""
    raise PermissionError(errno.EACCES, "Permission denied", dir)


@pytest.mark.parametrize(
    ("kind", "cause", "fix"),
    [
        ("a file", "a file stands where the folder should be", "Move that file away"),
        ("inside a file", "a file stands where the folder should be", "Move that file away"),
        ("read-only", "you may not write there", "Make it writable"),
    ],
)
def test_a_data_folder_that_cannot_take_a_download_is_named_not_blamed_on_the_network(
    tmp_path: Path,
    served_mnist: Download,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    cause: str,
    fix: str,
) -> None:
    folder = tmp_path / "data"
    if kind == "read-only":
        folder.mkdir()
        monkeypatch.setattr(data.tempfile, "mkdtemp", refuse_to_create)
    else:
        folder.write_text("not a folder")
    target = folder / "data" if kind == "inside a file" else folder
    monkeypatch.setattr(data, "REPO_DATA_DIR", target)

    with pytest.raises(DataError) as raised:
        data.find_mnist(tmp_path / "empty", source=served_mnist)

    message = str(raised.value)
    assert message.startswith(f"MNIST could not be saved in {target}: {cause}; [Errno ")
    assert f". Nothing half-written was kept. {fix}, or set DL101_DATA_DIR to a folder" in message
    assert "connect to the internet" not in message
    left = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    assert left == ["data", "served", "served/mnist.npz"], "nothing was added or removed"


def test_the_advice_for_a_data_folder_that_cannot_take_a_download_works(
    tmp_path: Path,
    served_mnist: Download,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    in_the_way = tmp_path / "data"
    in_the_way.write_text("not a folder")
    monkeypatch.setattr(data, "REPO_DATA_DIR", in_the_way)
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))

    path = data.find_mnist(source=served_mnist)

    assert path == mine / data.MNIST_FILE
    printed = capsys.readouterr().out
    assert f"MNIST could not be saved in {in_the_way}: a file stands where" in printed
    assert f". Trying {mine} instead." in printed
    assert os.listdir(mine) == [data.MNIST_FILE]


def test_a_full_disk_is_named_with_its_free_space(
    served_mnist: Download, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download onto a full disk, made real by /dev/full, where every write fails with ENOSPC."""
    real_open = open

    def open_on_a_full_disk(file: Any, mode: str = "r", *args: Any, **options: Any) -> Any:
        if "w" not in mode:
            return real_open(file, mode, *args, **options)
        real_open(file, mode).close()  # the file is created, as on a real disk
        return real_open("/dev/full", mode, *args, **options)

    monkeypatch.setattr(data, "open", open_on_a_full_disk, raising=False)

    with pytest.raises(DataError) as raised:
        data.find_mnist(source=served_mnist)

    message = str(raised.value)
    assert message.startswith(f"MNIST could not be saved in {data.REPO_DATA_DIR}: its disk is full")
    assert re.search(r"full \([0-9,.]+ [MG]B free; CIFAR-10 needs 350 MB, MNIST 11 MB\); ", message)
    assert "[Errno 28] No space left on device. Nothing half-written was kept." in message
    assert "Free some space there, or set DL101_DATA_DIR" in message
    assert "connect to the internet" not in message
    assert os.listdir(data.REPO_DATA_DIR) == [], "the partial download is removed"


@pytest.mark.parametrize("damage", ["truncated", "not-an-archive"])
def test_a_downloaded_archive_that_cannot_be_unpacked_is_named_and_removed(
    tmp_path: Path, web_root: tuple[Path, str], damage: str
) -> None:
    served, url = web_root
    whole = cifar10_archive(tmp_path)
    content = whole[: len(whole) // 2] if damage == "truncated" else b"not an archive" * 100
    (served / CIFAR10_ARCHIVE).write_bytes(content)
    # The publisher's checksum matches, so only unpacking can find the damage.
    source = Download(f"{url}/{CIFAR10_ARCHIVE}", "sha256", sha256(content))

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=source)

    message = str(raised.value)
    archive = data.REPO_DATA_DIR / CIFAR10_ARCHIVE
    assert message.startswith(f"{archive} cannot be unpacked: it is truncated or damaged (")
    assert message.endswith(
        "It was removed: run again to download it again, or put a copy you downloaded by hand, "
        f"unopened, into {data.REPO_DATA_DIR}."
    )
    assert os.listdir(data.REPO_DATA_DIR) == []


def test_an_archive_of_the_learners_that_cannot_be_unpacked_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    content = cifar10_archive(tmp_path)[:5000]
    (mine / CIFAR10_ARCHIVE).write_bytes(content)
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))
    source = Download(f"{OFFLINE}/{CIFAR10_ARCHIVE}", "sha256", sha256(content))

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=source)

    message = str(raised.value)
    assert message.startswith(f"{mine / CIFAR10_ARCHIVE} cannot be unpacked: it is truncated")
    assert message.endswith(
        "It was kept, as it is yours: replace it with a good copy of the official archive, and "
        "run again."
    )
    assert (
        os.listdir(mine) == [CIFAR10_ARCHIVE] and (mine / CIFAR10_ARCHIVE).read_bytes() == content
    )
    assert os.listdir(data.REPO_DATA_DIR) == [], "nothing half-unpacked is left"
