"""start_here.ipynb runs headless from a fresh kernel, twice, and teaches what it claims."""

from __future__ import annotations

import re

from dl101 import tensorboard_logs

import nbformat
import pytest
from helpers import executed, outputs, run_notebook

pytestmark = pytest.mark.notebook

# Every run the notebook logs, in order; the last, slow_steps, has no answers to check.
RUNS = [
    *["or", "more_epochs", "no_bias", "tanh", "relu", "linear", "adam", "cross_entropy"],
    *["and", "not", "integers", "xor_one_neuron", "xor_hidden_layer", "faster", "slow_steps"],
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The notebook executed twice in a row into one log directory."""
    log_dir = tmp_path_factory.mktemp("logs")
    outcomes = [
        run_notebook("start_here", tmp_path_factory.mktemp(run), log_dir, {"seeds_per_network": 2})
        for run in ("first", "second")
    ]
    return {"log_dir": log_dir, "outcomes": outcomes}


def output_of(notebook: nbformat.NotebookNode, source_fragment: str) -> str:
    """The printed text of the one code cell whose source contains ``source_fragment``."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and source_fragment in c.source]
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def answers(notebook: nbformat.NotebookNode, run: str, operator: str = "or") -> dict[str, float]:
    """The probabilities the model of ``run`` printed, by question."""
    text = output_of(notebook, f'answers_right["{run}"]')
    pattern = rf"^(\d {operator} \d): (\d\.\d+)$"
    return {q: float(p) for q, p in re.findall(pattern, text, flags=re.MULTILINE)}


def test_both_runs_finish_cleanly_stay_small_and_show_the_plots_and_table(runs: dict) -> None:
    for outcome in runs["outcomes"]:
        notebook = executed(outcome)
        assert not [o for o in outputs(notebook) if o.output_type == "error"]
        assert not [o for o in outputs(notebook) if o.get("name") == "stderr"], "no stderr"
        size = outcome.executed.stat().st_size
        assert size < 200_000, f"{size:,} bytes: per-step progress is being kept"
        data = [o.data for o in outputs(notebook) if "data" in o]
        assert sum("image/png" in d for d in data) == 2
        markdown = [d.get("text/markdown", "") for d in data]
        (table,) = [shown for shown in markdown if "| run | final loss |" in shown]
        for name in RUNS[:-1]:
            assert f"| {name} | " in table


def test_or_is_learned_xor_needs_the_hidden_layer_and_no_bias_answers_half(runs: dict) -> None:
    notebook = executed(runs["outcomes"][0])

    predicted = answers(notebook, "or")
    assert list(predicted) == ["0 or 0", "0 or 1", "1 or 0", "1 or 1"]
    assert predicted["0 or 0"] < 0.5 < min(list(predicted.values())[1:])
    assert output_of(notebook, 'answers_right["or"]').rstrip().endswith("It's working!")
    assert "Not yet right" in output_of(notebook, 'answers_right["xor_one_neuron"]')
    xor = answers(notebook, "xor_hidden_layer", "xor")
    assert max(xor["0 xor 0"], xor["1 xor 1"]) < 0.5 < min(xor["0 xor 1"], xor["1 xor 0"])
    assert answers(notebook, "no_bias")["0 or 0"] == 0.5
    assert "0 or 0 should be 0" in output_of(notebook, 'answers_right["no_bias"]')


def test_every_run_logs_to_its_own_folder_and_reruns_are_kept_apart(runs: dict) -> None:
    folder = runs["log_dir"] / "start_here"
    for name in RUNS:
        current = list((folder / name).glob("events.out.tfevents.*"))
        previous = [p for p in folder.glob(f"{name}.previous-*") if p.is_dir()]
        assert len(current) == 1, f"{name}: the second run mixed into the first"
        assert len(previous) == 1, f"{name}: the first run was not kept aside"
        assert len(list(previous[0].glob("events.out.tfevents.*"))) == 1
    or_loss = tensorboard_logs.read_scalars(folder / "or")["Loss"]
    assert or_loss.steps.max() == 2000 and len(or_loss.steps) < 2000

    kept_aside = output_of(executed(runs["outcomes"][1]), 'experiment.new_run("or")')
    assert "An earlier run named 'start_here/or' was kept aside" in kept_aside


def test_the_xor_networks_are_counted_over_seeds_each_in_its_own_run(runs: dict) -> None:
    notebook = executed(runs["outcomes"][0])
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and "learned = {" in c.source]
    # One output: the table. The sixty trainings show no progress (quiet_training).
    (shown,) = [o.data["text/markdown"] for o in cell.outputs]

    for variant in ("| 4 | truncated_normal |", "| 4 | xavier |", "| 2 | xavier |"):
        assert re.search(re.escape(variant) + r" \d of 2 seeds \|", shown), variant
    seed_runs = runs["log_dir"] / "start_here" / "xor_seeds"
    # Each (network, seed) has its run folder; the second execution set the first one's aside.
    recorded = sorted(
        f"{p.parent.parent.name}/{p.parent.name}"
        for p in seed_runs.glob("*/*/run_settings.json")
        if ".previous-" not in p.parent.name
    )
    variants = ["2_xavier", "4_truncated_normal", "4_xavier"]
    assert recorded == [f"{variant}/seed_{seed}" for variant in variants for seed in (0, 1)]
    assert '"seed": 1' in (seed_runs / "4_xavier" / "seed_1" / "run_settings.json").read_text()
