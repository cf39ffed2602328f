"""Refuse, before installing anything, a Python the project cannot run on safely.

``make`` runs this file with the interpreter it is about to build ``.venv`` from, before any
library is installed, so it uses nothing but the standard library.
"""

from __future__ import annotations

import sys

OLDEST = (3, 11, 5)  # soupsieve 4.1.2 (pinned) needs it; 3.11.4 brought tarfile's safe filters
NEWEST_MINOR = (3, 13)  # TensorFlow 2.20 and the pinned numpy


def problem(version: tuple[int, ...]) -> str | None:
    """Why ``version`` cannot run the project, or ``None`` when it can."""
    shown = ".".join(map(str, version[:3]))
    if tuple(version[:3]) < OLDEST:
        return (
            f"Python {shown} is too old: 3.11.5 or newer is needed (a pinned library, "
            "soupsieve, needs it). Install a newer Python and run make with PYTHON=/path/to/python3."
        )
    if tuple(version[:2]) > NEWEST_MINOR:
        return (
            f"Python {shown} is too new for TensorFlow 2.20: use 3.11 to 3.13, for example "
            "make PYTHON=python3.11."
        )
    return None


if __name__ == "__main__":
    sys.exit(problem(sys.version_info[:3]))
