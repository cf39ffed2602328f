"""Training runs: one shared log directory, a fresh folder per run, and the settings it trained with.

All notebooks write under the same directory, so a single ``tensorboard --logdir ...``
compares every experiment. A :class:`Run` is created before its model: the notebook states each
setting once (``experiment.new_run("with_dropout", batch_size=96, learning_rate=0.001)``), the
run records it beside its logs, and the model and ``fit`` read it back from the run
(``run.batch_size``). So the settings a table shows are, by construction, the ones that trained.

tflearn appends to whatever is already in a run's folder, so re-running a notebook would draw
the new curves on top of the old ones: :func:`new_run` moves an earlier run of the same name
aside first and says so. Writing and reading the recorded settings both live here.
"""

from __future__ import annotations

import contextlib
import errno
import json
import numbers
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dl101 import in_use, paths
from dl101.disk_space import free_space
from dl101.profiles import Profile

LOG_DIR_VARIABLE = "DL101_LOG_DIR"
PREVIOUS_RUN_MARKER = ".previous-"
SETTINGS_FILE = "run_settings.json"
# Every model is seeded with this unless a run says otherwise, so a notebook re-run on the same
# machine draws the same curves as closely as the framework allows.
DEFAULT_SEED = 0


def log_dir() -> Path:
    """``$DL101_LOG_DIR`` if set, else FloydHub's ``/output`` there, else ``logs/`` in the repository."""
    if os.environ.get(LOG_DIR_VARIABLE):
        return Path(os.environ[LOG_DIR_VARIABLE]).expanduser().resolve()
    return paths.floydhub_output_dir() or paths.REPO_ROOT / "logs"


# A run's logs take up to a few megabytes; the writability check writes this much, so that a
# full disk fails it (creating an empty file still works on a full disk).
PROBE_BYTES = 1 << 20


def check_log_dir(folder: Path | None = None) -> Path:
    """The log directory, created if need be; a clear error when it cannot be written to.

    Creating an empty file still works on a full disk, so the free space is asked too: less
    than PROBE_BYTES, about what one run's logs need, counts as full.
    """
    folder = folder or log_dir()
    probe = folder / f".write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch()
        if shutil.disk_usage(folder).free < PROBE_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise RuntimeError(
                f"TensorBoard logs cannot be written to {folder}: its disk is full "
                f"({free_space(folder)}). Free some space, or set {LOG_DIR_VARIABLE} to a folder "
                "on another disk."
            ) from None
        raise RuntimeError(
            f"TensorBoard logs cannot be written to {folder} ({error.strerror or error}). "
            f"Set {LOG_DIR_VARIABLE} to a folder you can write to, for example "
            f"export {LOG_DIR_VARIABLE}=~/dl101-logs"
        ) from None
    finally:
        with contextlib.suppress(OSError):  # nothing to remove where the folder is a file
            probe.unlink()
    return folder


@dataclass(frozen=True)
class Run:
    """One training run: its name, its log folder and the settings it was created with.

    The settings are readable as attributes (``run.epochs``, ``run.batch_size``,
    ``run.learning_rate``, ``run.training_examples``, ``run.seed``, ``run.profile``,
    ``run.keep_probability``); a setting the run was not given is ``None``.
    """

    name: str
    folder: Path
    settings: Mapping[str, object] = field(default_factory=dict)

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
        """What ``tflearn.DNN(tensorboard_dir=...)`` takes: the log directory, ending in a separator.

        tflearn joins ``tensorboard_dir`` and ``run_id`` by plain string concatenation.
        """
        root = str(self.folder)[: -len(self.name)]
        return root if root.endswith(os.sep) else root + os.sep

    def _setting(self, key: str) -> Any:
        return self.settings.get(key)

    @property
    def epochs(self) -> int:
        return self._setting("epochs")

    @property
    def batch_size(self) -> int:
        return self._setting("batch_size")

    @property
    def learning_rate(self) -> float:
        return self._setting("learning_rate")

    @property
    def training_examples(self) -> int:
        return self._setting("training_examples")

    @property
    def profile(self) -> str | None:
        return self._setting("profile")

    @property
    def keep_probability(self) -> float | None:
        """Dropout's share of neurons kept in training; ``None``: the run has no dropout."""
        return self._setting("keep_probability")

    @property
    def seed(self) -> int:
        seed = self._setting("seed")
        return DEFAULT_SEED if seed is None else int(seed)

    def check_not_trained_yet(self) -> None:
        """Refuse a second training into this run's folder: two trainings would read as one.

        tflearn appends to a folder's logs, and a model trained again goes on from the weights
        it ended with, so re-running only the training cell would merge an abandoned attempt
        into the run's curves. A new run (the cell that calls ``new_run``) starts afresh.
        """
        logged = [path for path in self.folder.iterdir() if path.name != SETTINGS_FILE]
        if logged:
            raise RuntimeError(
                f"The run {self.name!r} has been trained already: its logs are in {self.folder}. "
                "Training it again would mix two trainings in one run. Re-run the cell that "
                "creates the run and builds the network (it sets this one aside), then this one."
            )


