"""One TensorBoard log directory for every notebook, and a fresh folder for every run.

All notebooks write under the same directory, so a single ``tensorboard --logdir ...``
compares every experiment. tflearn appends to whatever is already in a run's folder, so
re-running a notebook would draw the new curves on top of the old ones; :func:`new_run`
moves an earlier run of the same name aside first and says so.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dl101 import paths

LOG_DIR_VARIABLE = "DL101_LOG_DIR"
PREVIOUS_RUN_MARKER = ".previous-"


def log_dir() -> Path:
    """``$DL101_LOG_DIR`` if set, else FloydHub's ``/output`` there, else ``logs/`` in the repository."""
    if os.environ.get(LOG_DIR_VARIABLE):
        return Path(os.environ[LOG_DIR_VARIABLE]).expanduser().resolve()
    return paths.floydhub_output_dir() or paths.REPO_ROOT / "logs"


@dataclass(frozen=True)
class Run:
    """Where one training run writes: pass ``log_dir`` and ``run_id`` to tflearn."""

    log_dir: str
    run_id: str

    @property
    def path(self) -> Path:
        return Path(self.log_dir) / self.run_id


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


SETTINGS_FILE = "run_settings.json"


def new_run(
    name: str,
    root: str | os.PathLike[str] | None = None,
    settings: Mapping[str, object] | None = None,
) -> Run:
    """Reserve an empty folder ``name`` under the log directory for a new training run.

    ``name`` may contain ``/`` to group runs, e.g. ``"experiment_1/with_dropout"``, which
    TensorBoard shows as one run with that name. If an earlier run of that name is there, it
    is renamed to ``<name>.previous-<time it ended>`` (still visible, never mixed in) and a
    line says so. ``settings`` (epochs, batch size, ...) are saved beside the logs as
    ``run_settings.json``, so every table made from the run can say what produced it.
    """
    if not name or name.startswith("/") or ".." in Path(name).parts:
        raise ValueError(
            f"A run name must be a relative path inside the log directory, got {name!r}."
        )
    base = Path(root).expanduser().resolve() if root is not None else log_dir()
    folder = base / name
    if folder.exists() and any(folder.iterdir()):
        kept = _set_aside_name(folder)
        folder.rename(kept)
        print(
            f"An earlier run named {name!r} was kept aside as {kept.name!r}; this run starts afresh."
        )
    folder.mkdir(parents=True, exist_ok=True)
    if settings:
        (folder / SETTINGS_FILE).write_text(json.dumps(dict(settings), indent=2) + "\n")
    # tflearn joins tensorboard_dir and run_id by plain string concatenation.
    return Run(log_dir=f"{base}{os.sep}", run_id=name)
