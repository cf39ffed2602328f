"""Find, download and load CIFAR-10 and MNIST as numpy arrays; every failure is a ``DataError``.

A data set is looked for in ``candidate_dirs`` and, only when none has it, downloaded, checked
against its publisher's checksum and unpacked. The CIFAR-10 batches are read here, not by Keras or
tflearn, whose loaders refuse a copy rebuilt elsewhere (such as these machines' offline mirror).
Nor is Keras' ``get_file`` used: it leaves a download that fails its checksum under the real name,
saves into /tmp when the folder is read-only, and skips an archive's unsafe members with a warning.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import http.client
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from dl101 import paths
from dl101.disk_space import free_space
from dl101.paths import REPO_ROOT
from dl101.profiles import Profile

import numpy as np

if sys.platform != "win32":
    import fcntl

DATA_DIR_VARIABLE = "DL101_DATA_DIR"
REPO_DATA_DIR = REPO_ROOT / "data"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_FILES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
MNIST_FILE = "mnist.npz"
_Folder = str | os.PathLike[str] | None
_Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DataError(RuntimeError):
    """A data set could not be found, downloaded or read; the message says how to fix it."""


class Download(NamedTuple):
    """Where an official file lives and the checksum its publisher gives for it."""

    url: str
    algorithm: str
    checksum: str


# The Toronto page publishes the archive's md5; Keras' source carries mnist.npz's sha256.
CIFAR10_DOWNLOAD = Download(
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "md5", "c58f30108f718f92721af3b95e74349a",
)  # fmt: skip
MNIST_DOWNLOAD = Download(
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "sha256", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)  # fmt: skip

# Why a folder cannot take a file, and the fix, by errno: only these failures are the folder's.
# Any other failure of a download is the network's, the one case where "connect" helps.
_FOLDER_PROBLEMS = {
    errno.ENOSPC: ("its disk is full", "Free some space there"),
    errno.EDQUOT: ("your disk quota is used up", "Free some space there"),
    errno.EACCES: ("you may not write there", "Make it writable"),
    errno.EPERM: ("you may not write there", "Make it writable"),
    errno.EROFS: ("its disk is read-only", "Make it writable"),
    errno.EEXIST: ("a file stands where the folder should be", "Move that file away"),
    errno.ENOTDIR: ("a file stands where the folder should be", "Move that file away"),
}


def candidate_dirs(data_dir: _Folder = None) -> list[Path]:
    """The folders searched for data, in order: argument, environment, repository, FloydHub."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    return [*_data_dir_variable(), REPO_DATA_DIR, *paths.floydhub_data_dirs()]


def _data_dir_variable() -> list[Path]:
    """DL101_DATA_DIR's folder; refused if missing: a typo must not become a download to data/."""
    if not (value := os.environ.get(DATA_DIR_VARIABLE)):
        return []
    try:
        (folder := Path(value).expanduser()).stat()
    except (FileNotFoundError, NotADirectoryError):  # "a_file/data" is not a folder either
        raise DataError(
            f"{DATA_DIR_VARIABLE} is set to {folder}, which does not exist: correct it "
            f"(export {DATA_DIR_VARIABLE}=/path/to/data), create that folder, or unset "
            f"{DATA_DIR_VARIABLE} to use {REPO_DATA_DIR}."
        ) from None
    return [folder]


def _complete(directory: Path, files: tuple[str, ...], subfolder: str) -> Path | str | None:
    """``directory/subfolder`` or ``directory`` if it has all ``files``; else what one lacks."""
    incomplete = None
    for folder in dict.fromkeys((directory / subfolder, directory)):
        missing = [name for name in files if not (folder / name).is_file()]
        if not missing:
            return folder
        if len(missing) < len(files):
            incomplete = incomplete or f"{folder} is incomplete: {', '.join(missing)} is missing"
    return incomplete