def _set_aside_name(folder: Path) -> Path:
    """A free name for an old run folder, stamped with the time it was last written."""
    last_written = max(
        (p.stat().st_mtime for p in folder.rglob("*")), default=folder.stat().st_mtime
    )
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(last_written))
    candidate = folder.with_name(f"{folder.name}{PREVIOUS_RUN_MARKER}{stamp}")
    counter = 2
    while candidate.exists():
        candidate = folder.with_name(f"{folder.name}{PREVIOUS_RUN_MARKER}{stamp}-{counter}")
        counter += 1
    return candidate


def _checked_name(name: str) -> str:
    """``name`` with ``.`` parts and doubled slashes removed; an error if it leaves its folder.

    A run must stay inside the log directory, and setting an earlier run aside must only ever
    move that run: so a name is relative, names something (not ``""`` or ``"."``) and never
    climbs out (``..``).
    """
    parts = [part for part in PurePosixPath(str(name).replace(os.sep, "/")).parts if part != "."]
    if parts and parts[0] == in_use.LOCKS_FOLDER:
        parts = []  # the locks' own folder is no run
    if (
        not isinstance(name, str)
        or str(name).startswith(("/", os.sep))
        or not parts
        or ".." in parts
    ):
        raise ValueError(
            f"A run name must be a relative path inside the log directory, such as "
            f"'experiment_1_dropout/with_dropout'; got {name!r}."
        )
    return "/".join(parts)


def new_run(name: str, root: str | os.PathLike[str] | None = None, **settings: object) -> Run:
    """Reserve an empty folder ``name`` under the log directory for a new training run.

    ``name`` may contain ``/`` to group runs, e.g. ``"experiment_1_dropout/with_dropout"``,
    which TensorBoard shows as one run with that name. If an earlier run of that name is there,
    it is renamed to ``<name>.previous-<time it ended>`` (still visible, never mixed in) and a
    line says so. ``settings`` (``epochs``, ``batch_size``, ``learning_rate``, ...) are saved
    beside the logs as ``run_settings.json`` and returned on the run, so the model can take
    them from there; a setting of ``None`` is left out.
    """
    base = Path(root).expanduser().resolve() if root is not None else log_dir()
    return _create_run(base, name, settings)


def _create_run(base: Path, name: str, settings: Mapping[str, object]) -> Run:
    name = _checked_name(name)
    recorded = _checked_settings(settings)
    check_log_dir(base)
    folder = base / name
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a run folder: give the run another name.")
    try:
        process = in_use.claim(base, name)
        if process is None:
            process = in_use.holder_within(base, name)
            if process is not None:
                in_use.release(base, name)
    except OSError as error:
        raise RuntimeError(
            f"The run {name!r} cannot be started in {base} ({error.strerror or error}; "
            f"{free_space(base)}). Free some space or set {LOG_DIR_VARIABLE} to another folder."
        ) from None
    if process is not None:
        raise RuntimeError(
            f"The run {name!r} in {base} is in use by "
            + (f"process {process}" if process > 0 else "another process")
            + ": another notebook kernel or `make run` created it and has not ended, and may "
            "still be training it or reading its curves. Wait for it to finish or shut that "
            "kernel down, then run this again; or give this run another name."
        )
    if folder.exists() and any(folder.iterdir()):
        kept = _set_aside_name(folder)
        folder.rename(kept)
        print(
            f"An earlier run named {name!r} was kept aside as {kept.name!r}; this run starts afresh."
        )
    folder.mkdir(parents=True, exist_ok=True)
    if recorded:
        _write_settings(folder / SETTINGS_FILE, recorded)
    return Run(name, folder, recorded)


