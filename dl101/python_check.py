"""Refuse a Python the project cannot run on, naming the range it supports.

The range is written once, as ``requires-python`` in ``pyproject.toml``. ``make`` runs this file
with the interpreter it is about to build ``.venv`` from, before any library is installed, and
perhaps with a Python too old for ``tomllib``: so it reads that one line with the standard
library alone. Each notebook's first check (:func:`dl101.notebook.check_setup`) asks it too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def supported_range(pyproject: Path = PYPROJECT) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(oldest supported, first unsupported) versions, from ``requires-python = ">=A,<B"``."""
    match = re.search(r'^requires-python = ">=([\d.]+),<([\d.]+)"', pyproject.read_text(), re.M)
    if match is None:
        raise ValueError(f'{pyproject} has no line requires-python = ">=A,<B".')
    oldest, too_new = (tuple(int(part) for part in bound.split(".")) for bound in match.groups())
    return oldest, too_new


def problem(version: tuple[int, ...]) -> str | None:
    """Why ``version`` cannot run the project, or ``None`` when it can."""
    oldest, too_new = supported_range()
    shown, oldest_shown = ".".join(map(str, version[:3])), ".".join(map(str, oldest))
    supported = f"{oldest_shown} up to (not including) {'.'.join(map(str, too_new))}"
    if tuple(version[: len(oldest)]) < oldest:
        return (
            f"Python {shown} is too old: this project supports {supported}. Install a newer "
            "Python (for make: make PYTHON=/path/to/python3), or choose another kernel."
        )
    if tuple(version[: len(too_new)]) >= too_new:
        return (
            f"Python {shown} is too new for the pinned TensorFlow: this project supports "
            f"{supported}, for example make PYTHON=python3.11."
        )
    return None


if __name__ == "__main__":
    sys.exit(problem(sys.version_info[:3]))
