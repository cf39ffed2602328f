"""What every notebook does first and last: check its set-up, choose a profile, name TensorBoard."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

from dl101 import python_check
from dl101.paths import REPO_ROOT
from dl101.profiles import Profile, announcement, choose_profile
from dl101.runs import log_dir


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when it is inside it: what a notebook prints."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def let_magics_find_tensorboard() -> None:
    """Put the kernel's own ``tensorboard`` program first on ``PATH``, where ``%tensorboard`` looks.

    Jupyter started as ``.venv/bin/jupyter lab``, without activating the environment, gives its
    kernels a ``PATH`` without ``.venv/bin``, so the magic could not start TensorBoard.
    """
    folder = os.path.dirname(sys.executable)
    if shutil.which("tensorboard", path=folder) is None:
        return  # a host whose TensorBoard is elsewhere: leave PATH as it is
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != folder:
        os.environ["PATH"] = os.pathsep.join([folder, path]) if path else folder


def check_setup() -> None:
    """Check Python and print the versions of the libraries and where TensorBoard logs go."""
    if problem := python_check.problem(sys.version_info[:3]):
        raise RuntimeError(problem)
    framework = ("tflearn", version("tflearn")) if "tflearn" in sys.modules else None
    if framework is None:
        framework = ("Keras", version("keras"))
    print(f"TensorFlow {version('tensorflow')} | {framework[0]} {framework[1]}")
    print(f"TensorBoard logs go to {shown_path(log_dir())}")
    let_magics_find_tensorboard()


def prepare_notebook(profile_name: str | None = None, dataset: str = "cifar10") -> Profile:
    """:func:`check_setup`, then choose and announce the run profile.

    ``profile_name`` is the notebook's parameter (``None`` chooses automatically); ``dataset``
    (``"cifar10"`` or ``"mnist"``) says which of the profile's sizes the notebook uses.
    """
    check_setup()
    profile = choose_profile(profile_name)
    print(announcement(profile, dataset))
    return profile


def tensorboard_command(group: str | None = None) -> str:
    """The command that starts TensorBoard on the shared log folder (or one group of runs in it)."""
    folder = log_dir() / group if group else log_dir()
    return f"tensorboard --logdir {shlex.quote(shown_path(folder))}"
