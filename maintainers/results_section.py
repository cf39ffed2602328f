"""Write the README's Results section (from the seed study's records, ``results/full`` and the
committed notebooks' plots) and its notebooks' times (from their stamps), never by hand::

    python -m maintainers.results_section           # rewrite the section and the pictures
    python -m maintainers.results_section --check   # exit 1 if the README disagrees with its sources
"""

from __future__ import annotations

import argparse
import base64
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence

from dl101 import claims, verdicts
from dl101.paths import REPO_ROOT
from dl101.verdicts import published_entries
from maintainers.hosted import badges
from maintainers.notebook_outputs import METADATA_KEY, machine_text
from maintainers.run_notebooks import NOTEBOOKS

import nbformat

README = REPO_ROOT / "README.md"
PICTURES = REPO_ROOT / "docs" / "results"
START = "<!-- results: written by `python -m maintainers.results_section` from the seed study's records, results/full and the notebooks' plots -->"
END = "<!-- end of results -->"
TABLE_START = (
    "<!-- notebooks: the time columns are written by `python -m maintainers.results_section` -->"
)
TABLE_END = "<!-- end of notebooks -->"
TIMES_START = "<!-- times: written by `python -m maintainers.results_section` -->"
TIMES_END = "<!-- end of times -->"


def committed_plot(notebook: str) -> bytes:
    """The comparison plot the notebook's committed run drew."""
    cells = nbformat.read(REPO_ROOT / f"{notebook}.ipynb", as_version=4).cells
    for cell in (cell for cell in cells if "dl101.plot_runs(" in cell.source):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                return base64.b64decode(output["data"]["image/png"])
    raise ValueError(f"{notebook}.ipynb shows no plot of its runs: run `make outputs`.")


def _committed_stamp(name: str) -> dict:
    stamp = nbformat.read(REPO_ROOT / f"{name}.ipynb", as_version=4).metadata.get(METADATA_KEY)
    if not stamp:
        raise ValueError(f"{name}.ipynb has no committed outputs: run `make outputs`.")
    return stamp


def notebook_table(table: str, full: dict[str, dict]) -> str:
    """The README's notebook table, its prose kept as written, with each notebook's times added."""
    lines = [
        "| notebook | what you learn | open | committed run | `full` profile |",
        "|---|---|---|---|---|",
    ]
    machines: dict[str, set[str]] = {"committed": set(), "full": set()}
    for line in table.strip().splitlines():
        row = re.match(
            r"\| (?P<notebook>[^|]*?(?P<name>\w+)\.ipynb[^|]*?) \| (?P<what>[^|]*?) \|", line
        )
        if not row:
            continue
        name, stamp = row["name"], _committed_stamp(row["name"])
        machines["committed"].add(machine_text(stamp))
        committed = f"{stamp['wall_time_seconds'] / 60:.1f} min (`{stamp['profile']}`)"
        if name in full:
            machines["full"].add(machine_text(full[name]))
            at_scale = f"{full[name]['wall_time_seconds'] / 60:.0f} min"
        elif name == "start_here":
            at_scale = "the same: it does not depend on the profile"
        else:
            at_scale = "not measured yet"
        lines.append(
            f"| {row['notebook']} | {row['what']} | {badges(name)} | {committed} | {at_scale} |"
        )
    where = "; ".join(
        f"{column} runs on {' and '.join(sorted(found))}"
        for column, found in machines.items()
        if found
    )
    return "\n".join([*lines, "", f"Wall-clock time from the first cell to the last ({where})."])


