"""Find, download and load CIFAR-10 and MNIST as numpy arrays.

Every notebook needs the same two data sets, and learners keep them in different places: a
folder of their own, this repository's ``data/``, or a cloud job's mounted volume. This
module looks in each place in a fixed order and, only when none has the files, downloads
the official archive, checks its published checksum and unpacks it, so that a broken or
interrupted download never leaves a half-written file behind.

The pickled CIFAR-10 batches are read directly rather than through Keras or tflearn, because
those loaders insist on the official archive's checksum and refuse a copy that was rebuilt
elsewhere (such as the offline mirror these machines use).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import pickle
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101 import paths
from dl101.paths import REPO_ROOT
from dl101.profiles import Profile

import numpy as np

DATA_DIR_VARIABLE = "DL101_DATA_DIR"
PARTIAL_SUFFIX = ".part"
STAGING_PREFIX = ".extract-"
REPO_DATA_DIR = REPO_ROOT / "data"

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
MNIST_FILE = "mnist.npz"


class DataError(RuntimeError):
    """A data set could not be found, downloaded or read; the message says how to fix it."""


@dataclass(frozen=True)
class Download:
    """Where an official archive lives and the checksum its publisher gives for it."""

    url: str
    algorithm: str
    checksum: str


# The Toronto page publishes the md5 of the archive; Keras' source carries the sha256 of
# mnist.npz.
CIFAR10_DOWNLOAD = Download(
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    algorithm="md5",
    checksum="c58f30108f718f92721af3b95e74349a",
)
MNIST_DOWNLOAD = Download(
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    algorithm="sha256",
    checksum="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)


def candidate_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for data, in order: argument, environment, repository, FloydHub."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    dirs = []
    if os.environ.get(DATA_DIR_VARIABLE):
        dirs.append(Path(os.environ[DATA_DIR_VARIABLE]).expanduser())
    dirs.append(REPO_DATA_DIR)
    dirs.extend(paths.floydhub_data_dirs())
    return dirs


CIFAR10_FILES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)


def _cifar10_folder_in(directory: Path) -> Path | None:
    """The folder holding the batch files, whether ``directory`` is it or contains it."""
    for folder in (directory / CIFAR10_FOLDER, directory):
        if all((folder / name).is_file() for name in CIFAR10_FILES):
            return folder
    return None


def _incomplete_cifar10_in(directory: Path) -> str | None:
    """What is missing from a CIFAR-10 folder in ``directory`` that has some batches but not all."""
    for folder in (directory / CIFAR10_FOLDER, directory):
        missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
        if 0 < len(missing) < len(CIFAR10_FILES):
            return f"{folder} is incomplete: {', '.join(missing)} is missing"
    return None


def _mnist_file_in(directory: Path) -> Path | None:
    path = directory / MNIST_FILE
    return path if path.is_file() else None


def _missing_data_message(
    name: str, searched: Sequence[Path], problems: Sequence[str], reason: str
) -> str:
    folders = "\n".join(f"  - {folder}" for folder in searched)
    found = "".join(f"  ({problem})\n" for problem in problems)
    return (
        f"{name} was not found in any of these folders:\n{folders}\n{found}"
        f"and downloading it failed: {reason}\n"
        "To fix this, either\n"
        f"  - connect to the internet and run again: it is downloaded into {REPO_DATA_DIR}, or\n"
        f"  - point {DATA_DIR_VARIABLE} at a folder that holds it "
        f"(for example: export {DATA_DIR_VARIABLE}=/path/to/data), or\n"
        f"  - download {name}'s official archive by hand and put it, unopened, into {REPO_DATA_DIR}"
        f" or the folder {DATA_DIR_VARIABLE} names: it is checked and used from there."
    )


def file_checksum(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(source: Download, destination: Path, progress: bool = True) -> Path:
    """Download ``source`` to ``destination`` and verify its checksum.

    The bytes go to a temporary file beside the destination that is renamed into place only
    once the checksum matches, so an interrupted or corrupt download leaves nothing behind.
    """
    from tqdm.auto import tqdm

    destination.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own, so two notebooks downloading at once never write into one file.
    file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by the with below)
        dir=destination.parent, prefix=f".{destination.name}.", suffix=PARTIAL_SUFFIX, delete=False
    )
    partial = Path(file.name)
    try:
        with file, urllib.request.urlopen(source.url, timeout=60) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=size, unit="B", unit_scale=True, desc=destination.name, disable=not progress
            ) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    file.write(block)
                    bar.update(len(block))
        received = partial.stat().st_size
        if size is not None and received != size:
            raise ConnectionError(f"the connection dropped after {received:,} of {size:,} bytes")
        actual = file_checksum(partial, source.algorithm)
        if actual != source.checksum:
            raise DataError(
                f"The download of {source.url} is corrupt: its {source.algorithm} checksum is "
                f"{actual}, but the publisher's is {source.checksum}. Nothing was kept; "
                f"try again later, or download {Path(source.url).name} by hand and put it, "
                f"unopened, into {destination.parent}: it is checked and used from there."
            )
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def extract_tar(archive: Path, member_folder: str, destination_dir: Path) -> Path:
    """Unpack ``member_folder`` from ``archive`` into ``destination_dir``, all or nothing.

    The ``data`` extraction filter refuses absolute paths, ``..`` and links that point out
    of the destination, so a hostile archive cannot write anywhere else.
    """
    target = destination_dir / member_folder
    staging = Path(tempfile.mkdtemp(dir=destination_dir, prefix=STAGING_PREFIX))
    try:
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(staging, filter="data")
            except tarfile.FilterError as error:
                raise DataError(
                    f"{archive} tries to write outside its folder ({error})."
                ) from error
        if not (staging / member_folder).is_dir():
            raise DataError(f"{archive} does not contain the folder {member_folder}/.")
        if target.exists():
            kept = target.with_name(f"{target.name}.incomplete-{time.strftime('%Y%m%d-%H%M%S')}")
            target.rename(kept)
            print(
                f"The incomplete {target} was kept aside as {kept.name}; delete it when you like."
            )
        os.replace(staging / member_folder, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _remove_leftovers(directory: Path) -> None:
    """Delete what an interrupted download or unpacking left in ``directory``.

    Called while holding the download lock, so no other process is writing these right now.
    """
    for leftover in directory.glob(f".*{PARTIAL_SUFFIX}"):
        leftover.unlink(missing_ok=True)
    for leftover in directory.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _download_lock(directory: Path) -> Iterator[None]:
    """Let one process at a time download into ``directory``; the others wait, then reuse it.

    The lock is taken on the folder itself, so it leaves no lock file behind.
    """
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _find_or_download(
    name: str,
    data_dir: str | os.PathLike[str] | None,
    download_dir: Path,
    locate: Callable[[Path], Path | None],
    fetch: Callable[[list[str]], Path],
    diagnose: Callable[[Path], str | None] = lambda directory: None,
) -> Path:
    """What ``locate`` finds in the first candidate folder that has it, else what ``fetch`` gets.

    ``fetch`` runs while holding a lock on ``download_dir``, after the leftovers of any earlier,
    interrupted attempt are removed; a process that waited for the lock first looks again, and
    uses what the other one downloaded. ``diagnose`` says what is wrong with a folder that
    holds part of the data, so the messages can name the missing file.
    """
    searched = candidate_dirs(data_dir)
    for directory in searched:
        if found := locate(directory):
            return found
    problems = [problem for directory in searched if (problem := diagnose(directory))]
    try:
        with _download_lock(download_dir):
            if found := locate(download_dir):
                return found
            _remove_leftovers(download_dir)
            return fetch(problems)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        # The message already names the cause; a chained traceback would only bury it.
        raise DataError(_missing_data_message(name, searched, problems, str(reason))) from None


def _verified_archive(source: Download, folders: Sequence[Path]) -> Path | None:
    """An archive of ``source`` already in one of ``folders`` whose checksum is the publisher's."""
    for folder in folders:
        archive = folder / Path(source.url).name
        if archive.is_file():
            if file_checksum(archive, source.algorithm) == source.checksum:
                return archive
            print(f"{archive} is not the official archive (its checksum differs): not used.")
    return None


