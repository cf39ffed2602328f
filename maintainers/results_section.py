"""Write the README's "Results" section and the notebook table's times from data, never by hand.

For each claim an experiment tests it takes the seed study's outcome, judged from the study's
records (:mod:`dl101.verdicts`), what the ``full`` profile measured, from
``results/full/summary.json`` (written by :mod:`maintainers.results_archive`), and the comparison
plot the notebook's committed run drew, saved beside the README as a small picture. It also fills
in the time columns of the README's notebook table from the committed notebooks' metadata and
``results/full``. Nothing is read back from text a notebook printed. Run it after ``make
outputs``, ``make seeds`` or ``make full-results``:

    python -m maintainers.results_section           # rewrite the section and the pictures
    python -m maintainers.results_section --check   # exit 1 if the README disagrees with its sources
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from dataclasses import dataclass

from dl101 import claims, verdicts
from dl101.paths import REPO_ROOT
from dl101.verdicts import Records
from maintainers.hosted import badges
from maintainers.notebook_outputs import METADATA_KEY, machine_text
from maintainers.results_archive import published_entries
from maintainers.run_notebooks import NOTEBOOKS

import nbformat

README = REPO_ROOT / "README.md"
PICTURES = REPO_ROOT / "docs" / "results"
FULL_RESULTS = REPO_ROOT / "results" / "full"
START = "<!-- results: written by `python -m maintainers.results_section` from the seed study's records, results/full and the notebooks' plots -->"
END = "<!-- end of results -->"
TABLE_START = (
    "<!-- notebooks: the time columns are written by `python -m maintainers.results_section` -->"
)
TABLE_END = "<!-- end of notebooks -->"
TIMES_START = "<!-- times: written by `python -m maintainers.results_section` -->"
TIMES_END = "<!-- end of times -->"


@dataclass(frozen=True)
class Row:
    claim: claims.Claim
    parts: tuple[claims.PartResult, ...]  # each part of the claim over the study's seeds
    picture: bytes  # the comparison plot of the notebook's committed run
    full: bool  # whether results/full holds the notebook's `full` run

    @property
    def title(self) -> str:
        """The experiment in a word or two: "Dropout" of "Experiment 1: dropout"."""
        topic = self.claim.title.split(": ", 1)[1]
        return topic[0].upper() + topic[1:]


def full_results() -> dict[str, dict]:
    """The ``full`` profile's published entries, by notebook; empty until one is published."""
    return published_entries(FULL_RESULTS / "summary.json")


def read_row(claim: claims.Claim, records: Records, full: dict | None = None) -> Row:
    """The study's verdict on each part of ``claim`` and the plot its notebook committed."""
    notebook = nbformat.read(REPO_ROOT / f"{claim.notebook}.ipynb", as_version=4)
    pictures = [
        base64.b64decode(output["data"]["image/png"])
        for cell in notebook.cells
        if "dl101.plot_runs(" in cell.source
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    if not pictures:
        raise ValueError(f"{claim.notebook}.ipynb shows no plot of its runs: run `make outputs`.")
    return Row(claim, claims.verdict(claim, None, records).parts, pictures[0], full is not None)


def hours(minutes: float) -> str:
    whole = round(minutes)
    return f"{whole // 60} h {whole % 60:02d} min" if whole >= 60 else f"{whole} min"


def _committed_stamp(name: str) -> dict:
    stamp = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).metadata.get(METADATA_KEY)
    if not stamp:
        raise ValueError(f"{name}.ipynb has no committed outputs: run `make outputs`.")
    return stamp


def notebook_table(table: str, full: dict[str, dict]) -> str:
    """The README's notebook table with each notebook's measured times in two more columns.

    The first two columns (the notebook and what it teaches) are the README's own prose and are
    kept as written; the times come from the committed notebooks' metadata and from
    ``results/full``, so they are never typed by hand.
    """
    rows = {}
    for line in table.strip().splitlines():
        if match := re.match(
            r"\| (?P<notebook>[^|]*?(?P<name>\w+)\.ipynb[^|]*?) \| (?P<what>[^|]*?) \|", line
        ):
            rows[match["name"]] = (match["notebook"], match["what"])
    lines = [
        "| notebook | what you learn | open | committed run | `full` profile |",
        "|---|---|---|---|---|",
    ]
    machines: dict[str, set[str]] = {"committed": set(), "full": set()}
    for name, (notebook, what) in rows.items():
        stamp = _committed_stamp(name)
        machines["committed"].add(machine_text(stamp))
        committed = f"{stamp['wall_time_seconds'] / 60:.1f} min (`{stamp['profile']}`)"
        if name in full:
            machines["full"].add(machine_text(full[name]))
            at_scale = f"{full[name]['wall_time_seconds'] / 60:.0f} min"
        elif name == "start_here":
            at_scale = "the same: it does not depend on the profile"
        else:
            at_scale = "not measured yet"
        lines.append(f"| {notebook} | {what} | {badges(name)} | {committed} | {at_scale} |")
    where = "; ".join(
        f"{column} runs on {' and '.join(sorted(found))}"
        for column, found in machines.items()
        if found
    )
    lines += ["", f"Wall-clock time from the first cell to the last ({where})."]
    return "\n".join(lines)


