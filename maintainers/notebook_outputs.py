"""Committed outputs: :func:`clean` removes this machine's paths and papermill's timings;
:func:`stamp` records what produced them, with a hash of the code cells that a test compares."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from dl101.paths import REPO_ROOT

METADATA_KEY = "dl101"


def code_hash(notebook: Any) -> str:
    """A hash of the code cells' sources, in order: what the outputs were produced from."""
    code = "".join(
        cell.source.strip() + "\0" for cell in notebook.cells if cell.cell_type == "code"
    )
    return hashlib.sha256(code.encode()).hexdigest()


def processor() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    """The versions of Python and of the libraries that shape a run's numbers."""
    found = {"python": platform.python_version()}
    for library in ("tensorflow", "tflearn", "keras", "numpy"):
        with contextlib.suppress(PackageNotFoundError):  # a notebook's run may not need it
            found[library] = version(library)
    return found


def onednn_in_use() -> bool:
    """Whether the TensorFlow loaded in this process runs its oneDNN kernels (imports it)."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def onednn_in_new_process(environment: Mapping[str, str]) -> bool:
    """Whether TensorFlow runs oneDNN in a new process with ``environment`` (which alone decides:
    the probe does not import dl101), without loading TensorFlow's half a gigabyte here."""
    probe = "from tensorflow.python.util import _pywrap_util_port as p; print(p.IsMklEnabled())"
    result = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    # TensorFlow may print before the answer, on any stream.
    return result.stdout.strip().splitlines()[-1] == "True"


@functools.cache
def kernels_use_onednn() -> bool:
    """Whether TensorFlow runs oneDNN in the kernels this process starts."""
    return onednn_in_new_process(os.environ)


def stamp(notebook: Any, profile: str, seconds: float) -> None:
    """Record in ``notebook``'s metadata what produced its outputs, and how long it took."""
    machine = {"processor": processor(), "cores": os.cpu_count(), "onednn": kernels_use_onednn()}
    notebook.metadata[METADATA_KEY] = {
        "profile": profile,
        "wall_time_seconds": round(seconds),
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine,
        "code_sha256": code_hash(notebook),
    }


def machine_text(stamp: dict[str, Any]) -> str:
    """``AMD EPYC, 2 cores, oneDNN on`` (oneDNN changes CPU training time; old stamps lack it)."""
    machine = stamp["machine"]
    onednn = f", oneDNN {'on' if machine['onednn'] else 'off'}" if "onednn" in machine else ""
    return f"{machine['processor']}, {machine['cores']} cores{onednn}"


def clean(notebook: Any, log_dir: Path, log_dir_shown_as: str = "logs") -> None:
    """Remove this machine's paths and papermill's timings; the run's logs are ``log_dir_shown_as``."""
    replacements = {  # replaced longest first
        f"{log_dir}{os.sep}": f"{log_dir_shown_as}/",
        str(log_dir): log_dir_shown_as,
        f"{REPO_ROOT}{os.sep}": "",
        str(REPO_ROOT): ".",
        str(Path(sys.prefix)): ".venv",
        str(Path.home()): "~",
    }

    def replaced(text: str) -> str:
        for old in sorted(replacements, key=len, reverse=True):
            text = text.replace(old, replacements[old])
        return text

    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = replaced(output.text)
            for mime, content in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(content, str):
                    output.data[mime] = replaced(content)
