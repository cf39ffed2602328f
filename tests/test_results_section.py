"""The README's notebook table: its prose kept as written, its times filled in from the runs."""

from __future__ import annotations

from maintainers import results_section

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


def test_a_results_row_says_each_outcome_in_a_word_or_two() -> None:
    row = results_section.Row(
        "experiment_2_l2", "L2", "a smaller gap", "held", 5, "too close to call", "4 of 5", "cpu", b"",
        {"verdict": {"held": False}},
    )  # fmt: skip
    text = results_section.section([row], {})

    assert "| run in the notebook (`cpu` profile) | over 5 seeds (the verdict) |" in text
    assert (
        "| [L2](experiment_2_l2.ipynb) | a smaller gap | held | **too close to call** (4 of 5) "
        "| did not hold | [notebook's run](docs/results/experiment_2_l2.png), "
        "[`full`](results/full/experiment_2_l2.png) |"
    ) in text


def test_the_verdict_of_a_notebooks_own_run_is_read_apart_from_the_studys() -> None:
    parts = results_section.VERDICT_PARTS.match(
        "in this run it did not hold; over the study's 5 seeds: **held in every seed**"
    )
    assert parts and parts["this_run"] == "did not hold" and parts["seeds"] == "5"
    assert parts["outcome"] == "held in every seed"
    # A verdict on the study's runs alone is not the notebook's own.
    assert not results_section.VERDICT_PARTS.match("this notebook does not train these runs; ...")
