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
import errno
import gzip
import hashlib
import http.client
import os
import pickle
import shutil
import socket
import ssl
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101 import paths
from dl101.disk_space import free_amount
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
MNIST_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_IMAGE_SHAPE = (28, 28)
# The official file's example counts, as keras.datasets.mnist and the offline mirror have them.
MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000


class DataError(RuntimeError):
    """A data set could not be found, downloaded or read; the message says how to fix it."""


class WriteError(DataError):
    """A data folder could not take what was written into it: the disk's fault, not the network's.

    ``folder`` is the folder that was written into and ``error`` the OSError that stopped it, so
    a caller can try another folder.
    """

    def __init__(self, message: str, folder: Path, error: OSError) -> None:
        super().__init__(message)
        self.folder = folder
        self.error = error


class ArchiveError(DataError):
    """An archive could not be unpacked: it is damaged, or does not hold what it should."""


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


# Only these say the connection failed, so only after them does "connect to the internet" help.
_NETWORK_ERRORS = (
    urllib.error.URLError,  # also HTTPError, and whatever urlopen met while connecting
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected, ...
    ConnectionError,  # refused, reset, aborted, and the dropped connection download() detects
    TimeoutError,
    ssl.SSLError,
    socket.gaierror,
    socket.herror,
)
_NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT,
    errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETUNREACH, errno.ENETDOWN, errno.ENETRESET,
})  # fmt: skip
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# A file where the folder should be (EEXIST, ENOTDIR) stops a write as surely as permissions do.
_NOT_A_FOLDER_ERRNOS = frozenset({errno.EEXIST, errno.ENOTDIR})


def _is_network_error(error: BaseException) -> bool:
    """Whether ``error`` came from the connection rather than from the disk being written."""
    return isinstance(error, _NETWORK_ERRORS) or (
        isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS
    )


def _write_problem(folder: Path, error: OSError) -> str:
    """What stopped a write into ``folder``, and what to do, as the end of a message.

    Setting DL101_DATA_DIR works as advised because a download that data/ cannot take goes
    into the folder that variable names (see ``_download_dirs``).
    """
    reason = error.strerror or str(error)

    def elsewhere(kind: str) -> str:
        return (
            f"set {DATA_DIR_VARIABLE} to {kind} (for example: export {DATA_DIR_VARIABLE}="
            f"$HOME/dl101-data) and run again: a download that {REPO_DATA_DIR} cannot take "
            "goes there"
        )

    if error.errno in _DISK_FULL_ERRNOS:
        return (
            f"there is no space left in {folder} ({reason}; {free_amount(folder)} free on its "
            "disk). Free some space there (CIFAR-10 needs about 350 MB while it is unpacked, "
            f"MNIST 11 MB) and run again, or {elsewhere('a folder on a disk with room')}."
        )
    writable = "a folder you can write to"
    if error.errno in _NOT_A_FOLDER_ERRNOS:
        return (
            f"{folder} cannot be created ({reason}: a file stands where a folder should be). "
            f"Move that file away, or {elsewhere(writable)}."
        )
    if isinstance(error, PermissionError) or error.errno == errno.EROFS:
        return f"{folder} cannot be written ({reason}). Make it writable, or {elsewhere(writable)}."
    return f"writing into {folder} failed ({error}). Check that disk, or {elsewhere(writable)}."


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
        # A temporary file is private to its owner; a data set is for everyone who may read the
        # folder, as a file they had saved themselves would be.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def extract_tar(archive: Path, member_folder: str, destination_dir: Path) -> Path:
    """Unpack ``member_folder`` from ``archive`` into ``destination_dir``, all or nothing.

    The ``data`` extraction filter refuses absolute paths, ``..`` and links that point out
    of the destination, so a hostile archive cannot write anywhere else. A damaged archive
    raises ``ArchiveError``; a folder that cannot take the files raises the ``OSError`` the
    write met, for the caller to say which folder it was and what to do with the archive.
    """
    target = destination_dir / member_folder
    staging = Path(tempfile.mkdtemp(dir=destination_dir, prefix=STAGING_PREFIX))
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except tarfile.FilterError as error:
            raise ArchiveError(f"{archive} tries to write outside its folder ({error}).") from error
        # gzip.BadGzipFile is an OSError, but of the archive, not of the disk.
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise ArchiveError(
                f"{archive} cannot be unpacked: it is truncated or damaged "
                f"({type(error).__name__}: {error})."
            ) from error
        if not (staging / member_folder).is_dir():
            raise ArchiveError(f"{archive} does not contain the folder {member_folder}/.")
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


