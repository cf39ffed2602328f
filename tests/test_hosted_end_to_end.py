"""The hosted path end to end, on a replica of Colab's runtime (its Python and preinstalled versions,
and a stand-in ``google.colab``): the first cell clones this checkout, installs what the replica
lacks from the package index, and the notebook goes on in the clone. Minutes; skipped without
Colab's Python."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

from dl101.paths import REPO_ROOT
from maintainers import hosted

import nbformat
import pytest
from helpers import REAL_DATA_DIR
from nbclient import NotebookClient

# Colab's current runtime, from its published package list: Python and the versions this
# project's code meets there (TensorFlow, Keras, numpy, IPython, setuptools), and the other
# libraries it ships that the notebooks use.
COLAB_PYTHON = "3.13"
COLAB_PACKAGES = [
    "tensorflow==2.20.0", "keras==3.13.2", "numpy==2.1.3", "ipython==7.34.0", "setuptools==75.2.0",
    "ipykernel==6.17.1", "matplotlib", "scipy", "pillow", "opencv-python", "tqdm", "six", "nbformat",
]  # fmt: skip


def colab_python() -> str | None:
    """An interpreter of Colab's Python version: on PATH, or one pyenv installed."""
    candidates = [shutil.which(f"python{COLAB_PYTHON}")]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{root}/versions/{COLAB_PYTHON}.*/bin/python{COLAB_PYTHON}"))
    runs = (
        c
        for c in candidates
        if c and subprocess.run([c, "-V"], capture_output=True).returncode == 0
    )
    return next(runs, None)


@pytest.fixture(scope="module")
def colab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Jupyter's data folder with a kernel named ``colab`` that runs the replica's Python."""
    interpreter = colab_python()
    if interpreter is None:
        pytest.skip(f"no Python {COLAB_PYTHON} here (Colab's); pyenv can install it")
    root = tmp_path_factory.mktemp("colab")
    subprocess.run([interpreter, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", *COLAB_PACKAGES]
    installed = subprocess.run(pip, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    stand_in = (
        root / "venv" / "lib" / f"python{COLAB_PYTHON}" / "site-packages" / "google" / "colab"
    )
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text('"""Stand-in for Colab."""\n')
    kernel = root / "jupyter" / "kernels" / "colab"
    kernel.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    return root


def run_on_colab(
    name: str, colab: Path, content: Path, monkeypatch: pytest.MonkeyPatch, parameters: str = ""
) -> nbformat.NotebookNode:
    """Run ``name`` as Colab opens it, a lone notebook in ``content``, with ``parameters`` run after
    its parameters cell, as papermill injects them."""
    monkeypatch.setenv("JUPYTER_PATH", str(colab / "jupyter"))
    monkeypatch.setenv("DL101_REPOSITORY", f"file://{REPO_ROOT}")
    monkeypatch.setenv("DL101_PROFILE", "smoke")
    monkeypatch.delenv("DL101_LOG_DIR", raising=False)  # logs go into the clone, as on Colab
    if REAL_DATA_DIR:
        monkeypatch.setenv("DL101_DATA_DIR", REAL_DATA_DIR)  # no internet here to download it
    notebook = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4)
    if parameters:
        cells = enumerate(notebook.cells)
        index = next(i for i, cell in cells if "parameters" in cell.metadata.get("tags", []))
        notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(parameters))
    resources = {"metadata": {"path": str(content)}}
    NotebookClient(notebook, timeout=1800, kernel_name="colab", resources=resources).execute()
    return notebook


@pytest.mark.notebook
@pytest.mark.hosted
def test_on_colab_the_first_cell_sets_up_and_the_notebooks_run(
    colab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"  # Colab's working folder
    content.mkdir()

    # Two seeds for each XOR network, not twenty: the count is not what is tested here.
    notebook = run_on_colab("start_here", colab, content, monkeypatch, "seeds_per_network = 2")

    said = "".join(output.get("text", "") for output in notebook.cells[1].outputs)
    clone = content / hosted.repository().folder
    assert f"Set up {clone.name} in {clone}: installed tflearn==0.5.0" in said, said
    assert "kept the host's TensorFlow 2.20.0" in said, said
    assert "Keras 3.13.2" not in said and "TensorFlow 2.20.0 | tflearn 0.5.0" in str(notebook.cells)
    assert (clone / "logs" / "start_here").is_dir()  # the runs logged inside the clone

    if not REAL_DATA_DIR:
        pytest.skip("set DL101_DATA_DIR to the real CIFAR-10 for the CIFAR-10 notebook")
    # The three-set notebook first, as a learner may open it: its verdict waits for its partner.
    notebook = run_on_colab("experiment_0_three_layer_sets", colab, content, monkeypatch)
    said = "".join(output.get("text", "") for output in notebook.cells[1].outputs)
    assert "installed nothing; kept the host's TensorFlow 2.20.0" in said, said  # set up once
    assert "Run profile: smoke" in str(notebook.cells)
    waiting = "| three sets more accurate (validation, three minus one) | not run yet |"
    assert waiting in str(notebook.cells)
