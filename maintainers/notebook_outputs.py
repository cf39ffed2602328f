"""Notebooks committed with the outputs of a real run, and proof that they belong to the code.

``python -m maintainers.run_notebooks --in-place`` (``make outputs``) runs each notebook and writes it
back with its outputs. Before it is written, :func:`clean` removes what is particular to the
machine that ran it (absolute paths, the user's home folder, the timings papermill adds to every
cell), and :func:`stamp` records in the notebook's metadata what produced the outputs: the
profile, the library versions, the date, the processor (and whether TensorFlow used its oneDNN
kernels), and a hash of the code cells. A test then fails as soon as a notebook's code no longer
matches the outputs committed with it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from dl101.paths import REPO_ROOT
from dl101.tensorflow_settings import onednn_in_new_process

METADATA_KEY = "dl101"
LIBRARIES = ("tensorflow", "tflearn", "keras", "numpy")


def code_hash(notebook: Any) -> str:
    """A hash of the code cells' sources, in order: what the outputs were produced from."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.strip().encode() + b"\0")
    return digest.hexdigest()


def processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    """The versions of Python and of the libraries that shape a run's numbers."""
    found = {"python": platform.python_version()}
    for library in LIBRARIES:
        with contextlib.suppress(PackageNotFoundError):
            found[library] = version(library)
    return found


def stamp(notebook: Any, profile: str, seconds: float) -> None:
    """Record in ``notebook``'s metadata what produced its outputs, and how long it took."""
    notebook.metadata[METADATA_KEY] = {
        "profile": profile,
        "wall_time_seconds": round(seconds),
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "processor": processor(),
            "cores": os.cpu_count(),
            "onednn": kernels_use_onednn(),
        },
        "code_sha256": code_hash(notebook),
    }


@functools.cache
def kernels_use_onednn() -> bool:
    """Whether TensorFlow in the notebook kernels this process starts runs its oneDNN kernels.

    A kernel inherits this process's environment, where ``import dl101`` has made its setting.
    """
    return onednn_in_new_process(os.environ)


def machine_text(stamp: dict[str, Any]) -> str:
    """Where a stamped run ran, as the README and the archive write it.

    ``AMD EPYC, 2 cores, oneDNN on``: on a CPU, whether TensorFlow used its oneDNN kernels
    changes how long training takes. Runs stamped before the stamp recorded it name only the
    processor and its cores.
    """
    machine = stamp["machine"]
    text = f"{machine['processor']}, {machine['cores']} cores"
    if "onednn" in machine:
        text += f", oneDNN {'on' if machine['onednn'] else 'off'}"
    return text


def machine_paths(log_dir: Path, log_dir_shown_as: str = "logs") -> dict[str, str]:
    """What to write instead of each absolute path an output may hold, longest first."""
    replacements = {
        f"{log_dir}{os.sep}": f"{log_dir_shown_as}/",
        str(log_dir): log_dir_shown_as,
        f"{REPO_ROOT}{os.sep}": "",
        str(REPO_ROOT): ".",
        str(Path(sys.prefix)): ".venv",
        str(Path.home()): "~",
    }
    return dict(sorted(replacements.items(), key=lambda item: -len(item[0])))


def _replace(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def clean(notebook: Any, log_dir: Path, log_dir_shown_as: str = "logs") -> None:
    """Remove what is particular to this machine and this run from ``notebook``'s outputs.

    The log directory the run used is written as ``log_dir_shown_as``.
    """
    replacements = machine_paths(log_dir, log_dir_shown_as)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = _replace(output.text, replacements)
            for mime, content in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(content, str):
                    output.data[mime] = _replace(content, replacements)
