"""Make Colab or Kaggle ready for these notebooks: each notebook's first cell runs this file, before
dl101 can be imported, so it uses only the standard library. It installs what the host lacks, as
pinned, keeps a supported TensorFlow (a second one takes minutes and can break the host's GPU
set-up), and makes the clone the working folder, where a notebook finds dl101, data/ and logs/.
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
SUPPORTED_TENSORFLOW = ("2.19", "2.20")  # as tested (README, "What you need")
# What the notebooks import, and the package that provides it. Hosts ship most of them. six is
# tflearn's, which goes in without its other dependencies (numpy, Pillow).
NEEDED = {
    "tflearn": "tflearn", "six": "six", "keras": "keras", "tensorboard": "tensorboard",
    "scipy": "scipy", "cv2": "opencv-python-headless", "PIL": "pillow",
    "matplotlib": "matplotlib", "tqdm": "tqdm", "nbformat": "nbformat",
}  # fmt: skip


def pinned_versions(*requirements: Path) -> dict[str, str]:
    """``{package: version}`` from requirements files' ``name==version`` lines, the last file winning."""
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
    tensorflow: str | None, importable: Callable[[str], bool], pins: Mapping[str, str]
) -> list[list[str]]:
    """One ``pip install`` argument list per call, for a host with ``tensorflow`` (or ``None``) where
    ``importable`` says which modules import; tflearn's cannot replace numpy."""
    calls = [] if tensorflow_supported(tensorflow) else [[f"tensorflow=={pins['tensorflow']}"]]
    missing = [package for module, package in NEEDED.items() if not importable(module)]
    if "tflearn" in missing:
        calls.append(["--no-deps", f"tflearn=={pins['tflearn']}"])
    if others := [f"{package}=={pins[package]}" for package in missing if package != "tflearn"]:
        calls.append(others)
    return calls


def main() -> None:
    try:
        tensorflow: str | None = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        tensorflow = None
    pins = pinned_versions(REPO / "constraints.txt", REPO / "requirements.txt")
    calls = installations(
        tensorflow, lambda module: importlib.util.find_spec(module) is not None, pins
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
    supported = tensorflow_supported(tensorflow)
    kept = f"; kept the host's TensorFlow {tensorflow}" if supported else ""
    print(f"Set up {REPO.name} in {REPO}: installed {', '.join(installed) or 'nothing'}{kept}.")
    if not supported:
        print("TensorFlow was installed: restart the session (Runtime > Restart session) once.")
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if shutil.which("nvidia-smi") is None:
        print("No GPU here: choose a GPU runtime for the `full` profile (see docs/gpu.md).")


if __name__ == "__main__":
    main()
