"""Training runs: a folder per run in one log directory, with its settings; re-runs set it aside."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any
from urllib.parse import quote, unquote

from dl101 import paths
from dl101.disk_space import free_space
from dl101.profiles import Profile

LOG_DIR_VARIABLE = "DL101_LOG_DIR"
PREVIOUS_RUN_MARKER = ".previous-"
SETTINGS_FILE = "run_settings.json"
LOCKS_FOLDER = ".runs-in-use"  # hidden, so TensorBoard sees no extra files
DEFAULT_SEED = 0  # a run's unless it says otherwise, so a re-run draws the same curves
PROBE_BYTES = 1 << 20  # a run logs a few megabytes: a disk with less room than this is full
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "profile": (str,), "epochs": (int,), "training_examples": (int,), "seed": (int,),
    "batch_size": (int,), "learning_rate": (int, float),
}  # fmt: skip
EXPERIMENT_SETTINGS = ("profile", "epochs", "training_examples", "seed")  # what Experiment records
_held: dict[Path, IO[str]] = {}  # this process's run locks, kept open: closing one releases it


def log_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """``root`` if given, else ``$DL101_LOG_DIR``, else FloydHub's ``/output``, else ``logs/``."""
    if root := root or os.environ.get(LOG_DIR_VARIABLE):
        return Path(root).expanduser().resolve()
    return paths.floydhub_output_dir() or paths.REPO_ROOT / "logs"


def check_log_dir(folder: Path | None = None) -> Path:
    """The log directory, created if need be; a clear error if it is full or not writable."""
    folder = folder or log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # leaves nothing, even if this process dies
        if shutil.disk_usage(folder).free < PROBE_BYTES:  # creating a file works on a full disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    except OSError as error:
        raise _cannot_write(folder, error) from None
    return folder


def _cannot_write(folder: Path, error: OSError) -> RuntimeError:
    said = f"TensorBoard logs cannot be written to {folder}"
    if error.errno == errno.ENOSPC:
        return RuntimeError(
            f"{said}: its disk is full ({free_space(folder)}). Free some space, or set "
            f"{LOG_DIR_VARIABLE} to a folder on another disk."
        )
    return RuntimeError(
        f"{said} ({error.strerror or error}). Set {LOG_DIR_VARIABLE} to a folder you can "
        f"write to, for example export {LOG_DIR_VARIABLE}=~/dl101-logs"
    )


def _setting(key: str) -> Any:
    return property(lambda run: run.settings.get(key))


@dataclass(frozen=True)
class Run:
    """One training run: its name, its log folder and its settings, also as attributes (or None)."""

    name: str
    folder: Path
    settings: Mapping[str, Any] = field(default_factory=dict)

    epochs = _setting("epochs")
    batch_size = _setting("batch_size")
    learning_rate = _setting("learning_rate")
    training_examples = _setting("training_examples")
    profile = _setting("profile")
    keep_probability = _setting("keep_probability")  # None: the run has no dropout

    @property
    def seed(self) -> int:
        return self.settings.get("seed", DEFAULT_SEED)

    @property
    def label(self) -> str:  # the last part of the name, for plots and tables: "with_dropout"
        return self.name.rsplit("/", 1)[-1]

    @property
    def run_id(self) -> str:  # what tflearn's fit(run_id=...) takes: relative to the log directory
        return self.name

    @property
    def tensorboard_dir(self) -> str:  # ends in a separator: tflearn adds run_id as a string
        return os.path.join(self.folder.parents[self.name.count("/")], "")

    def check_not_trained_yet(self) -> None:
        """Refuse a second training: its logs and weights would go on from the first's."""
        if any(path.name != SETTINGS_FILE for path in self.folder.iterdir()):
            raise RuntimeError(
                f"The run {self.name!r} has been trained already: its logs are in {self.folder}. "
                "Training it again would mix two trainings in one run. Re-run the cell that "
                "creates the run and builds the network (it sets this one aside), then this one."
            )


def _checked_name(name: str) -> str:
    """``name`` normalised; an error unless it names a run folder inside the log directory."""
    parts = PurePosixPath(str(name).replace(os.sep, "/")).parts  # "." and "//" are dropped
    outside = not isinstance(name, str) or PurePath(name).anchor or ".." in parts
    if outside or not parts or parts[0] == LOCKS_FOLDER:
        raise ValueError(
            f"A run name must be a relative path inside the log directory, such as "
            f"'experiment_1_dropout/with_dropout'; got {name!r}."
        )
    return "/".join(parts)


