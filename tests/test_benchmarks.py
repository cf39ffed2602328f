"""The benchmark runs as docs/performance.md gives it, from any folder, on the notebook's own network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dl101.paths import REPO_ROOT
from maintainers.benchmark import NETWORK_NOTEBOOK, notebook_network

import nbformat
import numpy as np
import pytest
from helpers import REAL_DATA_DIR, outputs


@pytest.mark.skipif(REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to the real CIFAR-10")
def test_the_benchmark_measures_the_projects_pipeline_from_any_folder(tmp_path: Path) -> None:
    # One measurement as the benchmark makes it for each pipeline: a process of its own.
    command = [sys.executable, str(REPO_ROOT / "maintainers" / "benchmark.py")]
    command += ["--measure", "project", "--images", "192", "--epochs", "1"]
    environment = dict(os.environ, DL101_DATA_DIR=str(REAL_DATA_DIR))
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr[-2000:]
    # It prints its figure, images per second, as its last line; a speed is never checked here.
    assert float(result.stdout.strip().splitlines()[-1]) > 0


def test_the_benchmark_times_the_notebooks_network_with_the_augmentation_it_is_given() -> None:
    from dl101.tflearn_training import layer_summary

    import tensorflow as tf

    from tflearn.data_augmentation import ImageAugmentation

    augmentation = ImageAugmentation()
    network = notebook_network(lambda: augmentation, np.zeros((96, 32, 32, 3), np.float32))

    shown = [
        output.data["text/markdown"]
        for output in outputs(nbformat.read(NETWORK_NOTEBOOK, as_version=4))
        if output.get("data", {}).get("text/markdown", "").startswith("| layer |")
    ]
    assert shown == [layer_summary(network)._repr_markdown_()]
    assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.DATA_AUG) == [augmentation]
