"""Measure how fast the CIFAR-10 experiment networks train here, to size the ``cpu`` profile.

Prints training images per second for each network and batch size the experiment notebooks
use, with the article's preprocessing and augmentation, on real CIFAR-10 images. Compare the
figures of one run with each other: a busy machine halves them all.

    .venv/bin/python benchmarks/cifar_throughput.py [--images 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Run as `python benchmarks/...` from a fresh clone: dl101 is in the folder above, not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dl101 import cifar10_experiment_data  # noqa: E402
from dl101.profiles import PROFILES  # noqa: E402

import article_networks  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tflearn  # noqa: E402


def images_per_second(
    build: Callable[[], tf.Tensor], images: np.ndarray, labels: np.ndarray, batch_size: int
) -> float:
    with tempfile.TemporaryDirectory() as logs:
        model = tflearn.DNN(build(), tensorboard_verbose=0, tensorboard_dir=logs)
        with contextlib.redirect_stdout(io.StringIO()):
            # The first epoch includes graph start-up and the featurewise mean and std.
            model.fit(images, labels, n_epoch=1, batch_size=batch_size, run_id="warm-up")
            started = time.perf_counter()
            model.fit(images, labels, n_epoch=1, batch_size=batch_size, run_id="measured")
    return len(images) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    profile = dataclasses.replace(PROFILES["full"], train_size=args.images)
    (images, labels), _ = cifar10_experiment_data(profile)
    cases = [
        ("few layers", article_networks.few_layers, 96),
        ("three layer sets", article_networks.three_layer_sets, 96),
        ("base network", article_networks.base_network, 96),
        ("base network", article_networks.base_network, 50),
        ("base network", article_networks.base_network, 2000),
    ]
    print(f"{'network':18} {'batch':>5} {'images/s':>9}")
    for name, build, batch_size in cases:
        speed = images_per_second(build, images, labels, batch_size)
        print(f"{name:18} {batch_size:5d} {speed:9.0f}", flush=True)


if __name__ == "__main__":
    main()
