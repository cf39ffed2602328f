"""Run folders in use: a live process that created a run holds it until it ends.

Two kernels can train the same experiment at once (the same notebook open twice, or a notebook
and ``make run``). Without this, the second :func:`dl101.runs.new_run` would set the first
kernel's folder aside while that kernel still writes into it and reads its plots from it. So
the process that creates a run holds an operating-system lock (``flock``) on a small file named
after the run, in a hidden folder of the log directory (``.runs-in-use/``: the run folders stay
as tflearn wants them, and TensorBoard sees no extra files). The lock goes away by itself when
the process ends, even if it crashed, so a stale file never blocks anything. Windows has no
``flock``: there, runs are not guarded.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO
from urllib.parse import quote, unquote

if sys.platform != "win32":
    import fcntl

LOCKS_FOLDER = ".runs-in-use"
# The lock files this process holds: kept open, since closing one releases its lock.
_held: dict[Path, IO[str]] = {}


def claim(base: Path, name: str) -> int | None:
    """Hold the run ``name`` under ``base`` for this process, until it ends; ``None`` once held.

    Else the process id of the live process that holds that run, or a run inside its folder
    (setting ``name`` aside would move that one too); -1 if it has not written its id yet.
    Taking the lock is the check: two processes starting the same run at once never both get it.
    """
    if sys.platform == "win32":
        return None
    folder = base / LOCKS_FOLDER
    folder.mkdir(exist_ok=True)
    own = folder / f"{quote(name, safe='')}.lock"
    inside = [path for path in folder.glob("*.lock") if unquote(path.name).startswith(name + "/")]
    for path in [*inside, own]:
        if path in _held:
            continue
        handle = open(path, "a+")  # noqa: SIM115  (this run's stays open: closing releases it)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return _pid_in(path)
        if path == own:
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            _held[own] = handle
        else:
            handle.close()  # a run inside that no live process holds
    return None


def _pid_in(path: Path) -> int:
    # The holder writes its id just after taking the lock: give it a moment to do so.
    for _ in range(20):
        if (text := path.read_text().strip()).isdigit():
            return int(text)
        time.sleep(0.01)
    return -1
