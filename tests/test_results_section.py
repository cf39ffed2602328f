"""The README's notebook table: its prose kept as written, its times filled in from the runs."""

from __future__ import annotations

from dl101 import claims
from dl101.verdicts import RunNumbers
from maintainers import results_section

import numpy as np

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

    # The committed runs on one machine, the `full` run on another: each heading names its own.
    assert rows[0].startswith("| notebook | what you learn | open | run in the notebooks (")
    assert rows[0].endswith(" | `full` profile (Some CPU, 8 cores) |")
    assert rows[2].startswith(
        "| [`start_here.ipynb`](start_here.ipynb) | one neuron | [![Open In Colab]("
    )
    assert rows[2].endswith(" min (`cpu`) | the same: it does not depend on the profile |")
    assert rows[3].startswith("| `experiment_2_l2.ipynb` | L2, written by hand | ")
    assert rows[3].endswith(" | not measured yet |")
    assert rows[4].endswith(" min (`cpu`) | 12 min |")
    assert table.endswith("Wall-clock time from the first cell to the last.")


def test_where_a_column_ran_on_two_machines_each_of_its_times_says_where() -> None:
    full = {"start_here": _full_run(1.0, "Some CPU"), "keras_mnist": _full_run(12.4, "Other CPU")}
    rows = results_section.notebook_table(TABLE, full).splitlines()

    assert rows[0].endswith(" | `full` profile |")
    assert rows[2].endswith(" | 1 min, Some CPU, 8 cores |")
    assert rows[4].endswith(" | 12 min, Other CPU, 8 cores |")


def test_on_one_machine_the_table_names_it_once() -> None:
    table = results_section.notebook_table(TABLE, {})

    (line,) = [row for row in table.splitlines() if row.startswith("| `experiment_2_l2")]
    assert line.count(" | ") == 4 and ", 2 cores" not in line
    assert "Wall-clock time from the first cell to the last on " in table


def _times(committed: float, full: float | None) -> results_section.Times:
    machine = "Some CPU, 2 cores" if full is not None else None
    return results_section.Times(committed, "cpu", "Some CPU, 2 cores", full, machine)


def test_the_whole_sets_time_is_estimated_only_for_what_has_not_run() -> None:
    times = {
        "start_here": _times(0.5, None),
        "experiment_0_few_layers": _times(2.0, 20.0),
        "experiment_2_l2": _times(8.0, 96.0),
        "experiment_1_dropout": _times(8.0, 110.0),
        "experiment_4_learning_rate": _times(12.0, None),
        "keras_mnist": _times(5.0, 15.0),
    }

    line = results_section.whole_set_in_full(times)

    # measured 0.5 + 20 + 96 + 110 + 15 min; the median full/committed ratio of the three
    # CIFAR-10 notebooks (10, 12, 13.75) is 12, so experiment 4's 12 minutes become 144.
    assert line == (
        "The whole set in the `full` profile: about 6 h 26 min, of which 4 h 02 min measured "
        "(5 notebooks) and about 2 h 24 min estimated for experiment_4_learning_rate by scaling "
        "their committed runs' times by 12.0, the median ratio of `full` to committed time among "
        "the CIFAR-10 notebooks measured so far."
    )
    times["experiment_4_learning_rate"] = _times(12.0, 150.0)
    assert results_section.whole_set_in_full(times) == (
        "The whole set in the `full` profile took 6 h 32 min."
    )


def test_a_results_row_is_the_studys_verdict_judged_from_its_records() -> None:
    """Dropout narrows the gap in every seed, but costs accuracy in one of five: too close."""
    without = RunNumbers(np.array([0.5, 0.6]), np.array([0.7, 0.8]), np.array([10.0, 20.0]))
    with_dropout = {
        seed: RunNumbers(np.array([0.5, 0.6 + m]), np.array([0.6, 0.65]), np.array([10.0, 20.0]))
        for seed, m in enumerate([0.01, 0.02, -0.01, 0.03, 0.02])
    }
    records = {"base": dict.fromkeys(range(5), without), "base_dropout": with_dropout}

    row = results_section.read_row(claims.DROPOUT, records, {"verdict": {"held": False}})
    text = results_section.section([row])

    assert "| over 5 seeds (the verdict) | `full` profile (1 seed) |" in text
    assert (
        "| [Dropout](experiment_1_dropout.ipynb) | a smaller gap between training and validation, "
        "at no cost in accuracy (the article) | **too close to call** (4 of 5) | did not hold "
        "| [notebook's run](docs/results/experiment_1_dropout.png), "
        "[`full`](results/full/experiment_1_dropout.png) |"
    ) in text
