"""Make a hosted Jupyter (Colab, Kaggle) ready for these notebooks; each notebook's first cell runs it.

The first cell clones the repository and runs this file inside the notebook's kernel
(``runpy.run_path``), before anything imports dl101, so it uses only the standard library. It installs what the host
lacks, pinned as in requirements.txt and, for what that pulls in (six, nbformat), constraints.txt,
and keeps the host's TensorFlow when this project supports
it: a second TensorFlow takes minutes to install and can break the host's GPU set-up. Then it
makes the clone the working folder, so a notebook finds dl101, data/ and logs/ as it does on a
learner's own machine.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# TensorFlow versions this project is tested with (README, "What you need").
SUPPORTED_TENSORFLOW = ("2.19", "2.20")

# What the notebooks import, and the package that provides it. Hosts ship most of them.
NEEDED = {
    "tflearn": "tflearn",
    "six": "six",  # tflearn's, installed without its other dependencies (numpy, Pillow)
    "keras": "keras",
    "tensorboard": "tensorboard",
    "scipy": "scipy",
    "cv2": "opencv-python-headless",
    "PIL": "pillow",
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
    "nbformat": "nbformat",
}


def pinned_versions(*requirements: Path) -> dict[str, str]:
    """``{package: version}`` from the ``name==version`` lines of requirements files, a later file winning."""
    pins = {}
    for path in requirements:
        for line in path.read_text().splitlines():
            name, equals, version = line.split("#")[0].strip().partition("==")
            if equals:
                pins[name.strip().lower()] = version.strip()
    return pins


def tensorflow_supported(installed: str | None) -> bool:
    return installed is not None and installed.rsplit(".", 1)[0] in SUPPORTED_TENSORFLOW


def installations(
    tensorflow: str | None,
    importable: Callable[[str], bool],
    pins: Mapping[str, str],
) -> list[list[str]]:
    """The ``pip install`` arguments this host needs, one list per call (nothing: ``[]``).

    ``tensorflow`` is the host's TensorFlow version (``None``: none); ``importable`` says whether
    a module can be imported. tflearn goes in without its dependencies, so that it cannot
    replace the host's numpy.
    """
    calls = []
    if not tensorflow_supported(tensorflow):
        calls.append([f"tensorflow=={pins['tensorflow']}"])
    missing = [package for module, package in NEEDED.items() if not importable(module)]
    if "tflearn" in missing:
        calls.append(["--no-deps", f"tflearn=={pins['tflearn']}"])
    others = [f"{package}=={pins[package]}" for package in missing if package != "tflearn"]
    if others:
        calls.append(others)
    return calls


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _host_tensorflow() -> str | None:
    try:
        return importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    tensorflow = _host_tensorflow()
    calls = installations(
        tensorflow,
        _importable,
        pinned_versions(REPO / "constraints.txt", REPO / "requirements.txt"),
    )
    for arguments in calls:
        command = [sys.executable, "-m", "pip", "install", "--quiet", *arguments]
        pip = subprocess.run(command, capture_output=True, text=True)
        if pip.returncode != 0:
            raise RuntimeError(
                f"Could not install {' '.join(arguments)}; pip said:\n{pip.stderr.strip()}\n"
                "Check the host's internet access, then run this cell again."
            )
    importlib.invalidate_caches()
    installed = [argument for arguments in calls for argument in arguments if "==" in argument]
    kept = (
        "" if not tensorflow_supported(tensorflow) else f"; kept the host's TensorFlow {tensorflow}"
    )
    print(f"Set up {REPO.name} in {REPO}: installed {', '.join(installed) or 'nothing'}{kept}.")
    if calls and any(arguments[0].startswith("tensorflow") for arguments in calls):
        print("TensorFlow was installed: restart the session (Runtime > Restart session) once.")
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if shutil.which("nvidia-smi") is None:
        print("No GPU here: choose a GPU runtime for the `full` profile (see docs/gpu.md).")


if __name__ == "__main__":
    main()
