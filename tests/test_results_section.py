"""The README's notebook table: its prose kept as written, its times filled in from the runs."""

from __future__ import annotations

from dl101 import results_section

TABLE = """
| notebook | what you learn |
|---|---|
| [`start_here.ipynb`](start_here.ipynb) | one neuron |
| `experiment_2_l2.ipynb` | L2, written by hand |
| [`keras_mnist.ipynb`](keras_mnist.ipynb) | Keras |
"""


def _full_run(minutes: float, processor: str) -> dict:
    return {"wall_time_seconds": minutes * 60, "machine": {"processor": processor, "cores": 8}}


def test_the_notebook_table_keeps_its_prose_and_gains_each_notebooks_times() -> None:
    table = results_section.notebook_table(TABLE, {"keras_mnist": _full_run(12.4, "Some CPU")})
    rows = table.splitlines()

    assert rows[0] == "| notebook | what you learn | committed run | `full` profile |"
    assert rows[2].startswith("| [`start_here.ipynb`](start_here.ipynb) | one neuron | ")
    assert rows[2].endswith(" | the same: it does not depend on the profile |")
    assert rows[3].startswith("| `experiment_2_l2.ipynb` | L2, written by hand | ")
    assert rows[3].endswith(" | not measured yet |")
    # Two machines measured: each time says where it was measured.
    assert rows[4].endswith(" | 12 min, Some CPU, 8 cores |")
    assert "min (`cpu`), " in rows[4]
    assert "one notebook at a time:" in table


def test_on_one_machine_the_table_names_it_once() -> None:
    table = results_section.notebook_table(TABLE, {})

    (line,) = [row for row in table.splitlines() if row.startswith("| `experiment_2_l2")]
    assert line.count(" | ") == 3 and ", 2 cores" not in line
    assert "one notebook at a time on " in table
