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


def pyproject(folder: Path, address: str, branch: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(
        f'[project.urls]\nRepository = "{address}"\n[tool.dl101]\nbranch = "{branch}"\n'
    )
    return path


def test_every_notebook_carries_the_badges_and_first_cell_of_the_address_in_pyproject() -> None:
    assert hosted.main(["--check"]) == 0
    for name in NOTEBOOKS:
        first_code = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).cells[1]
        assert first_code.cell_type == "code" and first_code.source == hosted.first_cell_source()


def test_a_fork_changes_one_place_and_every_badge_and_clone_follows(tmp_path: Path) -> None:
    assert (
        hosted.repository(pyproject(tmp_path, "https://github.com/someone/my-fork/", "dev")) == FORK
    )
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
    with pytest.raises(ValueError, match="must be a https://github.com/OWNER/NAME address"):
        hosted.repository(pyproject(tmp_path, "https://gitlab.com/a/b", "main"))


@pytest.mark.notebook
@pytest.mark.parametrize("on_kaggle", [False, True])
def test_the_first_cell_does_nothing_away_from_a_host_or_on_one_already_set_up(
    on_kaggle: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Kaggle, in a folder where dl101 can be imported (as after the first run of the cell).
    if on_kaggle:
        monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    folder = REPO_ROOT if on_kaggle else tmp_path
    listing = sorted(path.name for path in folder.iterdir())
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import os, sys\nbefore = (os.getcwd(), list(sys.path))"),
        nbformat.v4.new_code_cell(hosted.first_cell_source()),
        nbformat.v4.new_code_cell(
            "print((os.getcwd(), list(sys.path)) == before, sorted(os.listdir()))"
        ),
    ]
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(folder)}}).execute()

    assert notebook.cells[1].outputs == []
    assert notebook.cells[2].outputs[0]["text"] == f"True {listing}\n"  # same folder, path, files


PINS = hosted_setup.pinned_versions(REPO_ROOT / "constraints.txt", REPO_ROOT / "requirements.txt")


def test_every_package_the_set_up_may_install_is_pinned() -> None:
    """A host lacking any of them (six, nbformat included) gets a pinned version, never a KeyError."""
    lacks_everything = hosted_setup.installations(None, lambda module: False, PINS)
    installed = [argument for call in lacks_everything for argument in call if "==" in argument]
    assert len(installed) == 1 + len(hosted_setup.NEEDED)
    assert f"tflearn=={PINS['tflearn']}" in installed and "six==" + PINS["six"] in installed
    assert PINS["tensorflow"].startswith("2.20") and PINS["setuptools"] == "75.2.0"


NO_TFLEARN_NOR_CV2 = [
    ["--no-deps", f"tflearn=={PINS['tflearn']}"],  # never a second numpy through tflearn
    [f"opencv-python-headless=={PINS['opencv-python-headless']}"],
]
PINNED_TENSORFLOW = [[f"tensorflow=={PINS['tensorflow']}"]]


@pytest.mark.parametrize(
    ("tensorflow", "lacks", "calls"),
    [("2.19.0", {"tflearn", "cv2"}, NO_TFLEARN_NOR_CV2), ("2.20.1", set(), []),
     (None, set(), PINNED_TENSORFLOW), ("2.18.0", set(), PINNED_TENSORFLOW), ("2.21.0", set(), PINNED_TENSORFLOW)],
)  # fmt: skip
def test_a_host_gets_what_it_lacks_and_a_tensorflow_only_without_a_supported_one(
    tensorflow: str | None, lacks: set[str], calls: list[list[str]]
) -> None:
    importable = lambda module: module not in lacks  # noqa: E731
    assert hosted_setup.installations(tensorflow, importable, PINS) == calls


def test_the_set_up_runs_with_the_standard_library_alone() -> None:
    # The first cell runs it before tflearn, and so dl101, can be imported.
    source = (REPO_ROOT / "dl101" / "hosted_setup.py").read_text()
    lines = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    imported = {line.split()[1].split(".")[0] for line in lines}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