def times_line(full: dict[str, dict]) -> str:
    """The README's "Three ways in": how long the whole set takes, from the committed runs."""
    stamps = {name: _committed_stamp(name) for name in NOTEBOOKS}
    machines = " and ".join(sorted({machine_text(stamp) for stamp in stamps.values()}))
    profiles = " and ".join(sorted({f"`{stamp['profile']}`" for stamp in stamps.values()}))
    committed = sum(stamp["wall_time_seconds"] for stamp in stamps.values()) / 60
    # start_here trains the same in every profile: its committed run stands for `full` too.
    at_scale = {
        name: full.get(name, stamps[name] if name == "start_here" else None) for name in stamps
    }
    measured = {name: entry for name, entry in at_scale.items() if entry}
    full_minutes = sum(entry["wall_time_seconds"] for entry in measured.values()) / 60
    text = (
        f"On a 2-core laptop-class CPU ({machines}), the whole set takes about "
        f"{hours(committed)} in the {profiles} profile, one notebook after another. "
    )
    if len(measured) == len(stamps):
        return text + f"The whole set in the `full` profile took {hours(full_minutes)}."
    return text + (
        f"In the `full` profile, {len(measured)} of {len(stamps)} notebooks have run so far, "
        f"in {hours(full_minutes)}."
    )


def section(rows: list[Row]) -> str:
    seeds = max((len(p.study.values) for row in rows for p in row.parts if p.study), default=0)
    lines = [START]
    for row in rows:
        notebook = row.claim.notebook
        lines += ["", f"**[{row.title}]({notebook}.ipynb)**: {row.claim.in_brief}.", ""]
        for part in row.parts:
            if part.outcome is None or part.study is None:
                lines.append(f"- {part.part.text}: no seeds recorded yet")
            else:
                at_scale = "" if part.full is None else f"; `full` run {part.in_one_run(part.full)}"
                lines.append(
                    f"- {part.part.text}: **{part.outcome.value}** ({part.held_in_seeds} of "
                    f"{len(part.study.values)} seeds; {part.spread()}){at_scale}"
                )
        plots = f"[the notebook's run](docs/results/{notebook}.png)"
        if row.full:
            plots += f", [the `full` run](results/full/README.md#{notebook})"
        lines += ["", f"Plots: {plots}."]
    lines += [
        "",
        f"Each part is judged over the {seeds} seeds of the [seed study]"
        "(results/seed_study/README.md), which says how. The [`full` runs]"
        "(results/full/README.md) are the article's 50 epochs on all 50,000 images, one seed each, "
        "their training accuracy tflearn's running average.",
        "",
        END,
    ]
    return "\n".join(lines)


def _between(readme: str, start: str, end: str) -> tuple[str, str, str]:
    """The README before the ``start`` marker, between the markers, and after ``end``."""
    if start not in readme or end not in readme:
        raise ValueError(f"README.md has lost its markers: put {start!r} and {end!r} back.")
    before, rest = readme.split(start, 1)
    inside, after = rest.split(end, 1)
    return before, inside, after


def with_section(readme: str, text: str) -> str:
    before, _, after = _between(readme, START, END)
    return before + text + after


def with_notebook_table(readme: str, full: dict[str, dict]) -> str:
    before, table, after = _between(readme, TABLE_START, TABLE_END)
    readme = f"{before}{TABLE_START}\n\n{notebook_table(table, full)}\n\n{TABLE_END}{after}"
    before, _, after = _between(readme, TIMES_START, TIMES_END)
    return f"{before}{TIMES_START}\n\n{times_line(full)}\n\n{TIMES_END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args(argv)
    full = full_results()
    records = verdicts.load_numbers()
    rows = [
        read_row(claim, records, full.get(claim.notebook))
        for claim in claims.EXPERIMENT_CLAIMS
        if claim.in_brief
    ]
    readme = README.read_text()
    expected = with_notebook_table(with_section(readme, section(rows)), full)
    pictures = {PICTURES / f"{row.claim.notebook}.png": row.picture for row in rows}
    if args.check:
        stale = [
            str(p)
            for p, content in pictures.items()
            if not p.is_file() or p.read_bytes() != content
        ]
        if expected != readme or stale:
            print(
                "README.md's results disagree with the notebooks: run python -m maintainers.results_section"
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
