"""The pinned requirements install on the Pythons the hosted Jupyter services run, 3.12 and 3.13:
pip resolves them for Linux x86-64 from binary wheels, without installing (it needs the index)."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

from dl101.paths import REPO_ROOT

import pytest
from packaging.requirements import Requirement

# tflearn 0.5.0 is a pure-Python source archive only: what it needs is checked instead.
SOURCE_ONLY = "tflearn"


def pinned(file: str) -> dict[str, str]:
    lines = (REPO_ROOT / file).read_text().splitlines()
    pins = [re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", line) for line in lines]
    return {pin[1].lower().replace("_", "-"): pin[2] for pin in pins if pin}


@pytest.mark.other_pythons  # CI's parts on 3.12 and 3.13 install them for real instead
@pytest.mark.parametrize("python", ["3.12", "3.13"])
def test_every_pinned_library_has_a_wheel_for(python: str, tmp_path: Path) -> None:
    pins = pinned("requirements.txt")
    wheels = [f"{name}=={version}" for name, version in pins.items() if name != SOURCE_ONLY]
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
        "--python-version", python, "--only-binary=:all:", "--target", str(tmp_path / "target"),
        *("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64"),
        *wheels, "-c", str(REPO_ROOT / "constraints.txt"),
    ]  # fmt: skip

    result = subprocess.run(command, capture_output=True, text=True, check=False)

    assert result.returncode == 0, f"Python {python}:\n{result.stderr[-2000:]}"


def test_what_tflearn_needs_is_pinned() -> None:
    constraints = pinned("constraints.txt")
    needs = [Requirement(need).name.lower() for need in requires(SOURCE_ONLY) or []]

    assert needs, "tflearn declares what it needs"
    assert [need for need in needs if need not in constraints] == []
