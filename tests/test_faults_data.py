"""Faults in the data module: data that is not what it claims, and a folder that cannot take a
download. Each test says what the learner sees and that nothing half-written is left."""

from __future__ import annotations

import errno
import io
import os
import pickle
import re
import tarfile
from pathlib import Path
from typing import Any, NoReturn

from dl101 import data
from dl101.data import DataError, Download

import numpy as np
import pytest
from helpers import cifar10_archive, cifar10_batch, sha256, write_cifar10, write_mnist

ARCHIVE = "cifar-10-python.tar.gz"
FIX = "Delete it and run again to download a fresh copy, or point DL101_DATA_DIR at a good one."


def serve(web_root: tuple[Path, str], content: bytes) -> Download:
    """``content`` served on 127.0.0.1 as the CIFAR-10 archive, with the right checksum."""
    (web_root[0] / ARCHIVE).write_bytes(content)
    return Download(f"{web_root[1]}/{ARCHIVE}", "sha256", sha256(content))


def labels_with(bad_label: int) -> np.ndarray:
    labels = np.arange(10, dtype=np.int64)
    labels[3] = bad_label
    return labels


# Arrays replaced in a good mnist.npz (None: left out), and what the learner is told.
NOT_MNIST: dict[str, tuple[dict[str, Any], str]] = {
    # numpy takes a file that is not a zip for a pickle, which it refuses to load.
    "not-an-npz": ({}, "truncated or corrupt (ValueError: "),
    "missing-array": (
        {"y_test": None},
        "truncated or corrupt (KeyError: 'y_test is not a file in the archive')",
    ),
    "label-10": (
        {"y_test": labels_with(10)},
        "corrupt: its test set has the label 10, but labels run from 0 to 9",
    ),
    "float-pixels": (
        {"x_train": np.zeros((60, 28, 28))},
        "corrupt: its train set holds float64 images of shape (60, 28, 28) and uint8 labels "
        "of shape (60,), but MNIST's are uint8 images of shape (N, 28, 28) and integer "
        "labels of shape (N,)",
    ),
    "label-column": (
        {"y_train": np.zeros((60, 1), dtype=np.uint8)},
        "corrupt: its train set holds uint8 images of shape (60, 28, 28) and uint8 labels of "
        "shape (60, 1)",
    ),
    "counts-differ": (
        {"y_train": np.zeros(59, dtype=np.uint8)},
        "corrupt: its train set has 60 images but 59 labels",
    ),
    "no-images": (
        {"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, np.uint8)},
        "corrupt: its test set has no images",
    ),
}


@pytest.mark.parametrize("case", NOT_MNIST)
def test_an_mnist_file_that_is_not_mnist_is_refused_and_left_alone(
    tmp_path: Path, case: str
) -> None:
    """Without these checks a label of -1 trains as class 9, and the rest fail inside Keras."""
    changes, problem = NOT_MNIST[case]
    path = tmp_path / data.MNIST_FILE
    write_mnist(path)
    if case == "not-an-npz":
        path.write_bytes(b"not a zip file")
    else:
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in npz.files} | changes
        np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    content = path.read_bytes()

    with pytest.raises(DataError) as raised:
        data.load_mnist(tmp_path)

    message = str(raised.value)
    assert message.startswith(f"{path} is {problem}"), message
    assert message.endswith(FIX)
    assert os.listdir(tmp_path) == [data.MNIST_FILE] and path.read_bytes() == content


