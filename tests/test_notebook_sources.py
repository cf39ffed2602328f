"""The committed notebooks are sources: no outputs, and the layout every notebook shares."""

from __future__ import annotations

import re

from dl101.paths import REPO_ROOT
from dl101.run_notebooks import NOTEBOOKS

import nbformat
import pytest

PARAMETERISED = [name for name in NOTEBOOKS if name != "start_here"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name: str) -> None:
    notebook = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4)

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_opens_with_a_title_and_ends_with_what_to_try_next(name: str) -> None:
    cells = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).cells

    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert cells[-1].cell_type == "markdown" and cells[-1].source.startswith("## Try this next")


@pytest.mark.parametrize("name", PARAMETERISED)
def test_profile_can_be_set_as_a_papermill_parameter(name: str) -> None:
    cells = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).cells

    (parameters,) = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert re.fullmatch(r"profile_name = None\s+#.*", parameters.source.strip())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_notebook_rebuilds_a_run_folder_by_hand(name: str) -> None:
    cells = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).cells
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")

    assert not re.search(r"log_dir\(\)\s*/", code), "take the run from new_run, not a path"


def test_readme_names_the_papermill_parameter_the_notebooks_read() -> None:
    readme = (REPO_ROOT / "README.md").read_text()

    assert "-p profile_name smoke" in readme
    assert not re.search(r"-p profile\b(?!_)", readme)
