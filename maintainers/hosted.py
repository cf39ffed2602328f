"""Write every notebook's "Open in Colab/Kaggle" badges and first code cell (which, on a host, clones
the repository and runs :mod:`dl101.hosted_setup`) from ``pyproject.toml``'s address and branch, all
a fork changes. ``--check`` says whether the notebooks agree."""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dl101.paths import REPO_ROOT
from maintainers.run_notebooks import NOTEBOOKS, write_whole

import nbformat

FIRST_CELL_ID = "open-on-a-host"
HOSTED_NOTE = "On Colab or Kaggle, the first code cell below fetches this repository and the libraries the\nhost lacks; anywhere else it does nothing."


@dataclass(frozen=True)
class Repository:
    url: str  # https://github.com/OWNER/NAME
    branch: str

    @property
    def folder(self) -> str:  # the folder a clone gets
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def repository(pyproject: Path = REPO_ROOT / "pyproject.toml") -> Repository:
    settings = tomllib.loads(pyproject.read_text())
    url = settings["project"]["urls"]["Repository"]
    if not url.startswith("https://github.com/"):
        raise ValueError(
            f"{pyproject}: [project.urls] Repository must be a https://github.com/OWNER/NAME address (Colab and Kaggle open notebooks from GitHub); it is {url!r}."
        )
    return Repository(url.rstrip("/"), settings["tool"]["dl101"]["branch"])


def badges(notebook: str, repo: Repository | None = None) -> str:
    """Markdown: the two badges that open ``notebook`` (a name without .ipynb) on a host."""
    repo = repo or repository()
    file = f"{repo.url.removeprefix('https://github.com/')}/blob/{repo.branch}/{notebook}.ipynb"
    colab = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{file})"
    return f"{colab} [![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/{file})"


def first_cell_source(repo: Repository | None = None) -> str:
    """The first code cell of every notebook: on Colab or Kaggle, set up; elsewhere, nothing."""
    repo = repo or repository()
    return f"""\
# extra code: on Colab or Kaggle, fetch this repository and what the host lacks (elsewhere: nothing)
import importlib.util
import os
import runpy
import subprocess

ADDRESS = "{repo.url}"
try:
    on_a_host = importlib.util.find_spec("google.colab") is not None  # Colab
except ModuleNotFoundError:  # no google package at all
    on_a_host = False
on_a_host = on_a_host or "KAGGLE_KERNEL_RUN_TYPE" in os.environ  # Kaggle
if on_a_host and importlib.util.find_spec("dl101") is None:
    if not os.path.isdir("{repo.folder}"):
        clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", "{repo.branch}"]
        address = os.environ.get("DL101_REPOSITORY", ADDRESS)  # tests and forks may change it
        subprocess.run([*clone, address, "{repo.folder}"], check=True)
    runpy.run_path("{repo.folder}/dl101/hosted_setup.py", run_name="__main__")"""


def updated(notebook: nbformat.NotebookNode, name: str, repo: Repository) -> bool:
    """Write the badges and the first cell into ``notebook``; whether anything changed."""
    before = nbformat.writes(notebook)
    title = notebook.cells[0]
    heading, _, rest = title.source.partition("\n")
    earlier = ("[![Open In Colab]", HOSTED_NOTE[:30])  # what an earlier address or wording wrote
    body = [p for p in rest.strip("\n").split("\n\n") if not p.startswith(earlier)]
    title.source = "\n\n".join([heading, badges(name, repo), HOSTED_NOTE, *body])
    first = next((cell for cell in notebook.cells if cell.get("id") == FIRST_CELL_ID), None)
    if first is None:
        first = nbformat.v4.new_code_cell(id=FIRST_CELL_ID)
        notebook.cells.insert(1, first)
    first.source = first_cell_source(repo)
    return nbformat.writes(notebook) != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook disagrees")
    check = parser.parse_args(argv).check
    repo, stale = repository(), []
    for name in NOTEBOOKS:
        notebook = nbformat.read(path := REPO_ROOT / f"{name}.ipynb", as_version=4)
        if updated(notebook, name, repo):
            stale.append(path.name)
            if not check:
                write_whole(notebook, path)
    if check and stale:
        print(f"Not as pyproject.toml's address ({repo.url}) says: {', '.join(stale)}. Run python -m maintainers.hosted to rewrite them.", file=sys.stderr)  # fmt: skip
        return 1
    print(f"{len(stale)} notebook(s) rewritten for {repo.url} ({repo.branch}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
