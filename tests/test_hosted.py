"""Opening a notebook on Colab or Kaggle: badges and first cell from one address, and the set-up."""

from __future__ import annotations

import sys
from pathlib import Path

from dl101 import hosted_setup
from dl101.paths import REPO_ROOT
from maintainers import hosted
from maintainers.run_notebooks import NOTEBOOKS

import nbformat
import pytest
from nbclient import NotebookClient

FORK = hosted.Repository("https://github.com/someone/my-fork", "dev")


def test_every_notebook_carries_the_badges_and_first_cell_of_the_address_in_pyproject() -> None:
    assert hosted.repository().url == "https://github.com/deep-learning-101/deep-learning-101"
    assert hosted.main(["--check"]) == 0
    for name in NOTEBOOKS:
        first_code = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).cells[1]
        assert first_code.cell_type == "code" and first_code.source == hosted.first_cell_source()


def test_a_fork_changes_one_place_and_every_badge_and_clone_follows(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project.urls]\nRepository = "https://github.com/someone/my-fork/"\n'
        '[tool.dl101]\nbranch = "dev"\n'
    )
    assert hosted.repository(pyproject) == FORK
    notebook = nbformat.read(REPO_ROOT / "experiment_2_l2.ipynb", as_version=4)

    assert hosted.updated(notebook, "experiment_2_l2", FORK)
    assert not hosted.updated(notebook, "experiment_2_l2", FORK)  # once is enough

    title = notebook.cells[0].source
    assert "deep-learning-101/deep-learning-101" not in title
    assert title.count("[![Open In Colab]") == 1 and title.count(hosted.HOSTED_NOTE) == 1
    file = "someone/my-fork/blob/dev/experiment_2_l2.ipynb"
    assert f"(https://colab.research.google.com/github/{file})" in title
    assert f"(https://kaggle.com/kernels/welcome?src=https://github.com/{file})" in title
    assert [cell.get("id") for cell in notebook.cells].count(hosted.FIRST_CELL_ID) == 1
    first = notebook.cells[1].source
    assert 'ADDRESS = "https://github.com/someone/my-fork"' in first
    assert '"--branch", "dev"]' in first and '"my-fork/dl101/hosted_setup.py"' in first


def test_an_address_colab_cannot_open_is_refused_with_the_reason(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project.urls]\nRepository = "https://gitlab.com/a/b"\n[tool.dl101]\nbranch = "main"\n'
    )
    with pytest.raises(ValueError, match="must be a https://github.com/OWNER/NAME address"):
        hosted.repository(pyproject)


def _run_first_cell(folder: Path) -> nbformat.NotebookNode:
    """Run the first cell, then report what changed, in a kernel whose working folder is ``folder``."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import os, sys\nbefore = (os.getcwd(), list(sys.path))"),
        nbformat.v4.new_code_cell(hosted.first_cell_source()),
        nbformat.v4.new_code_cell(
            "print((os.getcwd(), list(sys.path)) == before, sorted(os.listdir(before[0])))"
        ),
    ]
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


@pytest.mark.notebook
def test_away_from_a_host_the_first_cell_does_nothing(tmp_path: Path) -> None:
    notebook = _run_first_cell(tmp_path)
    assert notebook.cells[1].outputs == []
    assert notebook.cells[2].outputs[0]["text"] == "True []\n"  # same folder, path, no files


@pytest.mark.notebook
def test_on_a_host_already_set_up_the_first_cell_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Kaggle, in a folder where dl101 can be imported (as after the first run of the cell).
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    listing = sorted(path.name for path in REPO_ROOT.iterdir())
    notebook = _run_first_cell(REPO_ROOT)
    assert notebook.cells[1].outputs == []
    assert notebook.cells[2].outputs[0]["text"] == f"True {listing}\n"


PINS = hosted_setup.pinned_versions(REPO_ROOT / "constraints.txt", REPO_ROOT / "requirements.txt")


def test_every_package_the_set_up_may_install_is_pinned() -> None:
    """A host lacking any of them (six, nbformat included) gets a pinned version, never a KeyError."""
    lacks_everything = hosted_setup.installations(None, lambda module: False, PINS)
    installed = [argument for call in lacks_everything for argument in call if "==" in argument]
    assert len(installed) == 1 + len(hosted_setup.NEEDED)
    assert f"tflearn=={PINS['tflearn']}" in installed and "six==" + PINS["six"] in installed
    assert PINS["tensorflow"].startswith("2.20") and PINS["setuptools"] == "75.2.0"


def test_a_host_with_a_supported_tensorflow_gets_only_what_it_lacks() -> None:
    lacks = {"tflearn", "cv2"}
    calls = hosted_setup.installations("2.19.0", lambda module: module not in lacks, PINS)
    assert calls == [
        ["--no-deps", f"tflearn=={PINS['tflearn']}"],  # never a second numpy through tflearn
        [f"opencv-python-headless=={PINS['opencv-python-headless']}"],
    ]
    assert hosted_setup.installations("2.20.1", lambda module: True, PINS) == []


@pytest.mark.parametrize("tensorflow", [None, "2.18.0", "2.21.0"])
def test_a_host_without_a_supported_tensorflow_gets_the_pinned_one(tensorflow: str | None) -> None:
    calls = hosted_setup.installations(tensorflow, lambda module: True, PINS)
    assert calls == [[f"tensorflow=={PINS['tensorflow']}"]]


def test_the_set_up_runs_with_the_standard_library_alone() -> None:
    # The first cell runs it before tflearn, and so dl101, can be imported.
    source = (REPO_ROOT / "dl101" / "hosted_setup.py").read_text()
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
