"""The committed notebooks: the layout they share, and outputs that belong to their code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dl101.paths import REPO_ROOT
from maintainers import results_archive, results_section
from maintainers.notebook_outputs import METADATA_KEY, code_hash
from maintainers.run_notebooks import NOTEBOOKS

import nbformat
import pytest

# What an output must never hold: a path on the machine that ran it.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(home|root|tmp|work|Users|usr|opt|var)/")
MAX_NOTEBOOK_BYTES = 2_000_000
# The papermill parameters: the profile, the seed, and experiment 3's large batch's learning rate.
PARAMETERS = re.compile(
    r"profile_name = None\s+#.*\nseed = 0\s+#.*(\nlarge_batch_learning_rate = 0\.001\s+#.*)?"
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)|(?:src|href)=\"([^\"]+)\"")


def cells(name: str) -> list:
    return nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).cells


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_outputs_come_from_the_code_beside_them(name: str) -> None:
    path = REPO_ROOT / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)

    stamp = notebook.metadata.get(METADATA_KEY)
    assert stamp, f"{name} has no committed outputs: run make outputs NOTEBOOKS={name}"
    assert stamp["code_sha256"] == code_hash(notebook), (
        f"{name}'s code changed since its outputs were made: run make outputs NOTEBOOKS={name}"
    )
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert outputs
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"], "a kernel warning"
    text = json.dumps([o for o in outputs if "image/png" not in o.get("data", {})])
    assert not ABSOLUTE_PATH.search(text), ABSOLUTE_PATH.search(text)
    assert str(REPO_ROOT) not in text
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES


def test_readme_results_agree_with_the_notebooks() -> None:
    assert results_section.main(["--check"]) == 0


def test_published_full_results_are_what_their_summary_says() -> None:
    folder = REPO_ROOT / "results" / "full"
    entries = json.loads((folder / "summary.json").read_text())

    assert (folder / "README.md").read_text() == results_archive.report(entries, "full")
    for entry in entries:
        if entry["status"] == "published":
            assert (folder / f"{entry['notebook']}.png").is_file(), entry["notebook"]
            if "executed_notebook" in entry:
                text = (folder / entry["executed_notebook"]).read_text()
                assert not ABSOLUTE_PATH.search(text), ABSOLUTE_PATH.search(text)
    assert not list(folder.rglob("events.out.tfevents*"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_the_shared_layout(name: str) -> None:
    notebook_cells = cells(name)
    code = "\n".join(cell.source for cell in notebook_cells if cell.cell_type == "code")

    first, last = notebook_cells[0], notebook_cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert last.cell_type == "markdown" and last.source.startswith("## Try this next")
    assert not re.search(r"log_dir\(\)\s*/", code), "take the run from new_run, not a path"
    if name != "start_here":
        (parameters,) = [c for c in notebook_cells if "parameters" in c.metadata.get("tags", [])]
        assert PARAMETERS.fullmatch(parameters.source.strip())


def heading_anchors(markdown_file: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings."""
    headings = re.findall(r"^#+ (.+)$", markdown_file.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_link_inside_the_repository_leads_somewhere() -> None:
    markdown_files = [REPO_ROOT / "README.md", REPO_ROOT / "data" / "README.md"]
    markdown_files += [*REPO_ROOT.glob("results/*/README.md"), *REPO_ROOT.glob("docs/*.md")]
    documents = [(str(path.relative_to(REPO_ROOT)), path.read_text()) for path in markdown_files]
    for name in NOTEBOOKS:
        text = "\n".join(cell.source for cell in cells(name) if cell.cell_type == "markdown")
        documents.append((f"{name}.ipynb", text))

    broken = []
    for where, text in documents:
        for match in MARKDOWN_LINK.finditer(text):
            target = match.group(1) or match.group(2)
            if re.match(r"(https?|mailto):", target):
                continue
            path_text, _, anchor = target.partition("#")
            path = (REPO_ROOT / where).parent / path_text if path_text else REPO_ROOT / where
            if not path.exists():
                broken.append(f"{where}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
                broken.append(f"{where}: {target} (no such heading)")
    assert not broken


def table_rows(name: str) -> dict[str, str]:
    """The rows of the results table a committed notebook shows, by run name."""
    rows = {}
    for output in (output for cell in cells(name) for output in cell.get("outputs", [])):
        text = output.get("data", {}).get("text/markdown", "")
        if text.startswith("| run | final validation accuracy |"):
            for line in text.splitlines()[2:]:
                if line.startswith("| "):
                    rows[line.split("|")[1].strip()] = line
    return rows


def test_a_notebook_shows_its_partners_run_as_the_partner_committed_it() -> None:
    few, three = table_rows("experiment_0_few_layers"), table_rows("experiment_0_three_layer_sets")

    # The three-set notebook ran second and compares with the one-set run committed beside it;
    # the one-set notebook shows the three-set run only if it is that same run.
    assert three["few_layers"] == few["few_layers"]
    if "three_layer_sets" in few:
        assert few["three_layer_sets"] == three["three_layer_sets"]