def _find_or_download(
    name: str,
    data_dir: _Folder,
    files: tuple[str, ...],
    fetch: Callable[[Path], Path],
    subfolder: str = "",
) -> Path:
    """The folder holding ``files`` among the candidates, else the one ``fetch`` fills in data/
    or, when that cannot take them, in the one DL101_DATA_DIR names."""
    searched, problems = candidate_dirs(data_dir), []
    for folder in searched:
        try:
            found = _complete(folder, files, subfolder)
        except OSError as error:  # a folder the learner may not read, such as a locked /data
            found = f"{folder} cannot be read ({error.strerror or error})"
        if isinstance(found, Path):
            return found
        if found:
            problems.append(found)
    for problem in problems:  # why a download starts although a folder was given
        print(f"{problem}.")
    for folder in (targets := list(dict.fromkeys([REPO_DATA_DIR, *_data_dir_variable()]))):
        try:
            with _download_lock(folder):  # a second process waits, then uses what the first got
                if isinstance(found := _complete(folder, files, subfolder), Path):
                    return found
                # What a killed download or unpacking left: each works in a folder of its own.
                for leftover in [*folder.glob(".*.part"), *folder.glob(".extract-*")]:
                    shutil.rmtree(leftover, ignore_errors=True)
                return fetch(folder)
        except (OSError, http.client.HTTPException) as error:
            if (code := getattr(error, "errno", None)) not in _FOLDER_PROBLEMS:
                listed = "".join(f"\n  - {folder}" for folder in searched)
                listed += "".join(f"\n  ({problem})" for problem in problems)
                # URLError keeps the cause (HTTP 404's "File not found") in reason; a chained
                # traceback would only bury it.
                raise DataError(
                    f"{name} was not found in any of these folders:{listed}\n"
                    f"and downloading it failed: {getattr(error, 'reason', None) or error}\n"
                    "To fix this, either\n  - connect to the internet and run again: it is "
                    f"downloaded into {REPO_DATA_DIR}, or\n  - point {DATA_DIR_VARIABLE} at a "
                    f"folder that holds it (for example: export {DATA_DIR_VARIABLE}=/path/to/"
                    f"data), or\n  - download {name}'s official file by hand and put it, "
                    f"unopened, into {REPO_DATA_DIR} or the folder {DATA_DIR_VARIABLE} names: "
                    "it is used from there."
                ) from None
            cause, fix = _FOLDER_PROBLEMS[code]
            if code in (errno.ENOSPC, errno.EDQUOT):
                cause += f" ({free_space(folder)}; CIFAR-10 needs 350 MB, MNIST 11 MB)"
            failure = f"{name} could not be saved in {folder}: {cause}; {error}."
            if folder != targets[-1]:
                print(f"{failure} Trying {targets[-1]} instead.")
    raise DataError(
        f"{failure} Nothing half-written was kept. {fix}, or set {DATA_DIR_VARIABLE} to a folder "
        "you can write to, on a disk with room (for example: mkdir -p ~/dl101-data; export "
        f"{DATA_DIR_VARIABLE}=~/dl101-data), and run again: a download that {REPO_DATA_DIR} "
        "cannot take goes there."
    )


