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
import statistics
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
    seeds: int  # how many seeds the study has of every run the claim compares (0: none)
    outcome: str  # the study's outcome ("held in every seed", ...), "" without a study
    held_in: str  # in how many seeds its weakest part held ("4 of 5"), "" without a study
    picture: bytes  # the comparison plot of the notebook's committed run
    full: dict | None  # what results/full/summary.json says of the notebook, if it was run

    @property
    def title(self) -> str:
        """The experiment in a word or two: "Dropout" of "Experiment 1: dropout"."""
        topic = self.claim.title.split(": ", 1)[1]
        return topic[0].upper() + topic[1:]


def full_results() -> dict[str, dict]:
    """The ``full`` profile's published entries, by notebook; empty until one is published."""
    return published_entries(FULL_RESULTS / "summary.json")


def read_row(claim: claims.Claim, records: Records, full: dict | None = None) -> Row:
    """The study's verdict on ``claim`` and the comparison plot its notebook committed."""
    parts = claims.judge_claim(claim, None, records)
    outcome = held_in = ""
    seeds = max((len(part.study.values) for part in parts if part.study), default=0)
    if weakest := claims.claim_outcome(parts):
        outcome = weakest.value
        held_in = (
            f"{min(part.held_in_seeds for part in parts if part.outcome is weakest)} of {seeds}"
        )
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
    return Row(claim, seeds, outcome, held_in, pictures[0], full)


@dataclass(frozen=True)
class Times:
    """How long a notebook took in its committed run and in the ``full`` profile, and where."""

    committed_minutes: float
    committed_profile: str
    committed_machine: str
    full_minutes: float | None
    full_machine: str | None


def notebook_times(name: str, full: dict[str, dict]) -> Times:
    stamp = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).metadata.get(METADATA_KEY)
    if not stamp:
        raise ValueError(f"{name}.ipynb has no committed outputs: run `make outputs`.")
    at_scale = full.get(name)
    return Times(
        committed_minutes=stamp["wall_time_seconds"] / 60,
        committed_profile=stamp["profile"],
        committed_machine=machine_text(stamp),
        full_minutes=at_scale["wall_time_seconds"] / 60 if at_scale else None,
        full_machine=machine_text(at_scale) if at_scale else None,
    )


def hours(minutes: float) -> str:
    whole = round(minutes)
    return f"{whole // 60} h {whole % 60:02d} min" if whole >= 60 else f"{whole} min"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def whole_set_in_full(times: dict[str, Times]) -> str:
    """The whole set's time in the ``full`` profile: measured, or estimated where not yet run.

    A notebook not run yet is estimated from its committed run, scaled by the median of what
    the CIFAR-10 notebooks measured so far took in ``full`` over their committed runs (their
    training scales alike: the same network sizes, more epochs and images). ``start_here``
    trains the same in every profile, so its committed time stands for both.
    """
    measured = {
        name: t.full_minutes if t.full_minutes is not None else t.committed_minutes
        for name, t in times.items()
        if t.full_minutes is not None or name == "start_here"
    }
    measured_total = sum(measured.values())
    missing = [name for name in times if name not in measured]
    if not missing:
        return f"The whole set in the `full` profile took {hours(measured_total)}."
    ratios = [
        t.full_minutes / t.committed_minutes
        for name, t in times.items()
        if name.startswith("experiment_") and t.full_minutes is not None
    ]
    if not ratios:
        return "No CIFAR-10 notebook has run in the `full` profile yet."
    ratio = statistics.median(ratios)
    estimate = sum(times[name].committed_minutes * ratio for name in missing)
    return (
        f"The whole set in the `full` profile: about {hours(measured_total + estimate)}, "
        f"of which {hours(measured_total)} measured ({len(measured)} notebooks) and about "
        f"{hours(estimate)} estimated for {_listed(missing)} by scaling their committed runs' "
        f"times by {ratio:.1f}, the median ratio of `full` to committed time among the CIFAR-10 "
        "notebooks measured so far."
    )


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
    times = {name: notebook_times(name, full) for name in rows}
    committed_machines = {t.committed_machine for t in times.values()}
    full_machines = {t.full_machine for t in times.values() if t.full_machine}
    one_machine = len(committed_machines | full_machines) == 1
    # Where every run in a column ran on one machine, its heading says which; else each cell.
    committed_heading = _heading("run in the notebooks", committed_machines, one_machine)
    full_heading = _heading("`full` profile", full_machines, one_machine)
    lines = [
        f"| notebook | what you learn | open | {committed_heading} | {full_heading} |",
        "|---|---|---|---|---|",
    ]
    for name, (notebook, what) in rows.items():
        t = times[name]
        committed = f"{t.committed_minutes:.1f} min (`{t.committed_profile}`)"
        if t.full_minutes is not None:
            at_scale = f"{t.full_minutes:.0f} min"
        elif name == "start_here":
            at_scale = "the same: it does not depend on the profile"
        else:
            at_scale = "not measured yet"
        if len(committed_machines) > 1:
            committed += f", {t.committed_machine}"
        if len(full_machines) > 1 and t.full_machine:
            at_scale += f", {t.full_machine}"
        lines.append(f"| {notebook} | {what} | {badges(name)} | {committed} | {at_scale} |")
    where = f" on {committed_machines.pop()}" if one_machine else ""
    lines += ["", f"Wall-clock time from the first cell to the last{where}."]
    return "\n".join(lines)


def times_line(full: dict[str, dict]) -> str:
    """The README's "Three ways in": how long the whole set takes, from the committed runs."""
    times = {name: notebook_times(name, full) for name in NOTEBOOKS}
    machines = {t.committed_machine for t in times.values()}
    where = f" ({machines.pop()})" if len(machines) == 1 else ""
    committed = sum(t.committed_minutes for t in times.values())
    profiles = {t.committed_profile for t in times.values()}
    profile = f"`{profiles.pop()}` profile" if len(profiles) == 1 else "committed runs"
    return (
        f"On a 2-core laptop-class CPU{where}, the whole set takes about {hours(committed)} in "
        f"the {profile}, one notebook after another. {whole_set_in_full(times)}"
    )


def _heading(title: str, machines: set[str], one_machine: bool) -> str:
    return f"{title} ({next(iter(machines))})" if len(machines) == 1 and not one_machine else title


HELD = {True: "held", False: "did not hold", None: "not tested"}


def _full_cell(row: Row) -> str:
    return "not run yet" if row.full is None else HELD[row.full["verdict"]["held"]]


def section(rows: list[Row]) -> str:
    seeds = max(row.seeds for row in rows)
    lines = [
        START,
        "",
        f"| experiment | the claim | over {seeds} seeds (the verdict) | `full` profile (1 seed) "
        "| plots |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        notebook = row.claim.notebook
        plots = f"[notebook's run](docs/results/{notebook}.png)"
        if row.full:
            plots += f", [`full`](results/full/{notebook}.png)"
        outcome = f"**{row.outcome}** ({row.held_in})" if row.outcome else "no study yet"
        lines.append(
            f"| [{row.title}]({notebook}.ipynb) | {row.claim.in_brief} | {outcome} "
            f"| {_full_cell(row)} | {plots} |"
        )
    lines += [
        "",
        "**Held**: in every seed of the [seed study](results/seed_study/README.md); **too close "
        "to call**: on average, not in every seed; **did not hold**: not even on average. The "
        "[`full` runs](results/full/README.md) are the article's 50 epochs on all 50,000 images.",
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
