"""Training runs: one shared log directory, a fresh folder per run, and the settings it trained with.

All notebooks log under one directory, so one ``tensorboard --logdir ...`` compares every
experiment. A notebook states each setting once, in ``experiment.new_run("with_dropout",
batch_size=96)``; the run records it beside its logs and the model reads it back
(``run.batch_size``), so the settings a table shows are, by construction, the ones that trained.
tflearn appends to whatever a run's folder holds, so :func:`new_run` first moves an earlier run
of the same name aside, and says so: a re-run never draws its curves over the old ones.
"""

from __future__ import annotations

import contextlib
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

if sys.platform != "win32":
    import fcntl

LOG_DIR_VARIABLE = "DL101_LOG_DIR"
PREVIOUS_RUN_MARKER = ".previous-"
SETTINGS_FILE = "run_settings.json"
# Where runs in use are locked (see _claim): hidden, so TensorBoard sees no extra files.
LOCKS_FOLDER = ".runs-in-use"
# Every model is seeded with this unless a run says otherwise, so a notebook re-run on the same
# machine draws the same curves as closely as the framework allows.
DEFAULT_SEED = 0
# A run's logs take up to a few megabytes: a log disk with less room than this counts as full.
PROBE_BYTES = 1 << 20
# What each recorded setting must be, so a wrong one is caught where it is given or read.
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "profile": (str,),
    "epochs": (int,),
    "training_examples": (int,),
    "seed": (int,),
    "batch_size": (int,),
    "learning_rate": (int, float),
}
# What an Experiment records for every run it makes; the rest are the run's own settings.
EXPERIMENT_SETTINGS = ("profile", "epochs", "training_examples", "seed")
# The lock files of the runs this process holds, kept open: closing one releases its lock.
_held: dict[Path, IO[str]] = {}


def log_dir() -> Path:
    """``$DL101_LOG_DIR`` if set, else FloydHub's ``/output`` there, else ``logs/`` in the repository."""
    if os.environ.get(LOG_DIR_VARIABLE):
        return Path(os.environ[LOG_DIR_VARIABLE]).expanduser().resolve()
    return paths.floydhub_output_dir() or paths.REPO_ROOT / "logs"


def check_log_dir(folder: Path | None = None) -> Path:
    """The log directory, created if need be; a clear error if it is full or cannot be written to.

    Creating a file still works on a full disk, so the free space is asked too.
    """
    folder = folder or log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # leaves nothing, even if this process dies
        if shutil.disk_usage(folder).free < PROBE_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    except OSError as error:
        raise _cannot_write(folder, error) from None
    return folder


def _cannot_write(folder: Path, error: OSError) -> RuntimeError:
    """The error that says why logs cannot be written to ``folder`` (a full disk?) and what to do."""
    if error.errno == errno.ENOSPC:
        return RuntimeError(
            f"TensorBoard logs cannot be written to {folder}: its disk is full "
            f"({free_space(folder)}). Free some space, or set {LOG_DIR_VARIABLE} to a folder "
            "on another disk."
        )
    return RuntimeError(
        f"TensorBoard logs cannot be written to {folder} ({error.strerror or error}). "
        f"Set {LOG_DIR_VARIABLE} to a folder you can write to, for example "
        f"export {LOG_DIR_VARIABLE}=~/dl101-logs"
    )


def _setting(key: str) -> Any:
    """A property giving the run's setting ``key``, or ``None`` if the run was not given it."""
    return property(lambda run: run.settings.get(key))


@dataclass(frozen=True)
class Run:
    """One training run: its name, its log folder and its settings, also as attributes.

    A setting the run was not given is ``None``, except ``run.seed``: :data:`DEFAULT_SEED`.
    """

    name: str
    folder: Path
    settings: Mapping[str, Any] = field(default_factory=dict)

    epochs = _setting("epochs")
    batch_size = _setting("batch_size")
    learning_rate = _setting("learning_rate")
    training_examples = _setting("training_examples")
    profile = _setting("profile")
    # Dropout's share of neurons kept in training; None: the run has no dropout.
    keep_probability = _setting("keep_probability")

    @property
    def seed(self) -> int:
        seed = self.settings.get("seed")
        return DEFAULT_SEED if seed is None else seed

    @property
    def label(self) -> str:
        """The last part of the name, used in plots and tables: ``with_dropout``."""
        return self.name.rsplit("/", 1)[-1]

    @property
    def run_id(self) -> str:
        """What tflearn's ``fit(run_id=...)`` takes: the name, relative to the log directory."""
        return self.name

    @property
    def tensorboard_dir(self) -> str:
        """The log directory, ending in a separator: tflearn adds ``run_id`` to it as a string."""
        return os.path.join(self.folder.parents[self.name.count("/")], "")

    def check_not_trained_yet(self) -> None:
        """Refuse a second training into this run's folder: two trainings would read as one.

        tflearn appends to a folder's logs and a model trained again goes on from its weights, so
        re-running only the training cell would merge an abandoned attempt into the curves.
        """
        if any(path.name != SETTINGS_FILE for path in self.folder.iterdir()):
            raise RuntimeError(
                f"The run {self.name!r} has been trained already: its logs are in {self.folder}. "
                "Training it again would mix two trainings in one run. Re-run the cell that "
                "creates the run and builds the network (it sets this one aside), then this one."
            )


