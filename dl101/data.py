"""Find, download and load CIFAR-10 and MNIST as numpy arrays; every failure is a ``DataError``.
Not Keras' loaders or ``get_file``: they refuse rebuilt copies, keep corrupt downloads, use /tmp."""

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from dl101 import paths
from dl101.disk_space import free_space
from dl101.profiles import Profile

import numpy as np

DATA_DIR_VARIABLE = "DL101_DATA_DIR"
REPO_DATA_DIR = paths.REPO_ROOT / "data"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_FILES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
MNIST_FILE = "mnist.npz"
_Folder = str | os.PathLike[str] | None
_Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DataError(RuntimeError):
    """A data set could not be found, downloaded or read; the message says how to fix it."""


class Download(NamedTuple):
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

# The failures of a download that are the folder's (full, not writable); any other is the network's.
_FOLDER_ERRORS = {
    errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EEXIST, errno.ENOTDIR,
}  # fmt: skip


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
    name: str, data_dir: _Folder, files: tuple[str, ...], source: Download, subfolder: str = ""
) -> Path:
    """The folder holding ``files``: a candidate, else the download's (DL101_DATA_DIR's, or data/)."""
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
    target = [*_data_dir_variable(), REPO_DATA_DIR][0]
    try:
        with _download_lock(target):  # a second process waits, then uses what the first got
            if isinstance(found := _complete(target, files, subfolder), Path):
                return found
            for leftover in target.glob(".*.part"):  # what a killed download left
                shutil.rmtree(leftover, ignore_errors=True)
            print(f"{name} not found locally: downloading it into {target}.")
            _download(source, target / (subfolder or files[0]))
            return target / subfolder
    except (OSError, http.client.HTTPException) as error:
        if getattr(error, "errno", None) not in _FOLDER_ERRORS:
            listed = "".join(f"\n  - {folder}" for folder in searched)
            listed += "".join(f"\n  ({problem})" for problem in problems)
            # URLError keeps the cause (HTTP 404's "File not found") in reason.
            raise DataError(
                f"{name} was not found in any of these folders:{listed}\n"
                f"and downloading it failed: {getattr(error, 'reason', None) or error}\n"
                "To fix this, either\n  - connect to the internet and run again: it is "
                f"downloaded into {target}, or\n  - point {DATA_DIR_VARIABLE} at a folder that "
                f"holds the unpacked data (export {DATA_DIR_VARIABLE}=/path/to/data)."
            ) from None
        raise DataError(
            f"{name} could not be saved in {target}: {error} ({free_space(target)}; CIFAR-10 "
            "needs 350 MB, MNIST 11 MB). Nothing half-written was kept. Make room there or make "
            f"it writable, or set {DATA_DIR_VARIABLE} to a folder you can write to, on a disk "
            f"with room (mkdir -p ~/dl101-data; export {DATA_DIR_VARIABLE}=~/dl101-data)."
        ) from None


@contextlib.contextmanager
def _download_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":  # no flock: two notebooks started at once may both download
        yield
        return
    import fcntl

    descriptor = os.open(folder, os.O_RDONLY)  # a lock on the folder leaves no lock file
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _download(source: Download, destination: Path) -> None:
    """Download, check and unpack ``source`` in a staging folder: a failure leaves no real name."""
    from tqdm.auto import tqdm

    with tempfile.TemporaryDirectory(
        ".part", ".", destination.parent, ignore_cleanup_errors=True
    ) as staging:
        part = Path(staging) / Path(source.url).name
        with urllib.request.urlopen(source.url, timeout=60) as response, open(part, "wb") as file:
            size = response.length  # the Content-Length, or None
            with tqdm.wrapattr(file, "write", total=size, desc=part.name) as counted:
                shutil.copyfileobj(response, counted)
        with open(part, "rb") as file:
            checksum = hashlib.file_digest(file, source.algorithm).hexdigest()
        if checksum != source.checksum:  # a dropped connection ends here too
            raise DataError(
                f"The download of {source.url} is corrupt: its {source.algorithm} checksum is "
                f"{checksum}, but the publisher's is {source.checksum}. "
                "Nothing was kept; run again later."
            )
        if part.name.endswith(".tar.gz"):
            try:  # the data filter refuses absolute paths, ".." and links out of staging
                with tarfile.open(part) as tar:
                    tar.extractall(staging, filter="data")
            # gzip.BadGzipFile is an OSError, but of the archive, not of the disk.
            except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
                raise DataError(
                    f"The download of {source.url} passed its checksum but cannot be unpacked "
                    f"safely ({type(error).__name__}: {error}). Nothing was kept."
                ) from error
            part = Path(staging) / destination.name
        if destination.exists():
            kept = f"{destination.name}.incomplete-{time.strftime('%Y%m%d-%H%M%S')}"
            destination.rename(destination.with_name(kept))
            print(f"The incomplete {destination} was kept aside as {kept}.")
        os.replace(part, destination)


