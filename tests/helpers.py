"""Small data sets in the official layouts, and notebook runs, for several test modules."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

from dl101 import data, runs
from dl101.paths import REPO_ROOT
from maintainers.run_notebooks import Outcome, execute

import nbformat
import numpy as np
import pytest

IMAGES_PER_BATCH = 20
# The real data sets, if the run was pointed at them: read before conftest's fixture hides it.
REAL_DATA_DIR = os.environ.get("DL101_DATA_DIR")


def cifar10_batch(first_label: int, count: int = IMAGES_PER_BATCH) -> dict:
    """A batch in the official layout, of random pixels seeded by ``first_label``."""
    rng = np.random.default_rng(first_label)
    pixels = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
    labels = [(first_label + i) % 10 for i in range(count)]
    names = [f"image_{i}.png" for i in range(count)]
    return {"batch_label": "generated", "labels": labels, "data": pixels, "filenames": names}


def write_cifar10(folder: Path) -> dict[str, dict]:
    """A small CIFAR-10 in ``folder``: five training batches and a test batch."""
    folder.mkdir(parents=True, exist_ok=True)
    batches = {name: cifar10_batch(i) for i, name in enumerate(data.CIFAR10_TRAIN_BATCHES)}
    batches[data.CIFAR10_TEST_BATCH] = cifar10_batch(7)
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(data.CIFAR10_CLASSES)}))
    return batches


def write_mnist(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez_compressed(
        path,
        x_train=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 60, dtype=np.uint8),
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 10, dtype=np.uint8),
    )


def cifar10_archive(tmp_path: Path) -> bytes:
    """A tar.gz shaped like the official cifar-10-python.tar.gz, around small batches."""
    write_cifar10(tmp_path / "archive_source" / data.CIFAR10_FOLDER)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "archive_source" / data.CIFAR10_FOLDER, arcname=data.CIFAR10_FOLDER)
    return buffer.getvalue()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def run_notebook(
    name: str, output_dir: Path, log_dir: Path, parameters: dict[str, object] | None = None
) -> Outcome:
    """Execute a notebook in a fresh kernel, logging to ``log_dir``, on the real data if known."""
    with pytest.MonkeyPatch.context() as environment:
        if REAL_DATA_DIR is not None:
            environment.setenv("DL101_DATA_DIR", REAL_DATA_DIR)
        environment.setenv("DL101_LOG_DIR", str(log_dir))
        return execute(REPO_ROOT / f"{name}.ipynb", output_dir, parameters)


def executed(outcome: Outcome) -> nbformat.NotebookNode:
    """The executed notebook of a run that must have succeeded."""
    assert outcome.succeeded, outcome.detail
    return nbformat.read(outcome.executed, as_version=4)


def outputs(notebook: nbformat.NotebookNode) -> list:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def train_small_classifier(run: runs.Run, epochs: int) -> tuple[Any, np.ndarray]:
    """A trained softmax ``tflearn.DNN`` with featurewise preprocessing, and its random points.
    tflearn is imported here so that modules which never train keep TensorFlow out of graph mode."""
    from dl101.tflearn_training import TrainingPass, new_graph

    import tflearn

    rng = np.random.default_rng(0)
    points = rng.normal(5.0, 2.0, size=(400, 4)).astype(np.float32)
    labels = np.eye(2)[(points.sum(axis=1) > 20).astype(int)]
    new_graph()
    preprocessing = tflearn.ImagePreprocessing()
    preprocessing.add_featurewise_zero_center()
    preprocessing.add_featurewise_stdnorm()
    net = tflearn.input_data(shape=[None, 4], data_preprocessing=preprocessing)
    net = tflearn.fully_connected(net, 2, activation="softmax")
    net = tflearn.regression(net, optimizer="adam", learning_rate=0.05)  # cross-entropy loss
    model = tflearn.DNN(net, tensorboard_dir=run.tensorboard_dir)
    model.fit(
        points[:300],
        labels[:300],
        n_epoch=epochs,
        batch_size=50,
        validation_set=(points[300:], labels[300:]),
        show_metric=True,
        run_id=run.run_id,
        callbacks=TrainingPass(model, points[:300], labels[:300], run),
    )
    return model, points


def write_notebook(path: Path, *sources: str) -> Path:
    """A notebook at ``path`` whose code cells are ``sources``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)
    return path