@contextlib.contextmanager
def _download_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":  # no flock: two notebooks started at once may both download
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)  # a lock on the folder leaves no lock file
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _checksum(path: Path, algorithm: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def download(source: Download, destination: Path) -> Path:
    """Download ``source`` to ``destination`` once it is complete and its checksum verified.

    The bytes go into a folder of this call's own, always removed: a killed download leaves no
    half-written file under the real name, and two notebooks never write into one file.
    """
    from tqdm.auto import tqdm

    with tempfile.TemporaryDirectory(
        ".part", f".{destination.name}.", destination.parent, ignore_cleanup_errors=True
    ) as staging:
        part = Path(staging) / destination.name
        with urllib.request.urlopen(source.url, timeout=60) as response, open(part, "wb") as file:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm.wrapattr(file, "write", total=size, desc=destination.name) as counted:
                shutil.copyfileobj(response, counted)
        if size is not None and (received := part.stat().st_size) != size:
            # http.client ends a body cut short by the server without an error.
            raise ConnectionError(f"the connection dropped after {received:,} of {size:,} bytes")
        if (checksum := _checksum(part, source.algorithm)) != source.checksum:
            raise DataError(
                f"The download of {source.url} is corrupt: its {source.algorithm} checksum is "
                f"{checksum}, but the publisher's is {source.checksum}. Nothing was kept; try "
                f"again later, or download {Path(source.url).name} by hand and put it, unopened, "
                f"into {destination.parent}: it is checked and used from there."
            )
        os.replace(part, destination)
    return destination


def _unpack_cifar10(archive: Path, folder: Path, ours: bool) -> Path:
    """Unpack ``archive`` into ``folder``, all or nothing, then delete it if it is ``ours``.

    The ``data`` filter refuses absolute paths, ``..`` and links out of the staging folder. After
    the disk's OSError the archive is kept, for the next run to unpack.
    """
    target = folder / CIFAR10_FOLDER
    with tempfile.TemporaryDirectory(
        prefix=".extract-", dir=folder, ignore_cleanup_errors=True
    ) as staging:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        # gzip.BadGzipFile is an OSError, but of the archive, not of the disk.
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            if isinstance(error, tarfile.FilterError):
                problem = "tries to write outside its folder"
            else:
                problem = "cannot be unpacked: it is truncated or damaged"
            if ours:
                archive.unlink()
                advice = (
                    "It was removed: run again to download it again, or put a copy you "
                    f"downloaded by hand, unopened, into {folder}."
                )
            else:
                advice = (
                    "It was kept, as it is yours: replace it with a good copy of the official "
                    "archive, and run again."
                )
            cause = f"{type(error).__name__}: {error}"
            raise DataError(f"{archive} {problem} ({cause}). {advice}") from error
        if target.exists():
            kept = target.with_name(f"{target.name}.incomplete-{time.strftime('%Y%m%d-%H%M%S')}")
            target.rename(kept)
            print(
                f"The incomplete {target} was kept aside as {kept.name}; delete it when you like."
            )
        os.replace(Path(staging) / CIFAR10_FOLDER, target)
    if ours:
        archive.unlink()
    return target


def _is_official(path: Path, source: Download) -> bool:
    """Whether ``path`` is ``source``'s file; one that cannot be read is passed over, and named."""
    try:
        if not path.is_file():
            return False
        if _checksum(path, source.algorithm) == source.checksum:
            return True
        print(f"{path} is not the official archive (its checksum differs): not used.")
    except OSError as error:
        print(f"{path} cannot be read ({error.strerror or error}): not used.")
    return False


def find_cifar10(data_dir: _Folder = None, source: Download = CIFAR10_DOWNLOAD) -> Path:
    """The folder with the CIFAR-10 batch files, downloading them if no candidate has them.

    An official archive in a candidate folder (put there by hand, or kept by a run that could not
    unpack it) is unpacked instead, and deleted after only from data/: elsewhere, it is yours.
    """
    file_name = Path(source.url).name

    def fetch(folder: Path) -> Path:
        for archive in dict.fromkeys(
            path / file_name for path in [*candidate_dirs(data_dir), folder]
        ):
            if _is_official(archive, source):
                print(f"Unpacking the official archive found at {archive}.")
                return _unpack_cifar10(archive, folder, ours=archive.parent == REPO_DATA_DIR)
        print(f"CIFAR-10 not found locally: downloading it into {folder} (163 MB).")
        return _unpack_cifar10(download(source, folder / file_name), folder, ours=True)

    return _find_or_download("CIFAR-10", data_dir, CIFAR10_FILES, fetch, CIFAR10_FOLDER)


def find_mnist(data_dir: _Folder = None, source: Download = MNIST_DOWNLOAD) -> Path:
    """The path of ``mnist.npz``, downloading it if no candidate folder has it."""

    def fetch(folder: Path) -> Path:
        print(f"MNIST not found locally: downloading it into {folder} (11 MB).")
        return download(source, folder / MNIST_FILE).parent

    return _find_or_download("MNIST", data_dir, (MNIST_FILE,), fetch) / MNIST_FILE


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR-10 batch holds: a crafted one could name any function to call."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # Python 3 writes bytes into a protocol-2 pickle as _codecs.encode(text, "latin1").
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:  # refused before it is even looked up
            raise pickle.UnpicklingError(
                f"it asks to load {module}.{name}, which a CIFAR-10 batch never holds"
            )
        return super().find_class(module, name)


def _corrupt(path: Path, problem: str) -> DataError:
    # One fix whatever the damage: a deleted batch leaves its folder incomplete, so the next
    # run downloads a fresh copy and keeps that folder aside.
    return DataError(
        f"{path} is {problem}. Delete it and run again to download a fresh copy, "
        f"or point {DATA_DIR_VARIABLE} at a good one."
    )


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn what reading ``path`` raises into a DataError that names the file and the fix."""
    try:
        yield
    except OSError as error:
        raise DataError(
            f"{path} cannot be read ({error.strerror or error}): make it readable, or point "
            f"{DATA_DIR_VARIABLE} at a copy you can read."
        ) from error
    except Exception as error:  # unpickling and numpy raise many kinds on damaged data
        raise _corrupt(path, f"truncated or corrupt ({type(error).__name__}: {error})") from error


def _check_examples(path: Path, images: np.ndarray, labels: np.ndarray, holder: str) -> None:
    """Refuse labels that do not go with the images: a label of -1 would train as class 9, and
    a missing one fail deep inside tflearn or Keras, naming no file."""
    count, wrong = len(images), labels[(labels < 0) | (labels > 9)]
    if not count:
        raise _corrupt(path, f"corrupt: {holder} has no images")
    if count != len(labels):
        raise _corrupt(path, f"corrupt: {holder} has {count:,} images but {len(labels):,} labels")
    if len(wrong):
        raise _corrupt(
            path, f"corrupt: {holder} has the label {wrong[0]}, but labels run from 0 to 9"
        )


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images as (N, 32, 32, 3) float32 in [0, 1] and labels as int64 from one pickled batch."""
    with _reading(path), open(path, "rb") as file:
        batch = _BatchUnpickler(file, encoding="latin1").load()
        pixels = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
        # Each row holds 1024 red, then 1024 green, then 1024 blue values, row by row.
        images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    _check_examples(path, images, labels, "it")
    return images.astype(np.float32) / 255.0, labels


def load_cifar10(data_dir: _Folder = None) -> _Splits:
    """CIFAR-10 as ``(X_train, y_train), (X_test, y_test)``, in the official split.

    Images are float32 of shape (N, 32, 32, 3) scaled to [0, 1]; labels are integers 0-9
    (names in ``CIFAR10_CLASSES``). Use ``tflearn.data_utils.to_categorical`` for one-hot.
    """
    folder = find_cifar10(data_dir)
    images, labels = zip(
        *(_read_cifar10_batch(folder / name) for name in CIFAR10_FILES), strict=True
    )
    return (np.concatenate(images[:-1]), np.concatenate(labels[:-1])), (images[-1], labels[-1])


def load_mnist(data_dir: _Folder = None) -> _Splits:
    """MNIST as ``keras.datasets.mnist.load_data()`` gives it, from wherever the data is:
    ``(x_train, y_train), (x_test, y_test)``, uint8 images (N, 28, 28) and labels 0-9."""
    path = find_mnist(data_dir)
    with _reading(path), np.load(path) as npz:
        arrays = {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if (
            images.dtype != np.uint8
            or images.shape[1:] != (28, 28)
            or labels.dtype.kind not in "iu"
            or labels.ndim != 1
        ):
            raise _corrupt(
                path,
                f"corrupt: its {split} set holds {images.dtype} images of shape {images.shape} "
                f"and {labels.dtype} labels of shape {labels.shape}, but MNIST's are uint8 "
                "images of shape (N, 28, 28) and integer labels of shape (N,)",
            )
        _check_examples(path, images, labels, f"its {split} set")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def cifar10_experiment_data(profile: Profile, data_dir: _Folder = None, seed: int = 0) -> _Splits:
    """CIFAR-10 as the experiment notebooks use it: ``(X, Y), (X_test, Y_test)``, labels one-hot.

    The training set is shuffled the same way for every notebook, so their runs compare; the test
    set serves as the validation set, as in the article. Both are cut to the profile's sizes.
    """
    (images, labels), (test_images, test_labels) = load_cifar10(data_dir)
    order = np.random.default_rng(seed).permutation(len(images))[: profile.train_size]
    one_hot = np.eye(len(CIFAR10_CLASSES), dtype=np.float32)
    validation = slice(profile.validation_size)
    return (
        (images[order], one_hot[labels[order]]),
        (test_images[validation], one_hot[test_labels[validation]]),
    )
