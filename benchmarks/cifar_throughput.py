"""Measure how fast the CIFAR-10 experiment networks train here, to size the ``cpu`` profile.

Prints training images per second for each network and batch size the experiment notebooks
use, with the article's preprocessing and augmentation, on real CIFAR-10 images. Compare the
figures of one run with each other: a busy machine halves them all.

    .venv/bin/python benchmarks/cifar_throughput.py [--images 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time

from dl101 import cifar10_experiment_data
from dl101.tflearn_cifar import article_augmentation, article_preprocessing
from dl101.tflearn_compat import new_graph

import tflearn
from tflearn.layers.conv import conv_2d, max_pool_2d
from tflearn.layers.core import dropout, fully_connected, input_data
from tflearn.layers.estimator import regression


def network(three_sets: bool, few_layers: bool = False) -> object:
    new_graph(seed=0)
    net = input_data(
        shape=[None, 32, 32, 3],
        data_preprocessing=article_preprocessing(),
        data_augmentation=article_augmentation(),
    )
    net = conv_2d(net, 32, 3, activation="relu")
    net = max_pool_2d(net, 2)
    if not few_layers:
        net = conv_2d(net, 64, 3, activation="relu")
        if three_sets:
            net = max_pool_2d(net, 2)
        net = conv_2d(net, 64, 3, activation="relu")
        net = max_pool_2d(net, 2)
    net = fully_connected(net, 512, activation="relu")
    net = dropout(net, 0.5)
    net = fully_connected(net, 10, activation="softmax")
    return regression(net, optimizer="adam", loss="categorical_crossentropy", learning_rate=0.001)


def images_per_second(net: object, images: object, labels: object, batch_size: int) -> float:
    with tempfile.TemporaryDirectory() as logs:
        model = tflearn.DNN(net, tensorboard_verbose=0, tensorboard_dir=logs)
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
    (images, labels), _ = cifar10_experiment_data(train_size=args.images)
    cases = [
        ("few layers", dict(three_sets=False, few_layers=True), 96),
        ("three layer sets", dict(three_sets=True), 96),
        ("base network", dict(three_sets=False), 96),
        ("base network", dict(three_sets=False), 50),
        ("base network", dict(three_sets=False), 2000),
    ]
    print(f"{'network':18} {'batch':>5} {'images/s':>9}")
    for name, shape, batch_size in cases:
        speed = images_per_second(network(**shape), images, labels, batch_size)
        print(f"{name:18} {batch_size:5d} {speed:9.0f}", flush=True)


if __name__ == "__main__":
    main()
