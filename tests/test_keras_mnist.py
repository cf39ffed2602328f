"""keras_mnist.ipynb runs headless in the smoke profile on the real MNIST."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dl101 import claims, verdicts
from dl101.tensorboard_logs import read_scalars

import nbformat
import pytest
from helpers import REAL_DATA_DIR, executed, outputs, run_notebook

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to the real MNIST"),
]

# Every model trains once, in the order the notebook trains it.
MODELS = [
    *["plain_tensorflow", "softmax", "first_model"],
    *[f"sigmoid_lr_{rate}" for rate in (0.01, 0.1, 1.0, 10.0, 100.0)],
    *[f"sigmoid_batch_{size}" for size in (256, 2048)],
    *["hidden_layers", "augmentation", "convnet"],
]


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory, log_dir: Path) -> nbformat.NotebookNode:
    output_dir = tmp_path_factory.mktemp("executed")
    return executed(run_notebook("keras_mnist", output_dir, log_dir, {"profile_name": "smoke"}))


def test_no_cell_errors_no_tflearn_and_the_first_model_learns(
    notebook: nbformat.NotebookNode,
) -> None:
    assert not [o for o in outputs(notebook) if o.output_type == "error"]
    assert not [o for o in outputs(notebook) if o.get("name") == "stderr"]
    imports_tflearn = re.compile(r"^\s*(import|from) .*tflearn", re.MULTILINE)
    assert not [c for c in notebook.cells if imports_tflearn.search(c.source)]
    text = "".join(o.get("text", "") for o in outputs(notebook))
    (accuracy,) = re.findall(r"^first_model: test loss [\d.]+, test accuracy ([\d.]+)$", text, re.M)
    assert float(accuracy) > 0.8


def test_every_model_logs_to_its_own_folder_with_the_notebooks_seed(
    notebook: nbformat.NotebookNode, log_dir: Path
) -> None:
    for name in MODELS:
        folder = log_dir / "keras_mnist" / name
        assert json.loads((folder / "run_settings.json").read_text())["seed"] == 0, name
        # Keras logs train/ (running averages); every model has the measured training_pass/.
        parts = ("validation", "training_pass", *(["train"] if name != "plain_tensorflow" else []))
        for part in parts:
            assert list((folder / part).glob("events.out.tfevents.*")), f"{name}/{part}"


def test_the_tables_list_every_model_and_each_step_against_the_model_it_changes(
    notebook: nbformat.NotebookNode,
) -> None:
    data = [o.data for o in outputs(notebook) if "data" in o]
    header = "| run | final validation accuracy |"
    (table,) = [d["text/markdown"] for d in data if d.get("text/markdown", "").startswith(header)]

    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")]
    assert rows == MODELS
    # The sample digits, the learning rates, the batch sizes, the convnet's filters and
    # mistakes, and one change at a time.
    assert sum("image/png" in d for d in data) == 7
    (cell,) = [c for c in notebook.cells if c.source == "dl101.claims.mnist_steps(table)"]
    (steps,) = [o.data["text/markdown"] for o in cell.outputs if "data" in o]
    for model, base, _ in claims.MNIST_STEPS:
        assert f"| {model}: " in steps and f"(minus {base}) |" in steps
    assert "| verdict over the seeds |" in steps


def test_what_the_convnet_recorded_is_what_it_trained_with(
    notebook: nbformat.NotebookNode, log_dir: Path
) -> None:
    folder = log_dir / "keras_mnist" / "convnet"
    recorded = json.loads((folder / "run_settings.json").read_text())
    (cell,) = [c for c in notebook.cells if 'train(\n    "convnet"' in c.source]
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    curves = read_scalars(folder)

    steps = -(-recorded["training_examples"] // recorded["batch_size"])
    assert re.findall(r"^(\d+)/\1 - ", printed, re.M) == [str(steps)] * recorded["epochs"]
    assert len(curves["validation/epoch_accuracy"].values) == recorded["epochs"]
    final_rate = curves["train/epoch_learning_rate"].values[-1]
    assert final_rate == pytest.approx(recorded["learning_rate"])
    assert recorded["optimizer"] == "Adam"


def test_the_seed_study_runs_the_notebook_with_a_seed_and_records_every_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maintainers import seed_study

    monkeypatch.setenv("DL101_DATA_DIR", str(REAL_DATA_DIR))
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path / "records"))
    monkeypatch.setenv("DL101_LOG_DIR", str(tmp_path / "logs"))

    # Seed 0 is recorded already (made up here): only seed 1 is run.
    for name in seed_study.NOTEBOOK_RUNS["keras_mnist"]:
        path = verdicts.record_path(verdicts.MNIST_RECORD_PREFIX + name, 0)
        path.parent.mkdir(parents=True)
        path.write_text("{}")

    assert seed_study.main(["--profile", "smoke", "--seeds", "2", "--runs", "keras_mnist"]) == 0

    for name in MODELS:
        record = json.loads(
            verdicts.record_path(verdicts.MNIST_RECORD_PREFIX + name, 1).read_text()
        )
        assert record["settings"]["seed"] == 1 and record["profile"] == "smoke", name
        assert len(record["validation_accuracy"]) == 1  # one epoch in the smoke profile
    assert verdicts.record_path(verdicts.MNIST_RECORD_PREFIX + "convnet", 0).read_text() == "{}"
    assert seed_study.missing(range(2), ["keras_mnist"]) == []