class RunsCode:
    """A pickle that runs a shell command when loaded, as a crafted batch file would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("runs code", r"is truncated or corrupt \(UnpicklingError: it asks to load \w+\.system,"),
        ("label -1", r"is corrupt: it has the label -1, but labels run from 0 to 9\."),
    ],
)
def test_a_cifar10_batch_that_is_not_one_is_refused_and_nothing_in_it_runs(
    tmp_path: Path, fault: str, problem: str
) -> None:
    folder = tmp_path / data.CIFAR10_FOLDER
    write_cifar10(folder)
    marker = tmp_path / "code-ran"
    batch = cifar10_batch(3)
    batch["labels"][5] = -1  # would train as class 9
    content = {"data": RunsCode(marker)} if fault == "runs code" else batch
    (folder / "data_batch_2").write_bytes(pickle.dumps(content, protocol=2))

    with pytest.raises(DataError, match=f"^{re.escape(str(folder / 'data_batch_2'))} {problem}"):
        data.load_cifar10(tmp_path)

    assert not marker.exists()


def escaping_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        member = tarfile.TarInfo(f"{data.CIFAR10_FOLDER}/../../escaped.txt")
        member.size = len(b"overwritten")
        tar.addfile(member, io.BytesIO(b"overwritten"))
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["truncated", "not an archive", "escapes its folder"])
def test_a_downloaded_archive_that_cannot_be_unpacked_safely_is_refused_and_removed(
    tmp_path: Path, web_root: tuple[Path, str], damage: str
) -> None:
    """Its checksum matches, so only unpacking finds the damage, and only the tarfile filter
    stops a member from escaping (escaped.txt would land in the data folder)."""
    whole = cifar10_archive(tmp_path)
    content = {
        "truncated": whole[: len(whole) // 2],
        "not an archive": b"not an archive" * 100,
        "escapes its folder": escaping_archive(),
    }[damage]
    source = serve(web_root, content)

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=source)

    assert str(raised.value).startswith(
        f"The download of {source.url} passed its checksum but cannot be unpacked safely ("
    )
    assert str(raised.value).endswith("). Nothing was kept.")
    assert os.listdir(data.REPO_DATA_DIR) == []


def refuse_to_create(suffix: Any = None, prefix: Any = None, dir: Any = None) -> NoReturn:
    """tempfile.mkdtemp in a folder the learner may not write to, which root always may."""
    raise PermissionError(errno.EACCES, "Permission denied", dir)


def disk_full(*args: object, **options: object) -> NoReturn:
    raise OSError(errno.ENOSPC, "No space left on device")


def open_on_a_full_disk(file: Any, mode: str = "r", *args: Any, **options: Any) -> Any:
    """Writes go to /dev/full, where each fails with ENOSPC, as on a full disk."""
    if "w" not in mode:
        return open(file, mode, *args, **options)
    open(file, mode).close()  # the file is created, as on a real disk
    return open("/dev/full", mode, *args, **options)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("read-only", errno.EACCES),
        ("a file in its place", errno.EEXIST),
        ("full while downloading", errno.ENOSPC),
        ("full while unpacking", errno.ENOSPC),
    ],
)
def test_a_data_folder_that_cannot_take_a_download_is_named_not_blamed_on_the_network(
    tmp_path: Path,
    web_root: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    code: int,
) -> None:
    source = serve(web_root, cifar10_archive(tmp_path))
    target = data.REPO_DATA_DIR
    if fault == "read-only":
        monkeypatch.setattr(data.tempfile, "mkdtemp", refuse_to_create)
    elif fault == "a file in its place":
        target = tmp_path / "data"
        target.write_text("not a folder")
        monkeypatch.setattr(data, "REPO_DATA_DIR", target)
    elif fault == "full while downloading":
        monkeypatch.setattr(data, "open", open_on_a_full_disk, raising=False)
    else:
        monkeypatch.setattr(data.tarfile.TarFile, "extractall", disk_full)

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=source)

    message = str(raised.value)
    assert message.startswith(f"CIFAR-10 could not be saved in {target}: [Errno {code}] ")
    assert re.search(r" \([0-9,.]+ [MG]B free; CIFAR-10 needs 350 MB, MNIST 11 MB\)\. ", message)
    assert "Nothing half-written was kept. Make room there or make it writable, or set" in message
    assert "connect to the internet" not in message
    assert target.is_file() or os.listdir(target) == [], "nothing half-written is left"
