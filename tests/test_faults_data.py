"""Faults in the data module: a damaged mnist.npz, and downloads that fail for a reason of the disk's.

Each test says what the learner sees (the exact cause, the file or folder it is in, what to do)
and what is left on disk afterwards: nothing half-written, and nothing of the user's deleted.
Tests run as root, where chmod stops no write, so a read-only folder is a file standing where
the folder should be, or ``tempfile`` inside dl101.data replaced by one that fails as a
read-only or full folder does.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from dl101 import data
from dl101.data import ArchiveError, DataError, Download, WriteError

import numpy as np
import pytest
from helpers import cifar10_archive, sha256, write_mnist

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
OFFLINE = "http://127.0.0.1:9"  # nothing listens there: a download would fail at once


def rewrite_mnist(path: Path, **changes: np.ndarray | None) -> bytes:
    """A small mnist.npz at ``path`` with some arrays replaced, or left out where given None."""
    write_mnist(path)
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays.update(changes)
    np.savez_compressed(path, **{key: value for key, value in arrays.items() if value is not None})
    return path.read_bytes()


def assert_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    """load_mnist refuses the file with ``expected`` in the message, and leaves the file alone."""
    with pytest.raises(DataError) as raised:
        data.load_mnist(tmp_path)

    message = str(raised.value)
    assert message.startswith(f"{tmp_path / data.MNIST_FILE} is corrupt: {expected}"), message
    assert message.endswith(
        "Delete it and run again to download a fresh copy, or point DL101_DATA_DIR at a good one."
    )
    assert os.listdir(tmp_path) == [data.MNIST_FILE]
    assert (tmp_path / data.MNIST_FILE).read_bytes() == content


# Case 5: mnist.npz is checked inside, as CIFAR-10's batches are.


@pytest.mark.parametrize("bad_label", [10, -1])
def test_an_mnist_label_out_of_range_names_the_file_the_array_and_the_label(
    tmp_path: Path, bad_label: int
) -> None:
    labels = np.arange(10, dtype=np.int64) % 10
    labels[3] = bad_label
    content = rewrite_mnist(tmp_path / data.MNIST_FILE, y_test=labels)

    assert_refused(
        tmp_path, content, f"y_test has the label {bad_label}, but MNIST's labels run from 0 to 9."
    )


def test_mnist_float_labels_are_refused(tmp_path: Path) -> None:
    content = rewrite_mnist(tmp_path / data.MNIST_FILE, y_train=np.zeros(60, dtype=np.float32))

    assert_refused(
        tmp_path, content, "y_train holds float32 values, but MNIST's labels are integers 0-9."
    )


def test_mnist_float_pixels_are_refused(tmp_path: Path) -> None:
    content = rewrite_mnist(tmp_path / data.MNIST_FILE, x_train=np.zeros((60, 28, 28)))

    assert_refused(
        tmp_path, content, "x_train holds float64 values, but MNIST's pixels are uint8 (0-255)."
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"x_test": np.zeros((10, 28, 27), dtype=np.uint8)},
            "x_test has the shape (10, 28, 27), but MNIST's images are (N, 28, 28).",
        ),
        (
            {"x_test": np.zeros((10, 784), dtype=np.uint8)},
            "x_test has the shape (10, 784), but MNIST's images are (N, 28, 28).",
        ),
        (
            {"y_train": np.zeros((60, 1), dtype=np.uint8)},
            "y_train has the shape (60, 1), but MNIST's labels are (N,).",
        ),
    ],
    ids=["image-size", "flat-images", "label-column"],
)
def test_mnist_arrays_of_the_wrong_shape_are_refused(
    tmp_path: Path, changes: dict[str, np.ndarray], expected: str
) -> None:
    content = rewrite_mnist(tmp_path / data.MNIST_FILE, **changes)

    assert_refused(tmp_path, content, expected)


def test_mnist_images_and_labels_of_different_counts_are_refused(tmp_path: Path) -> None:
    content = rewrite_mnist(tmp_path / data.MNIST_FILE, y_train=np.zeros(59, dtype=np.uint8))

    assert_refused(
        tmp_path,
        content,
        "x_train holds 60 images but y_train 59 labels (the official file has 60,000 of each).",
    )


def test_an_mnist_file_missing_an_array_names_it(tmp_path: Path) -> None:
    content = rewrite_mnist(tmp_path / data.MNIST_FILE, y_test=None)

    assert_refused(
        tmp_path,
        content,
        "it has no y_test array (it has x_train, y_train, x_test; "
        "Keras' mnist.npz has x_train, y_train, x_test, y_test).",
    )


def test_a_small_mnist_of_the_official_layout_still_loads(tmp_path: Path) -> None:
    """The checks hold every file to the official layout, but not to the official counts."""
    write_mnist(tmp_path / data.MNIST_FILE)

    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path)

    assert x_train.shape == (60, 28, 28) and y_test.shape == (10,)
    assert data.MNIST_TRAIN_SIZE == 60_000 and data.MNIST_TEST_SIZE == 10_000


# Case 10: a download that fails for a reason of the disk's says so, and names the folder.


@pytest.fixture
def served_mnist(web_root: tuple[Path, str]) -> Download:
    """A small mnist.npz served on 127.0.0.1, and its download."""
    served, url = web_root
    write_mnist(served / data.MNIST_FILE)
    return Download(
        f"{url}/{data.MNIST_FILE}", "sha256", sha256((served / data.MNIST_FILE).read_bytes())
    )


class ReadOnlyFolder:
    """Stands in for ``tempfile`` inside dl101.data: nothing can be created in ``folder``.

    This is how a read-only folder fails for a user who is not root: the folder can be opened
    (and locked), but creating a file or folder in it raises PermissionError.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _refuse(self, directory: str) -> None:
        if Path(directory) == self.folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(self.folder / ".tmp"))

    def NamedTemporaryFile(self, *, dir: str, **options: Any) -> Any:
        self._refuse(dir)
        return tempfile.NamedTemporaryFile(dir=dir, **options)

    def mkdtemp(self, *, dir: str, **options: Any) -> str:
        self._refuse(dir)
        return tempfile.mkdtemp(dir=dir, **options)


