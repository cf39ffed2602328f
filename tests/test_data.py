"""The data loaders: where they look, what they return, and how they fail."""

from __future__ import annotations

import http.server
import io
import os
import tarfile
import threading
from pathlib import Path

from dl101 import data, paths
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


def test_cifar10_arrays_have_the_notebooks_layout(tmp_path: Path) -> None:
    batches = write_cifar10(tmp_path / data.CIFAR10_FOLDER)

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


def test_cifar10_batch_files_may_sit_directly_in_the_folder(tmp_path: Path) -> None:
    write_cifar10(tmp_path)

    (x_train, _), _ = data.load_cifar10(tmp_path)

    assert len(x_train) == 5 * IMAGES_PER_BATCH


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


def test_floydhub_data_mounts_are_searched(isolated: Path) -> None:
    assert paths.floydhub_data_dirs() == [isolated / "data", isolated / "floyd" / "input" / "data"]
    write_mnist(isolated / "data" / data.MNIST_FILE)

    assert data.find_mnist() == isolated / "data" / data.MNIST_FILE


def test_truncated_cifar10_batch_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / data.CIFAR10_FOLDER
    write_cifar10(folder)
    broken = folder / "data_batch_3"
    broken.write_bytes(broken.read_bytes()[:1000])

    with pytest.raises(DataError, match=r"data_batch_3 is truncated or corrupt"):
        data.load_cifar10(tmp_path)


def test_mnist_arrays_are_those_of_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path / data.MNIST_FILE)

    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path)

    with np.load(tmp_path / data.MNIST_FILE) as expected:
        np.testing.assert_array_equal(x_train, expected["x_train"])
        np.testing.assert_array_equal(y_test, expected["y_test"])
    assert x_train.shape == (60, 28, 28) and x_test.shape == (10, 28, 28)
    assert y_train.shape == (60,)


def test_corrupt_mnist_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / data.MNIST_FILE).write_bytes(b"not a zip file")

    with pytest.raises(DataError, match=r"mnist.npz is truncated or corrupt.*Delete it"):
        data.load_mnist(tmp_path)


def test_cifar10_download_is_verified_and_unpacked(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    served, url = web_root
    archive = cifar10_archive(tmp_path)
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    source = Download(f"{url}/cifar-10-python.tar.gz", "sha256", sha256(archive))
    download_dir = tmp_path / "downloads"

    folder = data.find_cifar10(tmp_path / "empty", source=source, download_dir=download_dir)

    assert folder == download_dir / data.CIFAR10_FOLDER
    assert sorted(p.name for p in download_dir.iterdir()) == [data.CIFAR10_FOLDER]
    (x_train, _), (x_test, _) = data.load_cifar10(download_dir)
    assert len(x_train) == 5 * IMAGES_PER_BATCH and len(x_test) == IMAGES_PER_BATCH


def test_mnist_download_lands_in_the_download_folder(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    served, url = web_root
    write_mnist(served / data.MNIST_FILE)
    content = (served / data.MNIST_FILE).read_bytes()
    source = Download(f"{url}/{data.MNIST_FILE}", "sha256", sha256(content))

    path = data.find_mnist(tmp_path / "empty", source=source, download_dir=tmp_path / "downloads")

    assert path.read_bytes() == content
    assert os.listdir(tmp_path / "downloads") == [data.MNIST_FILE]


def test_checksum_mismatch_keeps_nothing(tmp_path: Path, web_root: tuple[Path, str]) -> None:
    served, url = web_root
    (served / "cifar-10-python.tar.gz").write_bytes(cifar10_archive(tmp_path))
    source = Download(f"{url}/cifar-10-python.tar.gz", "md5", "0" * 32)
    download_dir = tmp_path / "downloads"

    with pytest.raises(
        DataError, match=r"is corrupt: its md5 checksum is [0-9a-f]{32}.*Nothing was kept"
    ):
        data.find_cifar10(tmp_path / "empty", source=source, download_dir=download_dir)

    assert os.listdir(download_dir) == []


class TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises a megabyte and hangs up after a few bytes, like a dropped connection."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        self.wfile.write(b"only the beginning")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_interrupted_download_leaves_nothing_behind(tmp_path: Path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), TruncatingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = Download(f"http://127.0.0.1:{server.server_address[1]}/mnist.npz", "sha256", "0" * 64)
    download_dir = tmp_path / "downloads"
    try:
        with pytest.raises(
            DataError, match="downloading it failed: the connection dropped after 18 of"
        ):
            data.find_mnist(tmp_path / "empty", source=source, download_dir=download_dir)
    finally:
        server.shutdown()
        server.server_close()

    assert os.listdir(download_dir) == []


def test_archive_that_escapes_its_folder_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"overwritten"
        member = tarfile.TarInfo(f"{data.CIFAR10_FOLDER}/../../escaped.txt")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    destination = tmp_path / "inside" / "downloads"
    destination.mkdir(parents=True)

    with pytest.raises(DataError, match="tries to write outside its folder"):
        data.extract_tar(archive, data.CIFAR10_FOLDER, destination)

    assert not (tmp_path / "inside" / "escaped.txt").exists()
    assert os.listdir(destination) == []


def test_offline_without_data_explains_every_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DL101_DATA_DIR", str(tmp_path / "my_data"))
    # Nothing listens on port 9 of the loopback address: the connection is refused at once.
    source = Download("http://127.0.0.1:9/cifar-10-python.tar.gz", "md5", "0" * 32)

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=source, download_dir=tmp_path / "downloads")

    message = str(raised.value)
    assert "CIFAR-10 was not found in any of these folders" in message
    for folder in data.candidate_dirs():
        assert str(folder) in message
    assert "downloading it failed" in message
    assert "export DL101_DATA_DIR=" in message
    assert not any((tmp_path / "downloads").iterdir())


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
