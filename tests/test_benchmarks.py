"""The benchmark runs as the README gives it, from a fresh clone, measures a real speed of the
notebook's own network, and pairs the measurements of one round in its ratios and shares of the
peak."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dl101.paths import REPO_ROOT
from maintainers.benchmark import (
    FLOP_PER_TRAINING_IMAGE,
    NETWORK_NOTEBOOK,
    PIPELINES,
    figures,
    notebook_network,
    round_medians,
)

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


def test_each_rounds_figures_pair_measurements_of_that_round() -> None:
    # Round 2 ran in a slow spell: every pipeline and the matmul at half speed. Its figures are
    # round 1's; the best speeds alone would pair round 1's pipeline 2 with round 3's 4, and the
    # best peak would understate the shares.
    gflop = 1e9 / FLOP_PER_TRAINING_IMAGE  # images per second at 1 GFLOP/s
    rounds = [
        dict(zip(PIPELINES, [50 * gflop, 75 * gflop, 75 * gflop, 80 * gflop], strict=True)),
        dict(zip(PIPELINES, [25 * gflop, 37.5 * gflop, 37.5 * gflop, 40 * gflop], strict=True)),
        dict(zip(PIPELINES, [45 * gflop, 70 * gflop, 75 * gflop, 85 * gflop], strict=True)),
    ]
    best = {name: max(measured[name] for measured in rounds) for name in PIPELINES}

    assert figures(best, 100.0)["2/4"] == pytest.approx(75 / 85)
    medians = round_medians(rounds, peaks=[100.0, 50.0, 100.0])
    assert medians == pytest.approx(
        {"2/1": 1.5, "2/4": 75 / 80, "2/3": 1.0}
        | dict(zip(PIPELINES, [0.5, 0.75, 0.75, 0.8], strict=True))
    )