class FullDisk:
    """Stands in for ``tempfile`` inside dl101.data: files are created, but writing one fails.

    An OSError with errno ENOSPC is what a write to a full disk raises.
    """

    def NamedTemporaryFile(self, **options: Any) -> Any:
        file = tempfile.NamedTemporaryFile(**options)  # noqa: SIM115 (download() closes it)

        def write(block: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        file.write = write
        return file

    mkdtemp = staticmethod(tempfile.mkdtemp)


@pytest.mark.parametrize(
    ("kind", "reason"), [("a file", "File exists"), ("inside a file", "Not a directory")]
)
def test_a_data_folder_that_is_a_file_is_named_not_blamed_on_the_network(
    tmp_path: Path,
    served_mnist: Download,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    reason: str,
) -> None:
    in_the_way = tmp_path / "data"
    in_the_way.write_text("not a folder")
    folder = in_the_way if kind == "a file" else in_the_way / "data"
    monkeypatch.setattr(data, "REPO_DATA_DIR", folder)

    with pytest.raises(WriteError) as raised:
        data.find_mnist(tmp_path / "empty", source=served_mnist)

    message = str(raised.value)
    assert message.startswith(
        f"MNIST could not be downloaded into {folder}: {folder} cannot be created "
        f"({reason}: a file stands where a folder should be). Move that file away, or set "
        "DL101_DATA_DIR to a folder you can write to"
    )
    assert message.endswith("Nothing half-written was kept.")
    assert "connect to the internet" not in message
    assert in_the_way.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "served"]