def _wrong_kind(settings: object) -> str | None:
    """What is wrong with ``settings``, as ``seed='1' is not of type int``; ``None``: nothing."""
    if not isinstance(settings, dict):
        return f"it holds a {type(settings).__name__}, not a table of settings"
    for key, types in SETTING_TYPES.items():
        value = settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            return f"{key}={value!r} is not of type {' or '.join(t.__name__ for t in types)}"
    return None


def _claim(base: Path, name: str) -> None:
    """Hold the run ``name`` while this process lives (an flock ends even with a crashed one); an
    error if it, or a run inside it, is held: a kernel must not set aside a folder another uses."""
    if sys.platform == "win32":  # no flock: no guard
        return
    import fcntl

    locks = base / LOCKS_FOLDER
    locks.mkdir(exist_ok=True)
    own = locks / f"{quote(name, safe='')}.lock"
    inside = [path for path in locks.glob("*.lock") if unquote(path.name).startswith(name + "/")]
    for path in [lock for lock in [*inside, own] if lock not in _held]:
        handle = open(path, "a")  # noqa: SIM115  (this run's stays open: closing releases it)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RuntimeError(
                f"The run {name!r} in {base} is in use by another process: a notebook kernel or "
                "`make run` created it and has not ended. Wait for it or shut that kernel down, "
                "then run this again; or give this run another name."
            ) from None
        if path == own:
            _held[own] = handle
        else:
            handle.close()


def _set_aside(folder: Path, name: str) -> None:
    """Rename the earlier run ``name`` to a free name stamped with the time it was last written."""
    last_written = max(path.stat().st_mtime for path in folder.rglob("*"))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(last_written))
    aside = f"{folder.name}{PREVIOUS_RUN_MARKER}{stamp}"
    kept, counter = aside, 2
    while folder.with_name(kept).exists():
        kept, counter = f"{aside}-{counter}", counter + 1
    folder.rename(folder.with_name(kept))
    print(f"An earlier run named {name!r} was kept aside as {kept!r}; this run starts afresh.")


def new_run(name: str, root: str | os.PathLike[str] | None = None, **settings: object) -> Run:
    """A new run: an empty folder ``name`` (``/`` groups runs) and its settings, save ``None``."""
    name = _checked_name(name)
    given = {key: value for key, value in settings.items() if value is not None}
    text = json.dumps(given, indent=2, default=lambda numpy_number: numpy_number.item()) + "\n"
    recorded = json.loads(text)  # the settings exactly as the run's file will give them back
    if problem := _wrong_kind(recorded):
        raise ValueError(f"The run setting {problem}.")
    base = check_log_dir(log_dir(root))
    folder = base / name
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a run folder: give the run another name.")
    partial = folder / f".{SETTINGS_FILE}.partial"
    try:
        _claim(base, name)
        if folder.exists() and any(folder.iterdir()):
            _set_aside(folder, name)
        folder.mkdir(parents=True, exist_ok=True)
        if recorded:  # whole or not at all: a full disk must not leave half a file behind
            partial.write_text(text)
            partial.replace(folder / SETTINGS_FILE)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _cannot_write(folder, error) from None
    return Run(name, folder, recorded)


def open_run(name: str, root: str | os.PathLike[str] | None = None) -> Run | None:
    """The run ``name`` as :func:`new_run` left it, or ``None``; damaged settings named."""
    name = _checked_name(name)
    folder = log_dir(root) / name
    path = folder / SETTINGS_FILE
    if not path.is_file():
        return Run(name, folder) if folder.is_dir() else None
    try:
        settings = json.loads(path.read_text())
        problem = _wrong_kind(settings)
    except (OSError, ValueError) as error:
        problem = f"it is not readable JSON ({error})"
    if problem is not None:
        raise ValueError(
            f"The run settings in {path} are damaged: {problem}. They are written when a run is "
            "created: train that run again (its folder is then set aside, nothing is lost)."
        )
    return Run(name, folder, settings)


@dataclass
class Experiment:
    """The runs of one notebook, in one group folder; ``runs`` in the order made (re-made: last)."""

    group: str
    profile: Profile | None = None
    training_examples: int | None = None
    epochs: int | None = None  # None: the profile's
    seed: int = DEFAULT_SEED
    runs: list[Run] = field(default_factory=list)

    def new_run(self, name: str, **settings: object) -> Run:
        _checked_name(name)  # a run of this experiment, never the experiment's own folder
        profile = self.profile
        epochs = profile.epochs if self.epochs is None and profile else self.epochs
        shared = (profile.name if profile else None, epochs, self.training_examples, self.seed)
        recorded = {**dict(zip(EXPERIMENT_SETTINGS, shared, strict=True)), **settings}
        run = new_run(f"{self.group}/{name}", log_dir(), **recorded)
        self.runs = [earlier for earlier in self.runs if earlier.name != run.name] + [run]
        return run
