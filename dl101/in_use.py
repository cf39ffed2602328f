"""Run folders in use: a live process that created a run holds it until it ends.

Two kernels can train the same experiment at once (the same notebook open twice, or a notebook
and ``make run``). Without this, the second :func:`dl101.runs.new_run` would set the first
kernel's folder aside while that kernel still writes into it and reads its plots from it. So
the process that creates a run holds a lock on a small file named after the run, in a hidden
folder of the log directory (``.runs-in-use/``: the run folders themselves stay as tflearn
wants them, and TensorBoard sees no extra files), for as long as the process lives. Another
process that finds the lock held refuses to take the run over and names the holder. The lock is
the operating system's (``flock``): it goes away by itself when the process ends, even if it
crashed, so a stale file never blocks anything. On Windows, which has no ``flock``, runs are
not guarded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO
from urllib.parse import quote, unquote

LOCKS_FOLDER = ".runs-in-use"
# The lock files this process holds: kept open, since closing one releases its lock.
_held: dict[Path, IO[str]] = {}


def _lock_file(base: Path, name: str) -> Path:
    return base / LOCKS_FOLDER / f"{quote(name, safe='')}.lock"


def claim(base: Path, name: str) -> int | None:
    """Hold the run ``name`` under ``base`` for this process, until it ends or sets it aside.

    Taking the lock is the check: two processes that start the same run at the same moment
    cannot both get it. Returns None when this process holds the run, else the process id of
    the live process that does (-1 if it has not written it yet).
    """
    try:
        import fcntl
    except ImportError:
        return None
    path = _lock_file(base, name)
    if path in _held:
        return None
    path.parent.mkdir(exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115  (held open on purpose: closing releases the lock)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return _pid_in(path)
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[path] = handle
    return None


def _pid_in(path: Path) -> int:
    # The holder writes its id just after taking the lock: give it a moment to do so.
    for _ in range(20):
        text = path.read_text().strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return -1


def _locks_within(base: Path, name: str) -> list[Path]:
    """The lock files of the run ``name`` and of every run inside its folder."""
    folder = base / LOCKS_FOLDER
    if not folder.is_dir():
        return []
    return [
        path
        for path in folder.glob("*.lock")
        if (run := unquote(path.name.removesuffix(".lock"))) == name or run.startswith(name + "/")
    ]


def release(base: Path, name: str) -> None:
    """Let go of the run ``name`` (this process is setting it aside, or gave up starting it)."""
    path = _lock_file(base, name)
    if path in _held:
        _held.pop(path).close()


def holder_within(base: Path, name: str) -> int | None:
    """The process id of another live process holding a run inside the folder ``name``, if any.

    The run ``name`` itself is not asked about: :func:`claim` takes it or names its holder.
    """
    try:
        import fcntl
    except ImportError:
        return None
    own = _lock_file(base, name)
    for path in _locks_within(base, name):
        if path == own or path in _held:
            continue
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return _pid_in(path)
            fcntl.flock(handle, fcntl.LOCK_UN)
    return None