def test_a_data_folder_made_read_only_with_chmod_is_named(
    served_mnist: Download,
) -> None:
    folder = data.REPO_DATA_DIR
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(WriteError, match=r"cannot be written \(Permission denied\)"):
            data.find_mnist(source=served_mnist)
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_a_read_only_data_folder_is_named_with_the_way_out(
    served_mnist: Download, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "tempfile", ReadOnlyFolder(data.REPO_DATA_DIR))

    with pytest.raises(WriteError) as raised:
        data.find_mnist(source=served_mnist)

    message = str(raised.value)
    assert message.startswith(
        f"MNIST could not be downloaded into {data.REPO_DATA_DIR}: {data.REPO_DATA_DIR} cannot be "
        "written (Permission denied). Make it writable, or set DL101_DATA_DIR to a folder you can "
        "write to (for example: export DL101_DATA_DIR=$HOME/dl101-data) and run again: a download "
        f"that {data.REPO_DATA_DIR} cannot take goes there."
    )
    assert "connect to the internet" not in message
    assert os.listdir(data.REPO_DATA_DIR) == []


def test_the_advice_for_a_read_only_data_folder_works(
    tmp_path: Path,
    served_mnist: Download,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr(data, "tempfile", ReadOnlyFolder(data.REPO_DATA_DIR))
    monkeypatch.setenv("DL101_DATA_DIR", str(tmp_path / "mine"))

    path = data.find_mnist(source=served_mnist)

    assert path == tmp_path / "mine" / data.MNIST_FILE
    assert (
        f"{data.REPO_DATA_DIR} cannot take MNIST (Permission denied): using {tmp_path / 'mine'}"
        in (capsys.readouterr().out)
    )
    assert os.listdir(tmp_path / "mine") == [data.MNIST_FILE]
    assert os.listdir(data.REPO_DATA_DIR) == []


def test_a_full_disk_is_named_with_its_free_space(
    served_mnist: Download, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "tempfile", FullDisk())

    with pytest.raises(WriteError) as raised:
        data.find_mnist(source=served_mnist)

    message = str(raised.value)
    assert message.startswith(
        f"MNIST could not be downloaded into {data.REPO_DATA_DIR}: there is no space left in "
        f"{data.REPO_DATA_DIR} (No space left on device; "
    )
    assert re.search(r"; [0-9,.]+ [MG]B free on its disk\)\. Free some space there", message)
    assert message.endswith("Nothing half-written was kept.")
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

    with pytest.raises(ArchiveError) as raised:
        data.find_cifar10(source=source)

    message = str(raised.value)
    archive = data.REPO_DATA_DIR / CIFAR10_ARCHIVE
    assert message.startswith(f"{archive} cannot be unpacked: it is truncated or damaged (")
    assert message.endswith(
        "It was removed: run again to download it again. If that fails the same way, download "
        f"{CIFAR10_ARCHIVE} by hand and put it, unopened, into {data.REPO_DATA_DIR}."
    )
    assert "connect to the internet" not in message
    assert os.listdir(data.REPO_DATA_DIR) == []


def test_an_archive_put_there_by_hand_that_cannot_be_unpacked_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    content = cifar10_archive(tmp_path)[:5000]
    (mine / CIFAR10_ARCHIVE).write_bytes(content)
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))
    source = Download(f"{OFFLINE}/{CIFAR10_ARCHIVE}", "sha256", sha256(content))

    with pytest.raises(ArchiveError) as raised:
        data.find_cifar10(source=source)

    message = str(raised.value)
    assert message.startswith(f"{mine / CIFAR10_ARCHIVE} cannot be unpacked: it is truncated")
    assert message.endswith(
        "It was kept, as this run did not download it: delete it, or replace it with a good copy "
        "of the official archive, and run again."
    )
    assert os.listdir(mine) == [CIFAR10_ARCHIVE], "nothing half-unpacked is left beside it"
    assert (mine / CIFAR10_ARCHIVE).read_bytes() == content
    assert os.listdir(data.REPO_DATA_DIR) == []


