"""The data loaders: where they look, what they return, and how a download goes."""

from __future__ import annotations

import errno
import multiprocessing
import os
import re
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


def serve(web_root: tuple[Path, str], name: str, content: bytes) -> Download:
    """``content`` served on 127.0.0.1 as ``name``, and its download with the right checksum."""
    (web_root[0] / name).write_bytes(content)
    return Download(f"{web_root[1]}/{name}", "sha256", sha256(content))


def mnist_bytes(tmp_path: Path) -> bytes:
    write_mnist(tmp_path / "made" / data.MNIST_FILE)
    return (tmp_path / "made" / data.MNIST_FILE).read_bytes()


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


def test_mnist_arrays_are_those_of_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path / data.MNIST_FILE)

    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path)

    with np.load(tmp_path / data.MNIST_FILE) as expected:
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        for key, array in arrays.items():
            np.testing.assert_array_equal(array, expected[key])
            assert array.dtype == expected[key].dtype


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
    """Such as a shared server's locked /data mount. Tests run as root, whom permission bits do
    not stop, so stat() inside the folder fails as it would for a learner without rights there."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_stat = Path.stat

    def stat(path: Path, **options: bool) -> os.stat_result:
        if locked in path.parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, **options)

    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setenv("DL101_DATA_DIR", str(locked))
    write_mnist(data.REPO_DATA_DIR / data.MNIST_FILE)

    assert data.find_mnist() == data.REPO_DATA_DIR / data.MNIST_FILE
    (data.REPO_DATA_DIR / data.MNIST_FILE).unlink()
    monkeypatch.delenv("DL101_DATA_DIR")
    offline = Download(f"{OFFLINE}/{data.MNIST_FILE}", "sha256", "0" * 64)
    with pytest.raises(DataError, match=re.escape(f"\n  ({locked} cannot be read (Permission d")):
        data.find_mnist(locked, source=offline)


@pytest.mark.parametrize("mistake", ["dl101-dta", "notes.txt/data"])
def test_a_data_dir_variable_naming_no_folder_is_an_error_not_a_download(
    tmp_path: Path, web_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, mistake: str
) -> None:
    source = serve(web_root, data.MNIST_FILE, mnist_bytes(tmp_path))
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    monkeypatch.setenv("DL101_DATA_DIR", str(tmp_path / mistake))

    with pytest.raises(DataError) as raised:
        data.find_mnist(source=source)

    assert str(raised.value) == (
        f"DL101_DATA_DIR is set to {tmp_path / mistake}, which does not exist: correct it (export "
        "DL101_DATA_DIR=/path/to/data), create that folder, or unset DL101_DATA_DIR to use "
        f"{data.REPO_DATA_DIR}."
    )
    assert os.listdir(data.REPO_DATA_DIR) == [], "nothing was downloaded instead"


def test_cifar10_download_replaces_an_incomplete_copy_and_clears_leftovers(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    """Offline, the incomplete copy is named; online, a download replaces it and keeps it aside."""
    source = serve(web_root, "cifar-10-python.tar.gz", cifar10_archive(tmp_path))
    incomplete = data.REPO_DATA_DIR / data.CIFAR10_FOLDER
    write_cifar10(incomplete)
    (incomplete / "data_batch_3").unlink()
    (data.REPO_DATA_DIR / ".abc123.part" / "half").mkdir(parents=True)  # a killed download's

    with pytest.raises(DataError, match=r"\(\S+ is incomplete: data_batch_3 is missing\)"):
        data.find_cifar10(source=source._replace(url=f"{OFFLINE}/cifar-10-python.tar.gz"))
    folder = data.find_cifar10(source=source)

    assert folder == incomplete
    names = sorted(os.listdir(data.REPO_DATA_DIR))
    assert len(names) == 2 and names[0] == data.CIFAR10_FOLDER
    assert names[1].startswith(f"{data.CIFAR10_FOLDER}.incomplete-")
    (x_train, _), (x_test, _) = data.load_cifar10()
    assert len(x_train) == 5 * IMAGES_PER_BATCH and len(x_test) == IMAGES_PER_BATCH


def _find_mnist(source: Download) -> str:
    return str(data.find_mnist(source=source))


def test_two_first_downloads_at_once_get_one_copy_in_the_data_dir_variables_folder(
    tmp_path: Path, web_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readable by everyone who may read the folder, as a file the learner saved would be."""
    content = mnist_bytes(tmp_path)
    source = serve(web_root, data.MNIST_FILE, content)
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))
    old_umask = os.umask(0o022)
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            found = pool.map(_find_mnist, [source] * 2)
    finally:
        os.umask(old_umask)

    assert found == [str(mine / data.MNIST_FILE)] * 2
    assert os.listdir(mine) == [data.MNIST_FILE] and os.listdir(data.REPO_DATA_DIR) == []
    assert (mine / data.MNIST_FILE).read_bytes() == content
    assert oct((mine / data.MNIST_FILE).stat().st_mode & 0o777) == "0o644"


def test_a_download_that_fails_its_checksum_keeps_nothing(
    tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    """A connection dropped midway ends here too: http.client ends a cut-short body silently."""
    source = serve(web_root, "cifar-10-python.tar.gz", cifar10_archive(tmp_path))

    with pytest.raises(DataError) as raised:
        data.find_cifar10(source=Download(source.url, "md5", "0" * 32))

    assert re.fullmatch(
        rf"The download of {re.escape(source.url)} is corrupt: its md5 checksum is [0-9a-f]{{32}}, "
        rf"but the publisher's is 0{{32}}\. Nothing was kept; run again later\.",
        str(raised.value),
    )
    assert os.listdir(data.REPO_DATA_DIR) == []


@pytest.mark.parametrize(
    ("failure", "reason"),
    [("refused", r"(\[Errno \d+\] )?Connection refused"), ("not found", "File not found")],
)
def test_a_failed_download_names_the_cause_and_every_way_out(
    tmp_path: Path,
    web_root: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    reason: str,
) -> None:
    url = OFFLINE if failure == "refused" else web_root[1]
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("DL101_DATA_DIR", str(mine))

    with pytest.raises(DataError) as raised:
        data.find_mnist(source=Download(f"{url}/{data.MNIST_FILE}", "sha256", "0" * 64))

    message = str(raised.value)
    assert message.startswith("MNIST was not found in any of these folders:\n")
    for folder in data.candidate_dirs():
        assert f"\n  - {folder}\n" in message
    assert re.search(rf"\nand downloading it failed: {reason}\n", message)
    assert f"connect to the internet and run again: it is downloaded into {mine}" in message
    assert "point DL101_DATA_DIR at a folder that holds the unpacked data" in message
    assert os.listdir(data.REPO_DATA_DIR) == os.listdir(mine) == [], "nothing half-written"


@pytest.mark.skipif(REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to check the real data")
def test_the_real_data_sets_have_the_official_splits() -> None:
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(REAL_DATA_DIR)
    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert np.bincount(y_train).tolist() == [5_000] * 10
    assert np.bincount(y_test).tolist() == [1_000] * 10

    (x_train, y_train), (x_test, y_test) = data.load_mnist(REAL_DATA_DIR)
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert len(y_train) == 60_000 and len(y_test) == 10_000
    assert sorted(set(y_test.tolist())) == list(range(10))