def _remove_leftovers(directory: Path, downloads: bool = True) -> None:
    """Delete what an interrupted download (unless ``downloads`` is false) or unpacking left.

    Called while holding the download lock, so no other process is writing these right now.
    A folder of the user's that an archive is unpacked into only ever gets unpacking
    leftovers, so there ``downloads`` is false and no ``.part`` file of theirs is touched.
    """
    if downloads:
        for leftover in directory.glob(f".*{PARTIAL_SUFFIX}"):
            leftover.unlink(missing_ok=True)
    for leftover in directory.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _download_lock(directory: Path) -> Iterator[None]:
    """Let one process at a time download into ``directory``; the others wait, then reuse it.

    The lock is taken on the folder itself, so it leaves no lock file behind. Windows has no
    ``flock``: there two notebooks started at the same moment may both download.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        yield
        return
    import fcntl

    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _download_dirs(download_dir: Path | None) -> list[Path]:
    """Where a download may go, in order: ``download_dir`` if given, else data/, then DL101_DATA_DIR.

    The README promises data/; the folder DL101_DATA_DIR names takes the download only when
    data/ cannot (read-only, full, or a file in its place), which is what the messages for
    those cases advise.
    """
    if download_dir is not None:
        return [download_dir]
    dirs = [REPO_DATA_DIR]
    if os.environ.get(DATA_DIR_VARIABLE):
        dirs.append(Path(os.environ[DATA_DIR_VARIABLE]).expanduser())
    return list(dict.fromkeys(dirs))


def _find_or_download(
    name: str,
    data_dir: str | os.PathLike[str] | None,
    download_dirs: Sequence[Path],
    locate: Callable[[Path], Path | None],
    fetch: Callable[[Path, list[str]], Path],
    diagnose: Callable[[Path], str | None] = lambda directory: None,
) -> Path:
    """What ``locate`` finds in the first candidate folder that has it, else what ``fetch`` gets.

    ``fetch(folder, problems)`` downloads into the first of ``download_dirs`` that can take it,
    while holding a lock on that folder, after the leftovers of any earlier, interrupted attempt
    are removed; a process that waited for the lock first looks again, and uses what the other
    one fetched. ``diagnose`` says what is wrong with a folder that holds part of the data, so
    the messages can name the missing file. Only a network error ends in the advice to connect
    to the internet; a folder that cannot take the data is named, with what to do about it.
    """
    searched = candidate_dirs(data_dir)
    for directory in searched:
        if found := locate(directory):
            return found
    problems = [problem for directory in searched if (problem := diagnose(directory))]
    *fallbacks, last = download_dirs
    try:
        for download_dir in fallbacks:
            try:
                return _fetch_into(
                    name, download_dir, [*searched, download_dir], locate, fetch, problems
                )
            except WriteError as error:
                why = error.error.strerror or error.error
                print(f"{download_dir} cannot take {name} ({why}): using {last} instead.")
        return _fetch_into(name, last, [*searched, last], locate, fetch, problems)
    except (http.client.HTTPException, OSError) as error:  # what _fetch_into left: the network's
        reason = getattr(error, "reason", None) or error
        # The message already names the cause; a chained traceback would only bury it.
        raise DataError(_missing_data_message(name, searched, problems, str(reason))) from None


def _fetch_into(
    name: str,
    download_dir: Path,
    look_in: Sequence[Path],
    locate: Callable[[Path], Path | None],
    fetch: Callable[[Path, list[str]], Path],
    problems: list[str],
) -> Path:
    """``fetch`` into ``download_dir`` under its lock, unless one of ``look_in`` has it by then.

    A network error goes up as it is; any other ``OSError`` is the folder's, and becomes a
    ``WriteError`` naming it.
    """
    try:
        with _download_lock(download_dir):
            for directory in look_in:
                if found := locate(directory):
                    return found
            _remove_leftovers(download_dir)
            return fetch(download_dir, problems)
    except OSError as error:
        if _is_network_error(error):
            raise
        raise WriteError(
            f"{name} could not be downloaded into {download_dir}: "
            f"{_write_problem(download_dir, error)} Nothing half-written was kept.",
            download_dir,
            error,
        ) from error


def _verified_archive(source: Download, folders: Sequence[Path]) -> Path | None:
    """An archive of ``source`` already in one of ``folders`` whose checksum is the publisher's."""
    for folder in folders:
        archive = folder / Path(source.url).name
        if archive.is_file():
            try:
                checksum = file_checksum(archive, source.algorithm)
            except OSError as error:
                # An unreadable archive is skipped like a wrong one, not taken for a full disk.
                print(f"{archive} cannot be read ({error.strerror or error}): not used.")
                continue
            if checksum == source.checksum:
                return archive
            print(f"{archive} is not the official archive (its checksum differs): not used.")
    return None