@pytest.mark.parametrize("failure", ["http-404", "timeout"])
def test_a_network_error_still_says_to_connect(
    tmp_path: Path, web_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    served, url = web_root  # serves nothing: every download is a 404, File not found
    source = Download(f"{url}/{data.MNIST_FILE}", "sha256", "0" * 64)
    if failure == "timeout":

        def times_out(*args: object, **options: object) -> None:
            raise TimeoutError("The read operation timed out")

        monkeypatch.setattr(data.urllib.request, "urlopen", times_out)

    with pytest.raises(DataError) as raised:
        data.find_mnist(tmp_path / "empty", source=source)

    message = str(raised.value)
    assert not isinstance(raised.value, WriteError)
    reason = "File not found" if failure == "http-404" else "The read operation timed out"
    assert f"and downloading it failed: {reason}\n" in message
    assert "connect to the internet and run again" in message
    assert os.listdir(data.REPO_DATA_DIR) == []


def test_an_archive_in_the_data_dir_variable_folder_is_unpacked_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = cifar10_archive(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / CIFAR10_ARCHIVE).write_bytes(archive)
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))
    offline = Download(f"{OFFLINE}/{CIFAR10_ARCHIVE}", "sha256", sha256(archive))

    folder = data.find_cifar10(source=offline)

    assert folder == mine / data.CIFAR10_FOLDER
    assert sorted(os.listdir(mine)) == [data.CIFAR10_FOLDER, CIFAR10_ARCHIVE]
    assert (mine / CIFAR10_ARCHIVE).read_bytes() == archive, "a file the user put there is kept"
    assert os.listdir(data.REPO_DATA_DIR) == []
    assert data.find_cifar10(source=offline) == folder, "the next run finds it there"


def test_an_archive_in_a_folder_that_cannot_be_written_is_unpacked_into_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    archive = cifar10_archive(tmp_path)
    mount = tmp_path / "read_only_mount"
    mount.mkdir()
    (mount / CIFAR10_ARCHIVE).write_bytes(archive)
    monkeypatch.setenv("DL101_DATA_DIR", str(mount))
    monkeypatch.setattr(data, "tempfile", ReadOnlyFolder(mount))
    offline = Download(f"{OFFLINE}/{CIFAR10_ARCHIVE}", "sha256", sha256(archive))

    folder = data.find_cifar10(source=offline)

    assert folder == data.REPO_DATA_DIR / data.CIFAR10_FOLDER
    assert (
        f"{mount / CIFAR10_ARCHIVE} cannot be unpacked into {mount} (Permission denied): "
        f"unpacking it into {data.REPO_DATA_DIR} instead." in capsys.readouterr().out
    )
    assert os.listdir(mount) == [CIFAR10_ARCHIVE]
    assert os.listdir(data.REPO_DATA_DIR) == [data.CIFAR10_FOLDER]


def test_an_mnist_file_with_no_images_is_refused(tmp_path: Path) -> None:
    empty = np.zeros((0, 28, 28), np.uint8)
    labels = np.zeros(0, np.uint8)
    np.savez(tmp_path / data.MNIST_FILE, x_train=empty, y_train=labels, x_test=empty, y_test=labels)

    with pytest.raises(DataError, match=r"is corrupt: x_train holds no images"):
        data.load_mnist(tmp_path)


def test_a_download_can_be_read_by_everyone_who_may_read_its_folder(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    served, url = web_root
    (served / "file.bin").write_bytes(b"data")
    old_umask = os.umask(0o022)
    try:
        saved = data.download(
            Download(f"{url}/file.bin", "sha256", sha256(b"data")), tmp_path / "file.bin", False
        )
    finally:
        os.umask(old_umask)

    assert oct(saved.stat().st_mode & 0o777) == "0o644"
