"""The data loaders: where they look, what they return, and how they fail."""

from __future__ import annotations

import errno
import http.server
import io
import os
import re
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

from dl101 import data
from dl101.data import DataError, Download

import numpy as np
import pytest
from helpers import (
    IMAGES_PER_BATCH,
    REAL_DATA_DIR,
    cifar10_archive,
    sha256,
    write_cifar10,
    write_mnist,
)

OFFLINE = "http://127.0.0.1:9"  # nothing listens there: a download is refused at once


@pytest.mark.parametrize("subfolder", [data.CIFAR10_FOLDER, "."])
def test_cifar10_arrays_have_the_notebooks_layout(tmp_path: Path, subfolder: str) -> None:
    """The batch files may sit in cifar-10-batches-py/ or directly in the folder."""
    batches = write_cifar10(tmp_path / subfolder)

    (x_train, y_train), (x_test, y_test) = data.load_cifar10(tmp_path)

    assert x_train.shape == (5 * IMAGES_PER_BATCH, 32, 32, 3)
    assert x_test.shape == (IMAGES_PER_BATCH, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == np.float32
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    assert y_train.tolist() == sum((batches[n]["labels"] for n in data.CIFAR10_TRAIN_BATCHES), [])
    assert y_test.tolist() == batches[data.CIFAR10_TEST_BATCH]["labels"]
    # Pixel (row 1, column 2) of the first test image: red, green and blue are 1024 apart.
    row = batches[data.CIFAR10_TEST_BATCH]["data"][0]
    expected = [row[channel * 1024 + 1 * 32 + 2] / 255.0 for channel in range(3)]
    np.testing.assert_allclose(x_test[0, 1, 2], expected, rtol=1e-6)


def test_search_order_is_argument_environment_repository_floydhub(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit, environment = tmp_path / "explicit", tmp_path / "environment"
    repository, floydhub = data.REPO_DATA_DIR, isolated / "floyd" / "input" / "data"
    for folder in (explicit, environment, repository, floydhub):
        write_cifar10(folder / data.CIFAR10_FOLDER)
    monkeypatch.setenv("DL101_DATA_DIR", str(environment))

    assert data.find_cifar10(explicit).parent == explicit
    assert data.find_cifar10().parent == environment
    monkeypatch.delenv("DL101_DATA_DIR")
    assert data.find_cifar10().parent == repository
    for name in os.listdir(repository / data.CIFAR10_FOLDER):
        (repository / data.CIFAR10_FOLDER / name).unlink()
    assert data.find_cifar10().parent == floydhub


def test_a_folder_the_learner_cannot_read_is_passed_over_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked folder (a shared server's /data mount, a folder of mode 000) is no crash.

    For a learner without rights there, Python's stat() of any path inside it raises
    PermissionError, which Path.is_file() passes on. Tests run as root, whom permission bits do
    not stop, so stat() is made to fail inside the folder the same way.
    """
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setenv("DL101_DATA_DIR", str(locked))
    real_stat = Path.stat

    def stat(path: Path, **options: bool) -> os.stat_result:
        if locked in path.parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, **options)

    monkeypatch.setattr(Path, "stat", stat)
    write_mnist(data.REPO_DATA_DIR / data.MNIST_FILE)

    (x_train, _), _ = data.load_mnist()

    with np.load(data.REPO_DATA_DIR / data.MNIST_FILE) as expected:
        np.testing.assert_array_equal(x_train, expected["x_train"])
    (data.REPO_DATA_DIR / data.MNIST_FILE).unlink()
    offline = Download(f"{OFFLINE}/{data.MNIST_FILE}", "sha256", "0" * 64)
    with pytest.raises(
        DataError, match=re.escape(f"\n  ({locked} cannot be read (Permission denied))")
    ):
        data.find_mnist(source=offline)


def test_a_data_dir_variable_naming_no_folder_is_an_error_not_a_download(
    tmp_path: Path, web_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, url = web_root
    write_mnist(served / data.MNIST_FILE)
    source = Download(
        f"{url}/{data.MNIST_FILE}", "sha256", sha256((served / data.MNIST_FILE).read_bytes())
    )
    mistyped = tmp_path / "dl101-dta"
    monkeypatch.setenv("DL101_DATA_DIR", str(mistyped))

    with pytest.raises(DataError) as raised:
        data.find_mnist(source=source)

    assert str(raised.value) == (
        f"DL101_DATA_DIR is set to {mistyped}, which does not exist: correct it (export "
        "DL101_DATA_DIR=/path/to/data), create that folder, or unset DL101_DATA_DIR to use "
        f"{data.REPO_DATA_DIR}."
    )
    assert os.listdir(data.REPO_DATA_DIR) == [], "nothing was downloaded instead"

    inside_a_file = tmp_path / "notes.txt" / "data"
    inside_a_file.parent.write_text("a file, not a folder")
    monkeypatch.setenv("DL101_DATA_DIR", str(inside_a_file))
    with pytest.raises(DataError, match="which does not exist"):
        data.find_mnist(source=source)


def test_mnist_arrays_are_those_of_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path / data.MNIST_FILE)

    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path)

    with np.load(tmp_path / data.MNIST_FILE) as expected:
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        for key, array in arrays.items():
            np.testing.assert_array_equal(array, expected[key])
            assert array.dtype == expected[key].dtype


def test_cifar10_download_is_verified_and_unpacked_and_clears_leftovers(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    served, url = web_root
    archive = cifar10_archive(tmp_path)
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    source = Download(f"{url}/cifar-10-python.tar.gz", "sha256", sha256(archive))
    # What SIGKILL during a download and during unpacking leaves, and a cut-off archive.
    (data.REPO_DATA_DIR / ".cifar-10-python.tar.gz.abc123.part").mkdir()
    (data.REPO_DATA_DIR / ".cifar-10-python.tar.gz.abc123.part" / "x").write_bytes(b"half")
    (data.REPO_DATA_DIR / ".extract-xyz" / data.CIFAR10_FOLDER).mkdir(parents=True)
    (data.REPO_DATA_DIR / "cifar-10-python.tar.gz").write_bytes(archive[:100])

    folder = data.find_cifar10(source=source)

    assert folder == data.REPO_DATA_DIR / data.CIFAR10_FOLDER
    assert os.listdir(data.REPO_DATA_DIR) == [data.CIFAR10_FOLDER]
    (x_train, _), (x_test, _) = data.load_cifar10()
    assert len(x_train) == 5 * IMAGES_PER_BATCH and len(x_test) == IMAGES_PER_BATCH


def test_mnist_download_lands_in_the_data_folder_readable_by_all(
    web_root: tuple[Path, str],
) -> None:
    """Readable by everyone who may read the folder, as a file the learner saved would be."""
    served, url = web_root
    write_mnist(served / data.MNIST_FILE)
    content = (served / data.MNIST_FILE).read_bytes()
    source = Download(f"{url}/{data.MNIST_FILE}", "sha256", sha256(content))
    old_umask = os.umask(0o022)
    try:
        path = data.find_mnist(source=source)
    finally:
        os.umask(old_umask)

    assert path.read_bytes() == content
    assert os.listdir(data.REPO_DATA_DIR) == [data.MNIST_FILE]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_checksum_mismatch_keeps_nothing_and_says_where_a_copy_would_be_used(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    served, url = web_root
    (served / "cifar-10-python.tar.gz").write_bytes(cifar10_archive(tmp_path))
    source = Download(f"{url}/cifar-10-python.tar.gz", "md5", "0" * 32)

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=source)

    assert re.search(
        r"is corrupt: its md5 checksum is [0-9a-f]{32}.*Nothing was kept", str(raised.value)
    )
    assert str(raised.value).endswith(
        f"put it, unopened, into {data.REPO_DATA_DIR}: it is checked and used from there."
    )
    assert os.listdir(data.REPO_DATA_DIR) == []


class TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises a megabyte and hangs up after a few bytes, like a dropped connection."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        self.wfile.write(b"only the beginning")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def truncating_url() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), TruncatingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ("refused", "Connection refused"),
        ("not found", "File not found"),
        ("timeout", "The read operation timed out"),
        ("dropped", "the connection dropped after 18 of 1,048,576 bytes"),
    ],
)
def test_a_failed_download_names_the_cause_and_every_way_out(
    tmp_path: Path,
    web_root: tuple[Path, str],
    truncating_url: str,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    reason: str,
) -> None:
    urls = {"refused": OFFLINE, "not found": web_root[1], "dropped": truncating_url}
    source = Download(f"{urls.get(failure, OFFLINE)}/{data.MNIST_FILE}", "sha256", "0" * 64)
    if failure == "timeout":

        def times_out(*args: object, **options: object) -> None:
            raise TimeoutError("The read operation timed out")

        monkeypatch.setattr(data.urllib.request, "urlopen", times_out)
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))

    with pytest.raises(DataError) as raised:
        data.find_mnist(source=source)

    message = str(raised.value)
    assert message.startswith("MNIST was not found in any of these folders:\n")
    for folder in data.candidate_dirs():
        assert f"\n  - {folder}\n" in message
    # A refused connection's reason is "[Errno 111] Connection refused" on Linux.
    assert re.search(
        rf"\nand downloading it failed: (\[Errno \d+\] )?{re.escape(reason)}\n", message
    )
    assert "connect to the internet and run again" in message
    assert "export DL101_DATA_DIR=" in message
    assert os.listdir(data.REPO_DATA_DIR) == os.listdir(mine) == [], "nothing half-written"


def test_archive_that_escapes_its_folder_is_refused(tmp_path: Path) -> None:
    """Even with the publisher's checksum: only the tarfile filter stands in the way."""
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        member = tarfile.TarInfo(f"{data.CIFAR10_FOLDER}/../../escaped.txt")
        member.size = len(b"overwritten")
        tar.addfile(member, io.BytesIO(b"overwritten"))
    source = Download(f"{OFFLINE}/{archive.name}", "sha256", sha256(archive.read_bytes()))

    with pytest.raises(DataError, match=f"^{re.escape(str(archive))} tries to write outside its"):
        data.find_cifar10(tmp_path, source=source)

    assert os.listdir(data.REPO_DATA_DIR) == [], "escaped.txt would have landed here"
    assert archive.is_file()


real_data = pytest.mark.skipif(
    REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to check the real data sets"
)


@real_data
def test_real_cifar10_has_the_official_split() -> None:
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(REAL_DATA_DIR)

    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert np.bincount(y_train).tolist() == [5_000] * 10
    assert np.bincount(y_test).tolist() == [1_000] * 10


@real_data
def test_real_mnist_has_the_official_split() -> None:
    (x_train, y_train), (x_test, y_test) = data.load_mnist(REAL_DATA_DIR)

    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert len(y_train) == 60_000 and len(y_test) == 10_000
    assert sorted(set(y_test.tolist())) == list(range(10))