def _unpack_cifar10(archive: Path, folders: Sequence[Path], downloaded: bool) -> Path:
    """``archive`` unpacked into the first of ``folders`` that can take it.

    A damaged archive is removed if this call ``downloaded`` it (it is of no use, and the next
    run downloads a fresh one), and kept otherwise: it is the user's, or what an earlier run
    kept, and not this call's to delete. An archive that no folder could take is always kept,
    so that the next run need not download it again.
    """
    for folder in folders:
        try:
            _remove_leftovers(folder, downloads=False)
            return extract_tar(archive, CIFAR10_FOLDER, folder)
        except ArchiveError as error:
            if downloaded:
                archive.unlink(missing_ok=True)
                fate = (
                    "It was removed: run again to download it again. If that fails the same "
                    f"way, download {archive.name} by hand and put it, unopened, into {folder}."
                )
            else:
                fate = (
                    "It was kept, as this run did not download it: delete it, or replace it "
                    "with a good copy of the official archive, and run again."
                )
            raise ArchiveError(f"{error} {fate}") from error
        except OSError as error:
            if folder != folders[-1]:
                print(
                    f"{archive} cannot be unpacked into {folder} ({error.strerror or error}): "
                    f"unpacking it into {folders[-1]} instead."
                )
                continue
            raise WriteError(
                f"{archive} could not be unpacked into {folder}: {_write_problem(folder, error)} "
                f"{archive.name} was kept, so the next run unpacks it without downloading it "
                "again; nothing half-unpacked was kept.",
                folder,
                error,
            ) from error
    raise AssertionError("folders is never empty")


def find_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    source: Download = CIFAR10_DOWNLOAD,
    download_dir: Path | None = None,
) -> Path:
    """The folder with the CIFAR-10 batch files, downloading them if no candidate has them.

    An official archive already in a searched folder (downloaded by hand, or kept from an
    earlier attempt) is checked and unpacked instead of downloading it again: beside itself,
    in the folder it was found in, as the README promises; into the download folder when that
    folder cannot be written (a read-only mount), or always when ``download_dir`` is given.
    The archive is deleted only once its contents are unpacked, and only if this call
    downloaded it or it lies in the download folder: one put elsewhere is left alone.
    """
    download_dirs = _download_dirs(download_dir)

    def fetch(target_dir: Path, problems: list[str]) -> Path:
        for problem in problems:
            print(f"{problem}.")
        archive = _verified_archive(source, [*candidate_dirs(data_dir), target_dir])
        downloaded = archive is None
        if archive is None:
            print(f"CIFAR-10 not found locally: downloading it into {target_dir} (163 MB).")
            archive = download(source, target_dir / Path(source.url).name)
        else:
            print(f"Unpacking the official archive found at {archive}.")
        unpack_into = (
            [target_dir]
            if download_dir is not None
            else [*dict.fromkeys([archive.parent, target_dir])]
        )
        folder = _unpack_cifar10(archive, unpack_into, downloaded)
        if downloaded or archive.parent == download_dirs[0]:
            archive.unlink(missing_ok=True)
        return folder

    return _find_or_download(
        "CIFAR-10", data_dir, download_dirs, _cifar10_folder_in, fetch, _incomplete_cifar10_in
    )


