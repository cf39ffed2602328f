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
from dl101.profiles import PROFILE_VARIABLE, Profile, choose_profile
from dl101.runs import log_dir


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when it is inside it: what a notebook prints."""
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


def check_setup() -> None:
    """Check Python, print versions and the log folder; .venv/bin first on PATH for %tensorboard."""
    if problem := python_check.problem(sys.version_info[:3]):
        raise RuntimeError(problem)
    framework = "tflearn" if "tflearn" in sys.modules else "Keras"
    print(f"TensorFlow {version('tensorflow')} | {framework} {version(framework)}")
    print(f"TensorBoard logs go to {shown_path(log_dir())}")
    folder, path = os.path.dirname(sys.executable), os.environ.get("PATH", "")
    if shutil.which("tensorboard", path=folder) and path.split(os.pathsep)[0] != folder:
        os.environ["PATH"] = os.pathsep.join([folder, path]) if path else folder


def prepare_notebook(profile_name: str | None = None, dataset: str = "cifar10") -> Profile:
    """:func:`check_setup`, then choose the run profile and say what it means for ``dataset``."""
    check_setup()
    profile = choose_profile(profile_name)
    summary = profile.mnist_summary if dataset == "mnist" else profile.summary
    print(f"Run profile: {profile.name} ({summary}).")
    print(
        f"To change it, set {PROFILE_VARIABLE} to full, cpu or smoke before starting Jupyter, "
        "or set `profile_name` in the notebook's parameters cell and re-run."
    )
    return profile


def tensorboard_command(group: str | None = None) -> str:
    """The command that starts TensorBoard on the shared log folder (or one group of runs in it)."""
    return f"tensorboard --logdir {shlex.quote(shown_path(log_dir() / (group or '')))}"