def _checked_name(name: str) -> str:
    """``name`` without ``.`` parts and doubled slashes; an error unless it names a folder inside.

    Setting an earlier run aside must only ever move that run: so a name is relative, is not
    ``""`` or ``"."``, never climbs out (``..``) and is not the folder of the locks.
    """
    parts = PurePosixPath(str(name).replace(os.sep, "/")).parts  # "." and "//" are dropped
    if (
        not isinstance(name, str)
        or PurePath(name).anchor
        or not parts
        or ".." in parts
        or parts[0] == LOCKS_FOLDER
    ):
        raise ValueError(
            f"A run name must be a relative path inside the log directory, such as "
            f"'experiment_1_dropout/with_dropout'; got {name!r}."
        )
    return "/".join(parts)


def _wrong_kind(settings: Mapping[str, Any]) -> str | None:
    """The first setting that is not of its kind, as ``seed='1' is not of type int``."""
    for key, types in SETTING_TYPES.items():
        value = settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            return f"{key}={value!r} is not of type {' or '.join(t.__name__ for t in types)}"
    return None


def _claim(base: Path, name: str) -> None:
    """Hold the run ``name`` for this process until it ends; an error naming the process holding it.

    A second kernel (a notebook open twice, or ``make run``) must not set aside a folder the first
    still writes into. An ``flock`` goes away with its process, even a crashed one, and taking it
    is the check, so two processes never both get a run. A run held inside ``name``'s folder
    blocks it too: setting ``name`` aside would move it. Windows has no ``flock``: no guard there.
    """
    if sys.platform == "win32":
        return
    locks = base / LOCKS_FOLDER
    locks.mkdir(exist_ok=True)
    own = locks / f"{quote(name, safe='')}.lock"
    inside = [path for path in locks.glob("*.lock") if unquote(path.name).startswith(name + "/")]
    for path in [*inside, own]:
        if path in _held:
            continue
        handle = open(path, "a+")  # noqa: SIM115  (this run's stays open: closing releases it)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RuntimeError(
                f"The run {name!r} in {base} is in use by {_holder(path)}: another notebook "
                "kernel or `make run` created it and has not ended, and may still be training it "
                "or reading its curves. Wait for it to finish or shut that kernel down, then run "
                "this again; or give this run another name."
            ) from None
        if path != own:
            handle.close()  # a run inside that no live process holds
            continue
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _held[own] = handle


def _holder(lock_file: Path) -> str:
    """``process <id>``, the live process named in ``lock_file``, if one is named within seconds.

    The holder writes its id just after taking the lock, over that of an earlier holder that may
    have ended since; on a busy machine that can take a while.
    """
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            holder = int(lock_file.read_text())
            os.kill(holder, 0)  # signal 0 only asks whether that process lives
            return f"process {holder}"
        time.sleep(0.01)
    return "another process"


def _set_aside_name(folder: Path) -> Path:
    """A free name for an old run folder (not empty), stamped with the time it was last written."""
    last_written = max(path.stat().st_mtime for path in folder.rglob("*"))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(last_written))
    candidate = folder.with_name(f"{folder.name}{PREVIOUS_RUN_MARKER}{stamp}")
    counter = 2
    while candidate.exists():
        candidate = folder.with_name(f"{folder.name}{PREVIOUS_RUN_MARKER}{stamp}-{counter}")
        counter += 1
    return candidate


def new_run(name: str, root: str | os.PathLike[str] | None = None, **settings: object) -> Run:
    """Reserve an empty folder ``name`` (``/`` groups runs) under the log directory for a new run.

    An earlier run of that name is renamed ``<name>.previous-<time it ended>``, and a line says
    so. ``settings`` are saved beside the logs as ``run_settings.json`` and returned on the run;
    a setting of ``None`` is left out, numpy numbers are saved as plain ones.
    """
    name = _checked_name(name)
    given = {key: value for key, value in settings.items() if value is not None}
    text = json.dumps(given, indent=2, default=lambda number: number.item()) + "\n"
    recorded = json.loads(text)  # the settings exactly as the run's file will give them back
    if problem := _wrong_kind(recorded):
        raise ValueError(f"The run setting {problem}.")
    base = check_log_dir(Path(root).expanduser().resolve() if root is not None else None)
    folder = base / name
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a run folder: give the run another name.")
    partial = folder / f".{SETTINGS_FILE}.partial"
    try:
        _claim(base, name)
        if folder.exists() and any(folder.iterdir()):
            kept = _set_aside_name(folder)
            folder.rename(kept)
            print(
                f"An earlier run named {name!r} was kept aside as {kept.name!r}; this run starts afresh."
            )
        folder.mkdir(parents=True, exist_ok=True)
        if recorded:  # whole or not at all: a full disk must not leave half a file behind
            partial.write_text(text)
            partial.replace(folder / SETTINGS_FILE)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _cannot_write(folder, error) from None
    return Run(name, folder, recorded)


def open_run(name: str, root: str | os.PathLike[str] | None = None) -> Run | None:
    """The run ``name`` as :func:`new_run` left it, or ``None``; damaged settings name their file."""
    name = _checked_name(name)
    folder = (Path(root).expanduser().resolve() if root is not None else log_dir()) / name
    path = folder / SETTINGS_FILE
    if not path.is_file():
        return Run(name, folder) if folder.is_dir() else None
    try:
        settings = json.loads(path.read_text())
        problem = (
            _wrong_kind(settings)
            if isinstance(settings, dict)
            else f"it holds a {type(settings).__name__}, not a table of settings"
        )
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
    """The runs of one notebook, in one group folder, each recording the experiment's settings too.

    ``epochs`` defaults to the profile's. ``runs`` lists the runs in the order made (a re-made run
    in place of its earlier self), for the plots and tables at the end of a notebook.
    """

    group: str
    profile: Profile | None = None
    training_examples: int | None = None
    epochs: int | None = None
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
