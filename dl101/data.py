"""Find, download and load CIFAR-10 and MNIST as numpy arrays.

Learners keep the two data sets in different places, so each is looked for in a fixed list of
folders (``candidate_dirs``) and, only when none has it, downloaded from its publisher, checked
against the published checksum and unpacked. Every failure is a ``DataError`` that says what
went wrong and what to do.

The CIFAR-10 batches are read here rather than by Keras or tflearn, whose loaders insist on the
official archive's checksum and so refuse a copy rebuilt elsewhere (such as the offline mirror
these machines use).
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
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101 import paths
from dl101.disk_space import free_amount
from dl101.paths import REPO_ROOT
from dl101.profiles import Profile

import numpy as np

DATA_DIR_VARIABLE = "DL101_DATA_DIR"
REPO_DATA_DIR = REPO_ROOT / "data"
# What a killed download (.part) or unpacking (.extract-) leaves behind; the next run removes it.
LEFTOVERS = (".*.part", ".extract-*")

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_FILES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
MNIST_FILE = "mnist.npz"


class DataError(RuntimeError):
    """A data set could not be found, downloaded or read; the message says how to fix it."""


@dataclass(frozen=True)
class Download:
    """Where an official file lives and the checksum its publisher gives for it."""

    url: str
    algorithm: str
    checksum: str

    @property
    def file_name(self) -> str:
        return Path(self.url).name


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


def candidate_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for data, in order: argument, environment, repository, FloydHub."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    return [*_data_dir_variable(), REPO_DATA_DIR, *paths.floydhub_data_dirs()]


def _data_dir_variable() -> list[Path]:
    """The folder DL101_DATA_DIR names, if it is set.

    A path that does not exist is refused rather than passed over: a typing mistake would
    otherwise turn into a silent download into data/.
    """
    value = os.environ.get(DATA_DIR_VARIABLE)
    if not value:
        return []
    folder = Path(value).expanduser()
    try:
        folder.stat()
    except FileNotFoundError:
        raise DataError(
            f"{DATA_DIR_VARIABLE} is set to {folder}, which does not exist: correct it "
            f"(export {DATA_DIR_VARIABLE}=/path/to/data), create that folder, or unset "
            f"{DATA_DIR_VARIABLE} to use {REPO_DATA_DIR}."
        ) from None
    return [folder]


def _cifar10_folder_in(directory: Path) -> Path | str | None:
    """The folder with every batch file: ``directory``'s cifar-10-batches-py/, or ``directory``.

    Else what is missing from one that has some of the files, or None.
    """
    incomplete = None
    for folder in (directory / CIFAR10_FOLDER, directory):
        missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
        if not missing:
            return folder
        if len(missing) < len(CIFAR10_FILES):
            incomplete = incomplete or f"{folder} is incomplete: {', '.join(missing)} is missing"
    return incomplete


def _mnist_file_in(directory: Path) -> Path | None:
    path = directory / MNIST_FILE
    return path if path.is_file() else None


def _find_or_download(
    name: str,
    data_dir: str | os.PathLike[str] | None,
    download_dir: Path | None,
    locate: Callable[[Path], Path | str | None],
    fetch: Callable[[Path], Path],
) -> Path:
    """What ``locate`` finds in the first candidate folder that has it, else what ``fetch`` gets.

    ``locate`` returns the data's path, or what is wrong with a folder that holds part of it.
    ``fetch`` runs in data/ (or ``download_dir``), or, when that folder cannot take the data,
    in the folder DL101_DATA_DIR names, as the message for that case advises; it holds a lock on
    the folder, so a second process waits, then uses what the first fetched.
    """
    searched = candidate_dirs(data_dir)
    problems = []
    for folder in searched:
        try:
            found = locate(folder)
        except OSError as error:  # a folder the learner may not read, such as a locked /data
            found = f"{folder} cannot be read ({error.strerror or error})"
        if isinstance(found, Path):
            return found
        if found:
            problems.append(found)
    for problem in problems:  # why a download starts although a folder was given
        print(f"{problem}.")
    folders = [download_dir] if download_dir else [REPO_DATA_DIR, *_data_dir_variable()]
    folders = list(dict.fromkeys(folders))
    for folder in folders:
        try:
            with _download_lock(folder):
                if isinstance(found := locate(folder), Path):
                    return found
                _remove_leftovers(folder)
                return fetch(folder)
        except (OSError, http.client.HTTPException) as error:
            code = getattr(error, "errno", None)
            if code not in _FOLDER_PROBLEMS:
                # The message names the cause; a chained traceback would only bury it.
                raise DataError(_not_found_message(name, searched, problems, error)) from None
            cause, fix = _FOLDER_PROBLEMS[code]
            if code in (errno.ENOSPC, errno.EDQUOT):
                cause += f" ({free_amount(folder)} free; CIFAR-10 needs 350 MB, MNIST 11 MB)"
            failure = f"{name} could not be saved in {folder}: {cause}; {error}."
            if folder != folders[-1]:
                print(f"{failure} Trying {folders[-1]} instead.")
    raise DataError(
        f"{failure} Nothing half-written was kept. {fix}, or set {DATA_DIR_VARIABLE} to a folder "
        "you can write to, on a disk with room (for example: mkdir -p ~/dl101-data; export "
        f"{DATA_DIR_VARIABLE}=~/dl101-data), and run again: a download that {REPO_DATA_DIR} "
        "cannot take goes there."
    )


def _not_found_message(
    name: str, searched: list[Path], problems: list[str], error: BaseException
) -> str:
    folders = "".join(f"\n  - {folder}" for folder in searched)
    notes = "".join(f"\n  ({problem})" for problem in problems)
    return (
        f"{name} was not found in any of these folders:{folders}{notes}\n"
        # URLError keeps the cause (HTTP 404's "File not found", a refused connection) in reason.
        f"and downloading it failed: {getattr(error, 'reason', None) or error}\n"
        "To fix this, either\n"
        f"  - connect to the internet and run again: it is downloaded into {REPO_DATA_DIR}, or\n"
        f"  - point {DATA_DIR_VARIABLE} at a folder that holds it "
        f"(for example: export {DATA_DIR_VARIABLE}=/path/to/data), or\n"
        f"  - download {name}'s official file by hand and put it, unopened, into {REPO_DATA_DIR}"
        f" or the folder {DATA_DIR_VARIABLE} names: it is used from there."
    )


@contextlib.contextmanager
def _download_lock(folder: Path) -> Iterator[None]:
    """Let one process at a time download into ``folder``; the others wait, then reuse it.

    The lock is taken on the folder itself, so it leaves no lock file behind. Windows has no
    ``flock``: there two notebooks started at the same moment may both download.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        yield
        return
    import fcntl

    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _remove_leftovers(folder: Path) -> None:
    """Delete what a killed download or unpacking left; the caller holds the folder's lock."""
    for leftover in (path for pattern in LEFTOVERS for path in folder.glob(pattern)):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _checksum(path: Path, algorithm: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def download(source: Download, destination: Path) -> Path:
    """Download ``source`` to ``destination`` and verify its checksum.

    Not keras.utils.get_file (Keras 3.15), which writes into the destination itself (a killed
    download leaves a half-written file under the real name, and two notebooks write into one
    file), keeps a download whose checksum is wrong, downloads into /tmp/.keras when the folder
    is read-only, has no timeout (a stalled connection hangs the notebook), and loads
    TensorFlow. Here the bytes go into a folder of this call's own beside the destination and
    are renamed into place once complete and verified; that folder is always removed.
    """
    from tqdm.auto import tqdm

    staging = Path(
        tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    )
    partial = staging / destination.name
    try:
        with (
            urllib.request.urlopen(source.url, timeout=60) as response,
            open(partial, "wb") as file,
        ):
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm.wrapattr(file, "write", total=size, desc=destination.name) as counted:
                shutil.copyfileobj(response, counted)
        received = partial.stat().st_size
        if size is not None and received != size:
            # http.client ends a body cut short by the server without an error.
            raise ConnectionError(f"the connection dropped after {received:,} of {size:,} bytes")
        checksum = _checksum(partial, source.algorithm)
        if checksum != source.checksum:
            raise DataError(
                f"The download of {source.url} is corrupt: its {source.algorithm} checksum is "
                f"{checksum}, but the publisher's is {source.checksum}. Nothing was kept; "
                f"try again later, or download {source.file_name} by hand and put it, "
                f"unopened, into {destination.parent}: it is checked and used from there."
            )
        os.replace(partial, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def extract_tar(archive: Path, member_folder: str, destination_dir: Path) -> Path:
    """Unpack ``member_folder`` from ``archive`` into ``destination_dir``, all or nothing.

    The ``data`` extraction filter refuses absolute paths, ``..`` and links that point out of
    the destination, so a crafted archive cannot write anywhere else. A damaged archive raises
    ``DataError``; a folder that cannot take the files, the ``OSError`` the write met. (Keras'
    ``get_file(extract=True)`` unpacks in place, so a full disk leaves half a folder, and skips
    a member that would escape with a warning, unpacking the rest of a crafted archive.)
    """
    target = destination_dir / member_folder
    staging = Path(tempfile.mkdtemp(dir=destination_dir, prefix=".extract-"))
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except tarfile.FilterError as error:
            raise DataError(f"{archive} tries to write outside its folder ({error}).") from error
        # gzip.BadGzipFile is an OSError, but of the archive, not of the disk.
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise DataError(
                f"{archive} cannot be unpacked: it is truncated or damaged "
                f"({type(error).__name__}: {error})."
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


def _official_archive(source: Download, folders: list[Path]) -> Path | None:
    """An archive of ``source`` in one of ``folders`` whose checksum is the publisher's."""
    for archive in (folder / source.file_name for folder in folders):
        try:
            if not archive.is_file():
                continue
            official = _checksum(archive, source.algorithm) == source.checksum
        except OSError as error:  # one that cannot be read is passed over, as a wrong one is
            print(f"{archive} cannot be read ({error.strerror or error}): not used.")
            continue
        if official:
            return archive
        print(f"{archive} is not the official archive (its checksum differs): not used.")
    return None


def find_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    source: Download = CIFAR10_DOWNLOAD,
    download_dir: Path | None = None,
) -> Path:
    """The folder with the CIFAR-10 batch files, downloading them if no candidate has them.

    An official archive already in a candidate folder or the download folder (downloaded by
    hand, or kept by a run that could not unpack it) is unpacked instead of downloading it
    again. Once unpacked, an archive that was downloaded or lies in the download folder is
    deleted; one the learner keeps elsewhere is theirs and stays.
    """
    own_folder = download_dir or REPO_DATA_DIR

    def fetch(folder: Path) -> Path:
        archive = _official_archive(source, [*candidate_dirs(data_dir), folder])
        if archive is None:
            print(f"CIFAR-10 not found locally: downloading it into {folder} (163 MB).")
            archive = download(source, folder / source.file_name)
            ours = True
        else:
            print(f"Unpacking the official archive found at {archive}.")
            ours = archive.parent == own_folder
        try:
            unpacked = extract_tar(archive, CIFAR10_FOLDER, folder)
        except DataError as error:  # damaged; the disk's OSError keeps it for the next run
            if ours:
                archive.unlink()
            fate = (
                "It was removed: run again to download it again, or put a copy you downloaded "
                f"by hand, unopened, into {folder}."
                if ours
                else "It was kept, as it is yours: replace it with a good copy of the official "
                "archive, and run again."
            )
            raise DataError(f"{error} {fate}") from error
        if ours:
            archive.unlink()
        return unpacked

    return _find_or_download("CIFAR-10", data_dir, download_dir, _cifar10_folder_in, fetch)


def find_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    source: Download = MNIST_DOWNLOAD,
    download_dir: Path | None = None,
) -> Path:
    """The path of ``mnist.npz``, downloading it if no candidate folder has it."""

    def fetch(folder: Path) -> Path:
        print(f"MNIST not found locally: downloading it into {folder} (11 MB).")
        return download(source, folder / MNIST_FILE)

    return _find_or_download("MNIST", data_dir, download_dir, _mnist_file_in, fetch)


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


def _corrupt(path: Path, problem: str) -> DataError:
    """The error for a data file that cannot be used: one fix, whatever the damage.

    Deleting a CIFAR-10 batch works too: its folder is then incomplete, so the next run
    downloads a fresh copy and keeps that folder aside.
    """
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
    except (
        pickle.UnpicklingError,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        zipfile.BadZipFile,
        zlib.error,
    ) as error:
        raise _corrupt(path, f"truncated or corrupt ({type(error).__name__}: {error})") from error


def _check_examples(path: Path, images: np.ndarray, labels: np.ndarray, holder: str) -> None:
    """Refuse labels that do not go with the images, naming the file and what ``holder`` holds.

    Without this, a label of -1 trains as class 9, and a missing label fails deep inside
    tflearn or Keras, naming no file.
    """
    if not len(images):
        raise _corrupt(path, f"corrupt: {holder} has no images")
    if len(images) != len(labels):
        raise _corrupt(
            path, f"corrupt: {holder} has {len(images):,} images but {len(labels):,} labels"
        )
    out_of_range = labels[(labels < 0) | (labels > 9)]
    if len(out_of_range):
        raise _corrupt(
            path, f"corrupt: {holder} has the label {out_of_range[0]}, but labels run from 0 to 9"
        )


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images as (N, 32, 32, 3) uint8 and labels as int64 from one pickled batch."""
    with _reading(path), open(path, "rb") as file:
        batch = _BatchUnpickler(file, encoding="latin1").load()
        pixels = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
        # Each row holds 1024 red, then 1024 green, then 1024 blue values, row by row.
        images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    _check_examples(path, images, labels, "it")
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

    The same arrays as ``keras.datasets.mnist.load_data()``, read from wherever the data is,
    and refused, naming the array, when they are not MNIST's: checked as CIFAR-10's are.
    """
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
