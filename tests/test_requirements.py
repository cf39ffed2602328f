"""The pinned requirements install on the Pythons the hosted Jupyter services run: 3.12 and 3.13.

Checked without those interpreters: pip resolves requirements.txt with constraints.txt for Linux
x86-64 and that Python version, from binary wheels only, without installing anything. It needs
the package index, as CI has.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

from dl101.paths import REPO_ROOT

import pytest

# tflearn 0.5.0 exists only as a source archive, of pure Python: it builds the same on every
# Python, so it is left out of the binary-only check and its own needs are checked instead.
SOURCE_ONLY = "tflearn"


def pinned(file: str) -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / file).read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line):
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


@pytest.mark.other_pythons  # CI's parts on 3.12 and 3.13 install them for real instead
@pytest.mark.parametrize("python", ["3.12", "3.13"])
def test_every_pinned_library_has_a_wheel_for(python: str, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "".join(
            f"{name}=={version}\n"
            for name, version in pinned("requirements.txt").items()
            if name != SOURCE_ONLY
        )
    )
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
        "--python-version", python, "--only-binary=:all:", "--target", str(tmp_path / "target"),
        *("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64"),
        "-r", str(requirements), "-c", str(REPO_ROOT / "constraints.txt"),
    ]  # fmt: skip

    result = subprocess.run(command, capture_output=True, text=True, check=False)

    missing = re.findall(r"No matching distribution found for (\S+)", result.stderr)
    assert result.returncode == 0, (
        f"Python {python}: no wheel for {', '.join(missing) or 'some package'}:\n{result.stderr[-2000:]}"
    )


def test_what_tflearn_needs_is_pinned() -> None:
    constraints = pinned("constraints.txt")
    needs = [
        re.split(r"[\s;<>=!~\[]", need, maxsplit=1)[0].lower()
        for need in requires(SOURCE_ONLY) or []
    ]

    assert needs, "tflearn declares what it needs"
    assert [need for need in needs if need not in constraints] == []
