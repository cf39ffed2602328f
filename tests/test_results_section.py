"""The README's notebook table: its prose kept as written, its times filled in from the runs."""

from __future__ import annotations

from pathlib import Path

from dl101 import claims
from dl101.verdicts import RunNumbers
from maintainers import results_section

import numpy as np
import pytest

TABLE = """
| notebook | what you learn |
|---|---|
| [`start_here.ipynb`](start_here.ipynb) | one neuron |
| `experiment_2_l2.ipynb` | L2, written by hand |
| [`keras_mnist.ipynb`](keras_mnist.ipynb) | Keras |
"""


def test_the_notebook_table_keeps_its_prose_and_gains_each_notebooks_times() -> None:
    full_run = {"wall_time_seconds": 12.4 * 60, "machine": {"processor": "Some CPU", "cores": 8}}
    table = results_section.notebook_table(TABLE, {"keras_mnist": full_run})
    rows = table.splitlines()

    assert rows[0] == "| notebook | what you learn | open | committed run | `full` profile |"
    start_here = "| [`start_here.ipynb`](start_here.ipynb) | one neuron | [![Open In Colab]("
    assert rows[2].startswith(start_here)
    assert rows[2].endswith(" min (`cpu`) | the same: it does not depend on the profile |")
    assert rows[3].startswith("| `experiment_2_l2.ipynb` | L2, written by hand | ")
    assert rows[3].endswith(" | not measured yet |")
    assert rows[4].endswith(" min (`cpu`) | 12 min |")
    # Each column's machine is named once, under the table.
    assert table.endswith("; full runs on Some CPU, 8 cores).")
    assert "Some CPU" not in "\n".join(rows[:-1])


def test_a_results_entry_gives_each_part_its_own_verdict_from_the_studys_records() -> None:
    """Dropout narrows the gap in every seed, but costs accuracy in one of five."""
    without = RunNumbers(np.array([0.5, 0.6]), np.array([0.7, 0.8]), np.array([10.0, 20.0]))
    with_dropout = {
        seed: RunNumbers(np.array([0.5, 0.6 + m]), np.array([0.6, 0.65]), np.array([10.0, 20.0]))
        for seed, m in enumerate([0.01, 0.02, -0.01, 0.03, 0.02])
    }
    records = {"base": dict.fromkeys(range(5), without), "base_dropout": with_dropout}

    verdict = claims.verdict(claims.DROPOUT, None, records)
    text = results_section.section([verdict], {"experiment_1_dropout": {"status": "published"}})

    assert f"**[Dropout](experiment_1_dropout.ipynb)**: {claims.DROPOUT.in_brief}." in text
    held = "**held in every seed** (5 of 5 seeds;"
    assert f"- smaller gap (gap without minus gap with): {held}" in text
    assert (
        "- validation accuracy no lower (with minus without; this tutorial's test): **no clear "
        "effect (the seeds disagree)** (4 of 5 seeds; +1.4 ± 1.5 (-1.0 to +3.0))"
    ) in text
    assert "[the `full` run](results/full/README.md#experiment_1_dropout)" in text


def test_the_check_fails_when_the_readme_disagrees_with_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(results_section.README.read_text().replace("seeds of the [seed study]", "s"))
    monkeypatch.setattr(results_section, "README", readme)

    assert results_section.main(["--check"]) == 1