def find_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    source: Download = MNIST_DOWNLOAD,
    download_dir: Path | None = None,
) -> Path:
    """The path of ``mnist.npz``, downloading it if no candidate folder has it."""

    def fetch(target_dir: Path, problems: list[str]) -> Path:
        print(f"MNIST not found locally: downloading it into {target_dir} (11 MB).")
        return download(source, target_dir / MNIST_FILE)

    return _find_or_download("MNIST", data_dir, _download_dirs(download_dir), _mnist_file_in, fetch)


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

    The same arrays as ``keras.datasets.mnist.load_data()``, read from wherever the data is,
    and checked as ``_read_cifar10_batch`` checks CIFAR-10's (see ``_check_mnist``).
    """
    path = find_mnist(data_dir)
    try:
        with np.load(path) as npz:
            if missing := [key for key in MNIST_ARRAYS if key not in npz.files]:
                held = ", ".join(npz.files) or "no arrays"
                raise _corrupt_mnist(
                    path,
                    f"it has no {' or '.join(missing)} array (it has {held}; Keras' mnist.npz "
                    f"has {', '.join(MNIST_ARRAYS)})",
                )
            arrays = {key: npz[key] for key in MNIST_ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"{path} is truncated or corrupt ({type(error).__name__}: {error}). "
            "Delete it and run again to download a fresh copy."
        ) from error
    _check_mnist(path, arrays)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _corrupt_mnist(path: Path, problem: str) -> DataError:
    """The error for an ``mnist.npz`` that opens but does not hold MNIST: one fix for every case."""
    return DataError(
        f"{path} is corrupt: {problem}. Delete it and run again to download a fresh copy, "
        f"or point {DATA_DIR_VARIABLE} at a good one."
    )


def _check_mnist(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Refuse an ``mnist.npz`` whose arrays are not MNIST's, naming the file and the array.

    Without this, a label of -1 trains as class 9 and a label of 10 fails deep inside Keras,
    naming no file. The checks are those CIFAR-10's loader makes: types, shapes, labels in
    range, as many labels as images. Like it, they do not insist on the official counts
    (``MNIST_TRAIN_SIZE``, ``MNIST_TEST_SIZE``): a smaller file of the right layout, such as
    a cut-down copy or the tests' own, loads the same way; the counts are checked on the real
    file by test_real_mnist_has_the_official_split, and the count message quotes them.
    """
    official = {"train": MNIST_TRAIN_SIZE, "test": MNIST_TEST_SIZE}
    for split, size in official.items():
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.dtype != np.uint8:
            raise _corrupt_mnist(
                path, f"x_{split} holds {images.dtype} values, but MNIST's pixels are uint8 (0-255)"
            )
        if images.ndim != 3 or images.shape[1:] != MNIST_IMAGE_SHAPE:
            raise _corrupt_mnist(
                path, f"x_{split} has the shape {images.shape}, but MNIST's images are (N, 28, 28)"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise _corrupt_mnist(
                path,
                f"y_{split} holds {labels.dtype} values, but MNIST's labels are integers 0-9",
            )
        if labels.ndim != 1:
            raise _corrupt_mnist(
                path, f"y_{split} has the shape {labels.shape}, but MNIST's labels are (N,)"
            )
        if not len(images):
            raise _corrupt_mnist(path, f"x_{split} holds no images")
        if len(images) != len(labels):
            raise _corrupt_mnist(
                path,
                f"x_{split} holds {len(images):,} images but y_{split} {len(labels):,} labels "
                f"(the official file has {size:,} of each)",
            )
        out_of_range = labels[(labels < 0) | (labels > 9)]
        if len(out_of_range):
            raise _corrupt_mnist(
                path,
                f"y_{split} has the label {out_of_range[0]}, but MNIST's labels run from 0 to 9",
            )


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
