"""Write the README's "Results" section from the notebooks' committed outputs, never by hand.

For each experiment it takes, from the notebook as committed by ``make outputs``: the verdict
the notebook printed (the article's claim, what was measured, whether the claim held), the
profile and processor that produced it (from the notebook's metadata), and its comparison plot,
saved beside the README as a small picture. Run it after ``make outputs``:

    python -m dl101.results_section           # rewrite the section and the pictures
    python -m dl101.results_section --check   # exit 1 if the README disagrees with the notebooks
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from dataclasses import dataclass

from dl101.notebook_outputs import METADATA_KEY
from dl101.paths import REPO_ROOT

import nbformat

README = REPO_ROOT / "README.md"
PICTURES = REPO_ROOT / "docs" / "results"
START = (
    "<!-- results: written by `python -m dl101.results_section` from the committed notebooks -->"
)
END = "<!-- end of results -->"
# The notebook whose verdict tests each claim (the three-set notebook compares both networks).
EXPERIMENTS = {
    "experiment_0_three_layer_sets": "Experiment 0: depth",
    "experiment_1_dropout": "Experiment 1: dropout",
    "experiment_2_l2": "Experiment 2: L2",
    "experiment_3_batch_size": "Experiment 3: batch size",
    "experiment_4_learning_rate": "Experiment 4: learning rate",
}
VERDICT = re.compile(
    r"\*\*The claim:\*\* (?P<claim>.*?)\n\n\*\*Measured:\*\* (?P<measured>.*?)\n\n"
    r"\*\*Verdict:\*\* (?P<verdict>.*?)\.$",
    re.DOTALL,
)


@dataclass(frozen=True)
class Row:
    notebook: str
    title: str
    claim: str
    measured: str
    verdict: str
    profile: str
    processor: str
    picture: bytes


def read_row(notebook_name: str, title: str) -> Row:
    """The verdict, the settings and the comparison plot a committed notebook shows."""
    notebook = nbformat.read(REPO_ROOT / f"{notebook_name}.ipynb", as_version=4)
    stamp = notebook.metadata.get(METADATA_KEY)
    if not stamp:
        raise ValueError(f"{notebook_name}.ipynb has no committed outputs: run `make outputs`.")
    verdicts = []
    pictures = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if match := VERDICT.search(data.get("text/markdown", "")):
                verdicts.append(match)
            if "dl101.plot_runs(" in cell.source and "image/png" in data:
                pictures.append(base64.b64decode(data["image/png"]))
    if len(verdicts) != 1 or not pictures:
        raise ValueError(f"{notebook_name}.ipynb shows {len(verdicts)} verdicts and no plot.")
    (verdict,) = verdicts
    return Row(
        notebook=notebook_name,
        title=title,
        claim=verdict["claim"].strip(),
        measured=" ".join(verdict["measured"].split()),
        verdict=re.sub(r"\*", "", verdict["verdict"]).strip(),
        profile=stamp["profile"],
        processor=f"{stamp['machine']['processor']}, {stamp['machine']['cores']} cores",
        picture=pictures[0],
    )


def times_table() -> list[str]:
    """How long each committed notebook took to run, where, and in which profile."""
    from dl101.run_notebooks import NOTEBOOKS

    lines = ["| notebook | wall time | profile | processor |", "|---|---|---|---|"]
    for name in NOTEBOOKS:
        stamp = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).metadata.get(METADATA_KEY)
        if stamp:
            machine = stamp["machine"]
            lines.append(
                f"| [{name}]({name}.ipynb) | {stamp['wall_time_seconds'] / 60:.1f} min "
                f"| `{stamp['profile']}` | {machine['processor']}, {machine['cores']} cores |"
            )
    return lines


def section(rows: list[Row]) -> str:
    lines = [
        START,
        "",
        "What the committed notebooks measured, claim by claim. Each row is copied from the "
        "verdict its notebook printed; open the notebook on this page to see the whole run.",
        "",
        "| experiment | the article's claim | measured | verdict | comparison |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        picture = f"docs/results/{row.notebook}.png"
        lines.append(
            f"| [{row.title}]({row.notebook}.ipynb) (`{row.profile}` profile, {row.processor}) "
            f"| {row.claim} | {row.measured} | {row.verdict} "
            f'| <a href="{picture}"><img src="{picture}" width="240"></a> |'
        )
    lines += [
        "",
        "How long each notebook took in that run (`make outputs`, one notebook at a time):",
        "",
        *times_table(),
        "",
        END,
    ]
    return "\n".join(lines)


def with_section(readme: str, text: str) -> str:
    if START not in readme or END not in readme:
        raise ValueError(f"README.md has no results markers: put {START!r} and {END!r} in it.")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return before + text + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args(argv)
    rows = [read_row(name, title) for name, title in EXPERIMENTS.items()]
    readme = README.read_text()
    expected = with_section(readme, section(rows))
    pictures = {PICTURES / f"{row.notebook}.png": row.picture for row in rows}
    if args.check:
        stale = [
            str(p)
            for p, content in pictures.items()
            if not p.is_file() or p.read_bytes() != content
        ]
        if expected != readme or stale:
            print(
                "README.md's results disagree with the notebooks: run python -m dl101.results_section"
            )
            return 1
        return 0
    PICTURES.mkdir(parents=True, exist_ok=True)
    for path, content in pictures.items():
        path.write_bytes(content)
    README.write_text(expected)
    print(
        f"Wrote the results of {len(rows)} experiments into README.md and {PICTURES.relative_to(REPO_ROOT)}/."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