def find_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    source: Download = CIFAR10_DOWNLOAD,
    download_dir: Path | None = None,
) -> Path:
    """The folder with the CIFAR-10 batch files, downloading them if no candidate has them.

    An official archive already in a searched folder (downloaded by hand, or kept from an
    earlier attempt) is checked and unpacked instead of downloading it again. The archive is
    deleted only once its contents are unpacked.
    """
    target_dir = download_dir or REPO_DATA_DIR

    def fetch(problems: list[str]) -> Path:
        for problem in problems:
            print(f"{problem}.")
        archive = _verified_archive(source, [*candidate_dirs(data_dir), target_dir])
        if archive is None:
            print(f"CIFAR-10 not found locally: downloading it into {target_dir} (163 MB).")
            archive = download(source, target_dir / Path(source.url).name)
        else:
            print(f"Unpacking the official archive found at {archive}.")
        folder = extract_tar(archive, CIFAR10_FOLDER, target_dir)
        if archive.parent == target_dir:
            archive.unlink(missing_ok=True)
        return folder

    return _find_or_download(
        "CIFAR-10", data_dir, target_dir, _cifar10_folder_in, fetch, _incomplete_cifar10_in
    )


def find_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    source: Download = MNIST_DOWNLOAD,
    download_dir: Path | None = None,
) -> Path:
    """The path of ``mnist.npz``, downloading it if no candidate folder has it."""
    target_dir = download_dir or REPO_DATA_DIR

    def fetch(problems: list[str]) -> Path:
        print(f"MNIST not found locally: downloading it into {target_dir} (11 MB).")
        return download(source, target_dir / MNIST_FILE)

    return _find_or_download("MNIST", data_dir, target_dir, _mnist_file_in, fetch)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR-10 batch holds: plain Python values and numpy arrays.

    A pickle can name any function to call while loading; a crafted "batch" could run code.
    Anything outside this list is refused before it is looked up.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # Python 3 writes bytes into a protocol-2 pickle as _codecs.encode(text, "latin1").
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"it asks to load {module}.{name}, which a CIFAR-10 batch never holds"
            )
        return super().find_class(module, name)


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images as (N, 32, 32, 3) uint8 and labels as int64 from one pickled batch."""
    try:
        with open(path, "rb") as file:
            batch = _BatchUnpickler(file, encoding="latin1").load()
        pixels = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
        # Each row holds 1024 red, then 1024 green, then 1024 blue values, row by row.
        images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except (
        pickle.UnpicklingError,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
    ) as error:
        raise DataError(
            f"{path} is truncated or corrupt ({type(error).__name__}: {error}). "
            "Delete the cifar-10-batches-py folder it is in and run again to download "
            "a fresh copy, or point DL101_DATA_DIR at a good one."
        ) from error
    if len(images) != len(labels):
        raise DataError(f"{path} is corrupt: {len(images)} images but {len(labels)} labels.")
    out_of_range = labels[(labels < 0) | (labels >= len(CIFAR10_CLASSES))]
    if len(out_of_range):
        raise DataError(
            f"{path} is corrupt: it has the label {out_of_range[0]}, but CIFAR-10's labels run "
            f"from 0 to {len(CIFAR10_CLASSES) - 1}. Replace the file with a good copy."
        )
    return images, labels


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 as ``(X_train, y_train), (X_test, y_test)``, in the official split.

    Images are float32 of shape (N, 32, 32, 3) scaled to [0, 1]; labels are integers 0-9
    (names in ``CIFAR10_CLASSES``). Use ``tflearn.data_utils.to_categorical`` for one-hot.
    """
    folder = find_cifar10(data_dir)
    train = [_read_cifar10_batch(folder / name) for name in CIFAR10_TRAIN_BATCHES]
    test_images, test_labels = _read_cifar10_batch(folder / CIFAR10_TEST_BATCH)
    train_images = np.concatenate([images for images, _ in train])
    train_labels = np.concatenate([labels for _, labels in train])
    return (
        (train_images.astype(np.float32) / 255.0, train_labels),
        (test_images.astype(np.float32) / 255.0, test_labels),
    )


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28), labels 0-9.

    The same arrays as ``keras.datasets.mnist.load_data()``, read from wherever the data is.
    """
    path = find_mnist(data_dir)
    try:
        with np.load(path) as npz:
            arrays = tuple(npz[key] for key in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"{path} is truncated or corrupt ({type(error).__name__}: {error}). "
            "Delete it and run again to download a fresh copy."
        ) from error
    x_train, y_train, x_test, y_test = arrays
    return (x_train, y_train), (x_test, y_test)


def cifar10_experiment_data(
    profile: Profile, data_dir: str | os.PathLike[str] | None = None, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 as the experiment notebooks use it: ``(X, Y), (X_test, Y_test)``.

    The training set is shuffled (the same way for every notebook, so their runs compare) and
    cut to the profile's ``train_size``; the test set, cut to its ``validation_size``, serves as
    the validation set, as in the article. Labels are one-hot rows of 10.
    """
    (images, labels), (test_images, test_labels) = load_cifar10(data_dir)
    order = np.random.default_rng(seed).permutation(len(images))[: profile.train_size]
    one_hot = np.eye(len(CIFAR10_CLASSES), dtype=np.float32)
    validation = slice(profile.validation_size)
    return (
        (images[order], one_hot[labels[order]]),
        (test_images[validation], one_hot[test_labels[validation]]),
    )
