"""Refuse a Python the project cannot run on, naming the range ``requires-python`` in pyproject.toml
gives. ``make`` runs it before ``.venv`` exists, on a Python perhaps too old for ``tomllib``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def problem(version: tuple[int, ...]) -> str | None:
    """Why ``version`` cannot run the project, or ``None`` when it can."""
    found = re.search(r'^requires-python = ">=([\d.]+),<([\d.]+)"', PYPROJECT.read_text(), re.M)
    if found is None:
        raise ValueError(f'{PYPROJECT} has no line requires-python = ">=A,<B".')
    oldest, too_new = found.groups()
    shown = ".".join(map(str, version[:3]))
    supported = f"this project supports {oldest} up to (not including) {too_new}"
    if version < tuple(map(int, oldest.split("."))):
        return (
            f"Python {shown} is too old: {supported}. Install a newer "
            "Python (for make: make PYTHON=/path/to/python3), or choose another kernel."
        )
    if version >= tuple(map(int, too_new.split("."))):
        return f"Python {shown} is too new for the pinned TensorFlow: {supported}."
    return None


if __name__ == "__main__":
    sys.exit(problem(sys.version_info[:3]))