def _checked_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """The settings to record: ``None`` left out, numpy numbers made plain, types checked.

    A setting of the wrong kind is refused here, where it is given, rather than recorded and
    then refused as damaged each time the run is read back.
    """
    recorded: dict[str, object] = {}
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
        types = SETTING_TYPES.get(key)
        if types and (isinstance(value, bool) or not isinstance(value, types)):
            kinds = " or ".join(t.__name__ for t in types)
            raise ValueError(f"The run setting {key}={value!r} must be a {kinds}.")
        recorded[key] = value
    return recorded


def _write_settings(path: Path, settings: Mapping[str, object]) -> None:
    """Write the settings whole or not at all: a full disk must not leave half a file behind."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(settings, indent=2) + "\n")
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RuntimeError(
            f"The run's settings cannot be written to {path} ({error.strerror or error}; "
            f"{free_space(path.parent)}). Free some space, or set {LOG_DIR_VARIABLE} to a folder "
            "on another disk, then run this again."
        ) from None


# What each recorded setting must be, so a damaged file is caught where it is read.
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "profile": (str,),
    "epochs": (int,),
    "training_examples": (int,),
    "seed": (int,),
    "batch_size": (int,),
    "learning_rate": (int, float),
}


def read_settings(path: Path) -> dict[str, Any]:
    """The settings a run recorded; one clear error naming the file when it is damaged."""
    problem = None
    try:
        settings = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        settings, problem = None, f"it is not readable JSON ({error})"
    if problem is None and not isinstance(settings, dict):
        problem = f"it holds a {type(settings).__name__}, not a table of settings"
    if problem is None:
        assert isinstance(settings, dict)
        for key, types in SETTING_TYPES.items():
            value = settings.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
                problem = (
                    f"its {key!r} is {value!r}, not a {' or '.join(t.__name__ for t in types)}"
                )
                break
    if problem is not None:
        raise ValueError(
            f"The run settings in {path} are damaged: {problem}. They are written when a run is "
            "created: train that run again (its folder is then set aside, nothing is lost)."
        )
    return settings  # type: ignore[return-value]


def open_run(name: str, root: str | os.PathLike[str] | None = None) -> Run | None:
    """The run ``name`` as an earlier :func:`new_run` left it, or ``None`` if there is none."""
    name = _checked_name(name)
    base = Path(root).expanduser().resolve() if root is not None else log_dir()
    folder = base / name
    if not folder.is_dir():
        return None
    settings_file = folder / SETTINGS_FILE
    settings = read_settings(settings_file) if settings_file.is_file() else {}
    return Run(name, folder, settings)


# What an Experiment records for every run it makes; the rest are the run's own settings.
EXPERIMENT_SETTINGS = ("profile", "epochs", "training_examples", "seed")


@dataclass
class Experiment:
    """The runs of one notebook: one group folder, one profile and one training set.

    ``experiment.new_run(name, batch_size=..., learning_rate=...)`` adds the profile, its
    epochs (unless ``epochs`` is given), the number of training examples and the seed to what
    the run records; what the experiment was not given is not recorded. ``runs``
    lists this experiment's runs in the order they were made (a re-made run replaces its
    earlier self), for the plots and tables at the end of a notebook.
    """

    group: str
    profile: Profile | None = None
    training_examples: int | None = None
    epochs: int | None = None
    seed: int = DEFAULT_SEED
    runs: list[Run] = field(default_factory=list)

    def new_run(self, name: str, **settings: object) -> Run:
        _checked_name(name)  # a run of this experiment, never the experiment's own folder
        epochs = self.epochs
        if epochs is None and self.profile is not None:
            epochs = self.profile.epochs
        shared = (self.profile.name if self.profile else None, epochs, self.training_examples)
        recorded = {**dict(zip(EXPERIMENT_SETTINGS, (*shared, self.seed), strict=True)), **settings}
        run = _create_run(log_dir(), f"{self.group}/{name}", recorded)
        self.runs = [earlier for earlier in self.runs if earlier.name != run.name] + [run]
        return run
