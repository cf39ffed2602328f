"""The six CIFAR-10 experiment notebooks run headless in the smoke profile on the real data."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

from dl101 import claims
from dl101.tensorboard_logs import read_scalars
from dl101.verdicts import Outcome, summary_numbers
from maintainers import results_archive
from maintainers.run_notebooks import stamp_executed

import nbformat
import pytest
from helpers import REAL_DATA_DIR, executed, outputs, run_notebook

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to the real CIFAR-10"),
]

# Notebook -> the runs its results table lists, in the order the tests execute the notebooks.
TABLE_ROWS = {
    "experiment_0_few_layers": ["few_layers", "linear"],
    "experiment_0_three_layer_sets": ["three_layer_sets", "few_layers"],
    "experiment_1_dropout": ["without_dropout", "with_dropout"],
    "experiment_2_l2": ["without_l2", "with_l2"],
    "experiment_3_batch_size": ["batch_50", "batch_2000"],
    "experiment_4_learning_rate": ["lr_0.0001", "lr_0.001", "lr_0.01"],
}
# Notebook -> the run folders it trains: the two experiment_0 notebooks share one log group,
# and experiment_0_three_layer_sets compares its run with the few_layers run trained before it.
EXPECTED_RUNS = {
    "experiment_0_few_layers": ["experiment_0/few_layers", "experiment_0/linear"],
    "experiment_0_three_layer_sets": ["experiment_0/three_layer_sets"],
    **{
        name: [f"{name}/{run}" for run in rows]
        for name, rows in TABLE_ROWS.items()
        if not name.startswith("experiment_0")
    },
}


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    log_dir = tmp_path_factory.mktemp("logs")
    output_dir = tmp_path_factory.mktemp("executed")
    outcomes = {
        name: run_notebook(name, output_dir, log_dir, {"profile_name": "smoke"})
        for name in EXPECTED_RUNS
    }
    return {"log_dir": log_dir, "outcomes": outcomes}


def executed_notebook(smoke_runs: dict, name: str) -> nbformat.NotebookNode:
    return executed(smoke_runs["outcomes"][name])


@pytest.mark.parametrize("name", EXPECTED_RUNS)
def test_notebook_runs_logs_what_it_trained_with_and_tables_every_run(
    smoke_runs: dict, name: str
) -> None:
    notebook = executed_notebook(smoke_runs, name)

    assert not [o for o in outputs(notebook) if o.output_type == "error"]
    assert not [o for o in outputs(notebook) if o.get("name") == "stderr"]
    printed = "".join(o.get("text", "") for o in outputs(notebook))
    assert "Run profile: smoke" in printed
    for run in EXPECTED_RUNS[name]:
        folder: Path = smoke_runs["log_dir"] / run
        recorded = json.loads((folder / "run_settings.json").read_text())
        assert recorded["profile"] == "smoke"
        validation = read_scalars(folder)["Accuracy/Validation"]
        assert len(validation.steps) == recorded["epochs"]
        # tflearn validates at the end of each epoch: ceil(training images / batch size) steps.
        steps_per_epoch = -(-recorded["training_examples"] // recorded["batch_size"])
        assert validation.steps[0] == steps_per_epoch
        # One line per epoch, from the measured training pass; tflearn's header is silenced.
        last = f"epoch {recorded['epochs']}/{recorded['epochs']}: training accuracy"
        assert last in printed and "Training samples" not in printed
    data = [o.data for o in outputs(notebook) if "data" in o]
    header = "| run | final validation accuracy |"
    (table,) = [d["text/markdown"] for d in data if d.get("text/markdown", "").startswith(header)]
    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")]
    assert sorted(rows) == sorted(TABLE_ROWS[name])
    assert any("image/png" in d for d in data), "no comparison plot"


def test_what_we_saw_is_written_from_the_results(smoke_runs: dict) -> None:
    notebook = executed_notebook(smoke_runs, "experiment_1_dropout")
    heading = f"**{claims.DROPOUT.title}.**"
    markdown = [o.get("data", {}).get("text/markdown", "") for o in outputs(notebook)]

    (text,) = [shown for shown in markdown if heading in shown]
    outcomes = "|".join(re.escape(f"**{outcome.value}**") for outcome in Outcome)
    for part in claims.DROPOUT.parts:
        assert re.search(
            rf"\| {re.escape(part.text)} \| [+-]\d+\.\d points \((held|did not hold)\) \| "
            rf"(.* \| \d of \d \| ({outcomes})|no seeds recorded yet \| \| ) \|",
            text,
        ), text


def test_without_its_partner_a_notebook_says_which_to_run(smoke_runs: dict) -> None:
    notebook = executed_notebook(smoke_runs, "experiment_0_few_layers")
    printed = "".join(o.get("text", "") for o in outputs(notebook))

    # The few-layer notebook ran first, so its partner had not run yet.
    assert re.search(
        r"Not compared with experiment_0/three_layer_sets: that run has not been run yet\. "
        r"To compare, run experiment_0_three_layer_sets\.ipynb in the smoke profile",
        printed,
    )


def test_the_experiment_0_notebooks_show_a_hand_convolution_and_what_the_network_learned(
    smoke_runs: dict,
) -> None:
    few = executed_notebook(smoke_runs, "experiment_0_few_layers").cells
    three = executed_notebook(smoke_runs, "experiment_0_three_layer_sets").cells
    hand = [c for c in few if c.cell_type == "code" and "dl101.side_by_side(" in c.source]
    inside = [c for c in three if c.cell_type == "code" and "look_inside." in c.source]

    assert len(hand) == 1 and len(inside) == 5
    for cell in hand + inside:
        assert [o for o in cell.outputs if "image/png" in o.get("data", {})], cell.source


def test_the_archive_publishes_each_notebooks_verdict_from_its_logs(
    smoke_runs: dict, tmp_path: Path
) -> None:
    executed_dir = tmp_path / "executed"
    executed_dir.mkdir()
    for outcome in smoke_runs["outcomes"].values():
        copy = executed_dir / outcome.executed.name
        shutil.copy(outcome.executed, copy)
        stamp_executed(dataclasses.replace(outcome, executed=copy), "smoke")
    out = tmp_path / "published"
    arguments = ["--profile", "smoke", "--log-dir", str(smoke_runs["log_dir"])]
    arguments += ["--executed-dir", str(executed_dir), "--out", str(out)]

    assert results_archive.main(arguments) == 0

    entries = {e["notebook"]: e for e in json.loads((out / "summary.json").read_text())}
    report = (out / "README.md").read_text()
    for name in EXPECTED_RUNS:
        entry = entries[name]
        assert entry["status"] == "published", name
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
        assert entry["table"] in report
        # The archive judges the numbers it published as the notebook judged its own run.
        (shown,) = [
            o.data["text/markdown"]
            for o in outputs(nbformat.read(out / f"{name}.ipynb", as_version=4))
            if "| part of the claim | this run |" in o.get("data", {}).get("text/markdown", "")
            and "| not trained here |" not in o.data["text/markdown"]  # the study's runs alone
        ]
        claim = next(p.claim for p in results_archive.NOTEBOOKS if p.notebook == name)
        assert claim is not None
        verdict = claims.verdict(claim, None, {}, summary_numbers(entry["numbers"]))
        assert verdict.claim.text in shown
        for part in verdict.parts:
            assert f"| {part.part.text} | {part.in_one_run(part.full)} |" in shown
            if part.full is not None:
                assert f"- {part.part.text}: {part.in_one_run(part.full)}" in report
    assert entries["keras_mnist"]["status"] == "not run yet (no logs of keras_mnist)"
    assert not list(out.rglob("events.out.tfevents*"))
    assert str(smoke_runs["log_dir"]) not in "".join(p.read_text() for p in out.glob("*.ipynb"))