def find_cifar10(data_dir: _Folder = None, source: Download = CIFAR10_DOWNLOAD) -> Path:
    """The folder with the CIFAR-10 batch files, downloading them if no candidate has them."""
    return _find_or_download("CIFAR-10", data_dir, CIFAR10_FILES, source, CIFAR10_FOLDER)


def find_mnist(data_dir: _Folder = None, source: Download = MNIST_DOWNLOAD) -> Path:
    """The path of ``mnist.npz``, downloading it if no candidate folder has it."""
    return _find_or_download("MNIST", data_dir, (MNIST_FILE,), source) / MNIST_FILE


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR-10 batch holds: a crafted one could name any function to call."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),  # Python 3's pickled bytes
    }  # fmt: skip

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:  # refused before it is even looked up
            raise pickle.UnpicklingError(
                f"it asks to load {module}.{name}, which a CIFAR-10 batch never holds"
            )
        return super().find_class(module, name)


def _corrupt(path: Path, problem: str) -> DataError:
    return DataError(
        f"{path} is {problem}. Delete it and run again to download a fresh copy, "
        f"or point {DATA_DIR_VARIABLE} at a good one."
    )


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
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
    """Refuse labels that do not go with the images: a label of -1 would train as class 9."""
    count, wrong = len(images), labels[(labels < 0) | (labels > 9)]
    corrupt = f"corrupt: {holder}"
    if not count:
        raise _corrupt(path, f"{corrupt} has no images")
    if count != len(labels):
        raise _corrupt(path, f"{corrupt} has {count:,} images but {len(labels):,} labels")
    if len(wrong):
        raise _corrupt(path, f"{corrupt} has the label {wrong[0]}, but labels run from 0 to 9")


def load_cifar10(data_dir: _Folder = None) -> _Splits:
    """``(X_train, y_train), (X_test, y_test)``: float32 (N, 32, 32, 3) in [0, 1], labels 0-9."""
    images, labels = [], []
    folder = find_cifar10(data_dir)
    for path in [folder / name for name in CIFAR10_FILES]:
        with _reading(path), open(path, "rb") as file:
            batch = _BatchUnpickler(file, encoding="latin1").load()
            labels.append(np.asarray(batch["labels"], dtype=np.int64))
            # Each row holds 1024 red, then 1024 green, then 1024 blue values, row by row.
            pixels = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        _check_examples(path, pixels, labels[-1], "it")
        images.append(pixels.transpose(0, 2, 3, 1).astype(np.float32) / 255.0)
    return (np.concatenate(images[:-1]), np.concatenate(labels[:-1])), (images[-1], labels[-1])


def load_mnist(data_dir: _Folder = None) -> _Splits:
    """MNIST as ``keras.datasets.mnist.load_data()`` gives it, from wherever the data is."""
    path = find_mnist(data_dir)
    with _reading(path), np.load(path) as npz:
        train, test = ((npz[f"x_{split}"], npz[f"y_{split}"]) for split in ("train", "test"))
    for split, (images, labels) in (("train", train), ("test", test)):
        images_fit = images.dtype == np.uint8 and images.shape[1:] == (28, 28)
        if not images_fit or labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise _corrupt(
                path,
                f"corrupt: its {split} set holds {images.dtype} images of shape {images.shape} "
                f"and {labels.dtype} labels of shape {labels.shape}, but MNIST's are uint8 "
                "images of shape (N, 28, 28) and integer labels of shape (N,)",
            )
        _check_examples(path, images, labels, f"its {split} set")
    return train, test


def cifar10_experiment_data(profile: Profile, data_dir: _Folder = None, seed: int = 0) -> _Splits:
    """CIFAR-10 cut to the profile's sizes, one-hot, shuffled alike for all; test set validates."""
    (images, labels), (test_images, test_labels) = load_cifar10(data_dir)
    order = np.random.default_rng(seed).permutation(len(images))[: profile.train_size]
    one_hot = np.eye(len(CIFAR10_CLASSES), dtype=np.float32)
    test = test_images[: profile.validation_size], one_hot[test_labels[: profile.validation_size]]
    return (images[order], one_hot[labels[order]]), test