def times_line(full: dict[str, dict]) -> str:
    """The README's "Three ways in": how long the whole set takes, from the committed runs."""

    def hours(seconds: float) -> str:
        whole = round(seconds / 60)
        return f"{whole // 60} h {whole % 60:02d} min" if whole >= 60 else f"{whole} min"

    stamps = {name: _committed_stamp(name) for name in NOTEBOOKS}
    machines = " and ".join(sorted({machine_text(stamp) for stamp in stamps.values()}))
    profiles = " and ".join(sorted({f"`{stamp['profile']}`" for stamp in stamps.values()}))
    committed = math.fsum(stamp["wall_time_seconds"] for stamp in stamps.values())
    # start_here trains the same in every profile: its committed run stands for `full` too.
    measured = [
        full.get(name, stamp if name == "start_here" else None) for name, stamp in stamps.items()
    ]
    full_seconds = math.fsum(entry["wall_time_seconds"] for entry in measured if entry)
    text = f"On a 2-core CPU ({machines}), the whole set takes about {hours(committed)} in the {profiles} profile, one notebook after another. "
    if all(measured):
        return text + f"The whole set in the `full` profile took {hours(full_seconds)}."
    return (
        text
        + f"In the `full` profile, {sum(map(bool, measured))} of {len(stamps)} notebooks have run so far, in {hours(full_seconds)}."
    )


def section(judged: Sequence[claims.Verdict], full: Mapping[str, dict]) -> str:
    """The Results section, between its markers: each claim over the study's seeds."""
    seeds = max(len(part.seeds) for verdict in judged for part in verdict.parts)
    lines = [""]
    for verdict in judged:
        notebook, topic = verdict.claim.notebook, verdict.claim.title.split(": ", 1)[1]
        title = f"**[{topic[0].upper() + topic[1:]}]({notebook}.ipynb)**"
        lines += ["", f"{title}: {verdict.claim.in_brief}.", ""]
        for part in verdict.parts:
            said = "no seeds recorded yet"
            if part.outcome is not None:
                at_scale = "" if part.full is None else f"; `full` run {part.in_one_run(part.full)}"
                said = f"**{part.verdict}** ({part.held_in} seeds; {part.spread}){at_scale}"
            lines.append(f"- {part.part.text}: {said}")
        plots = f"[the notebook's run](docs/results/{notebook}.png)"
        if notebook in full:
            plots += f", [the `full` run](results/full/README.md#{notebook})"
        lines += ["", f"Plots: {plots}."]
    lines += [
        "",
        f"Each part is judged over the {seeds} seeds of the [seed study](results/seed_study/README.md), which says how. "
        "The [`full` runs](results/full/README.md) are the article's 50 epochs on all 50,000 images, one seed each, their training accuracy tflearn's running average.",
        "",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args(argv)
    full, records = published_entries(), verdicts.load_numbers()
    judged = [claims.verdict(c, None, records) for c in claims.EXPERIMENT_CLAIMS if c.in_brief]
    readme = expected = README.read_text()
    written: list[tuple[str, str, Callable[[str], str]]] = [
        (START, END, lambda _: section(judged, full)),
        (TABLE_START, TABLE_END, lambda table: f"\n\n{notebook_table(table, full)}\n\n"),
        (TIMES_START, TIMES_END, lambda _: f"\n\n{times_line(full)}\n\n"),
    ]
    for start, end, write in written:
        if start not in expected or end not in expected:
            raise ValueError(f"README.md has lost its markers: put {start!r} and {end!r} back.")
        before, rest = expected.split(start, 1)
        inside, after = rest.split(end, 1)
        expected = before + start + write(inside) + end + after
    pictures = {
        PICTURES / f"{v.claim.notebook}.png": committed_plot(v.claim.notebook) for v in judged
    }
    stale = expected != readme or any(
        not path.is_file() or path.read_bytes() != content for path, content in pictures.items()
    )
    if args.check:
        if stale:
            print("README.md's results disagree with the notebooks: run python -m maintainers.results_section")  # fmt: skip
        return int(stale)
    PICTURES.mkdir(parents=True, exist_ok=True)
    for path, content in pictures.items():
        path.write_bytes(content)
    README.write_text(expected)
    print(f"Wrote the results of {len(judged)} experiments into README.md and {PICTURES.relative_to(REPO_ROOT)}/.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
