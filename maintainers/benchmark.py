"""How fast the article's three-layer CIFAR-10 network trains here, five ways, in one run.

Prints training images per second, on real CIFAR-10 images, for the three-layer network
(conv 32, pool, conv 64, pool, conv 64, pool, 512, 10), built by the notebook's own code: the
cell of ``experiment_0_three_layer_sets.ipynb`` that defines it, run as written, with the
article's preprocessing and augmentation:

1. tflearn as the article writes it (stock ``ImageAugmentation`` / ``ImagePreprocessing``), with
   TensorFlow's own settings: what a learner who types the article's code gets;
2. this project's pipeline (``dl101.tflearn_training``: the same, batched, with the TensorFlow
   settings of ``dl101.tensorflow_settings``);
3. the same network without augmentation, with the project's settings: the ceiling for 2;
4. Keras 3 with ``RandomFlip`` and ``RandomRotation`` inside the model, fed by ``tf.data``, with
   the project's settings: the peer a learner would pick instead;
5. a float32 matrix multiply, for the machine's practical peak, after each round's pipelines;

then the ratios 2/1, 2/4 and 2/3 (of the best speeds, and the median of each round's own), each
pipeline's GFLOP/s as a share of 5 (likewise), and the projected minutes for the article's 50
epochs of 50,000 images. Each measurement runs in a process of its own: TensorFlow reads its
settings once, when it loads, and tflearn switches it to graph mode for the whole process. A busy
machine lowers every figure: compare the figures of one run with each other, never another run's.

    .venv/bin/python maintainers/benchmark.py [--images 10000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as `python maintainers/benchmark.py` from a fresh clone: dl101 is in the folder above, not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dl101 import cifar10_experiment_data  # noqa: E402
from dl101.paths import REPO_ROOT  # noqa: E402
from dl101.profiles import PROFILES  # noqa: E402
from dl101.runs import LOG_DIR_VARIABLE  # noqa: E402
from dl101.tensorflow_settings import ONEDNN_VARIABLE, onednn_in_new_process  # noqa: E402
from maintainers.notebook_outputs import processor  # noqa: E402

import numpy as np  # noqa: E402

# Multiply-adds of one forward pass: each 3 x 3 convolution ('same' padding) costs
# height x width x filters x (9 x input channels), each fully connected layer inputs x outputs.
FORWARD_MULTIPLY_ADDS = (
    32 * 32 * 32 * (9 * 3)  # conv 32 on 32 x 32 x 3
    + 16 * 16 * 64 * (9 * 32)  # conv 64 on 16 x 16 x 32
    + 8 * 8 * 64 * (9 * 64)  # conv 64 on 8 x 8 x 64
    + 4 * 4 * 64 * 512  # fully connected 1,024 -> 512
    + 512 * 10  # fully connected 512 -> 10
)
# A multiply-add is 2 floating-point operations; training (the backward pass computes the
# gradients of both the inputs and the weights) costs about 3 forward passes. Pooling,
# activations and the optimizer are left out: they are a few percent.
FLOP_PER_TRAINING_IMAGE = 3 * 2 * FORWARD_MULTIPLY_ADDS
ARTICLE_IMAGES = 50 * 50_000
BATCH_SIZE = 96
RATIOS = ("2/1", "2/4", "2/3")  # pipeline 2's speed over 1's, over 4's, over 3's
PEAK = "5 float32 matmul (numpy)"
# The network's only definition is in this notebook, where the lesson is.
NETWORK_NOTEBOOK = REPO_ROOT / "experiment_0_three_layer_sets.ipynb"


def gflops(images_per_second: float) -> float:
    """The floating-point rate of training at that speed (:data:`FLOP_PER_TRAINING_IMAGE`)."""
    return images_per_second * FLOP_PER_TRAINING_IMAGE / 1e9


def training_data(images: int) -> tuple[np.ndarray, np.ndarray]:
    profile = dataclasses.replace(PROFILES["full"], train_size=images)
    (x, y), _ = cifar10_experiment_data(profile)
    return x, y


def _code_cell(cells: list[str], marker: str) -> str:
    """The one code cell of :data:`NETWORK_NOTEBOOK` that holds ``marker``."""
    found = [source for source in cells if marker in source]
    if len(found) != 1:
        raise RuntimeError(
            f"{NETWORK_NOTEBOOK.name} has {len(found)} code cells with {marker!r}, not one: "
            "the benchmark runs that cell to build the network."
        )
    return found[0]


def notebook_network(augmentation: Callable[[], Any], images: np.ndarray) -> Any:
    """The three-layer network as :data:`NETWORK_NOTEBOOK` defines it, with ``augmentation``.

    The notebook's import cell and the cell that defines the network run as written, except that
    ``article_augmentation`` is the augmentation to time. That cell also creates its run: in the
    log folder ``$DL101_LOG_DIR``, with no profile (the benchmark has none).
    """
    import nbformat

    notebook = nbformat.read(NETWORK_NOTEBOOK, as_version=4)
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    namespace: dict[str, Any] = {}
    exec(_code_cell(cells, "from tflearn.layers.conv import"), namespace)
    namespace.update(article_augmentation=augmentation, profile=None, X=images)
    exec(_code_cell(cells, "network = regression("), namespace)
    return namespace["network"]


def tflearn_images_per_second(
    pipeline: str, images: np.ndarray, labels: np.ndarray, epochs: int
) -> float:
    """Train the three-layer network with tflearn; images per second over the timed epochs."""
    # Imported here: tflearn switches TensorFlow to graph mode for the whole process.
    from dl101.tflearn_training import article_augmentation

    import tflearn
    from tflearn.data_augmentation import ImageAugmentation

    def augmentation_as_written() -> ImageAugmentation:
        augmentation = ImageAugmentation()
        augmentation.add_random_flip_leftright()
        augmentation.add_random_rotation(max_angle=25.0)
        return augmentation

    augmentations = {
        "stock": augmentation_as_written,
        "project": article_augmentation,
        "none": lambda: None,
    }
    with tempfile.TemporaryDirectory() as logs:
        os.environ[LOG_DIR_VARIABLE] = logs  # this process measures one pipeline and ends
        network = notebook_network(augmentations[pipeline], images)
        model = tflearn.DNN(network, tensorboard_verbose=0, tensorboard_dir=logs)
        with contextlib.redirect_stdout(io.StringIO()):
            # The first epoch includes graph start-up and the featurewise mean and std.
            model.fit(images, labels, n_epoch=1, batch_size=BATCH_SIZE, run_id="warm-up")
            started = time.perf_counter()
            model.fit(images, labels, n_epoch=epochs, batch_size=BATCH_SIZE, run_id="timed")
    return epochs * len(images) / (time.perf_counter() - started)


def keras_images_per_second(images: np.ndarray, labels: np.ndarray, epochs: int) -> float:
    """The same network and augmentation in Keras 3, fed by tf.data."""
    import keras
    import tensorflow as tf

    mean, std = float(images.mean()), float(images.std())
    model = keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            keras.layers.RandomFlip("horizontal"),
            # Keras turns every image (tflearn turns half of them), by up to 25 degrees.
            keras.layers.RandomRotation(25 / 360, fill_mode="constant"),
            keras.layers.Rescaling(1 / std, offset=-mean / std),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.001), "categorical_crossentropy", metrics=["accuracy"])
    steps = len(images) // BATCH_SIZE
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images))
        .batch(BATCH_SIZE, drop_remainder=True)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    started = time.perf_counter()
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps, verbose=0)
    return epochs * steps * BATCH_SIZE / (time.perf_counter() - started)


def matmul_gflops(size: int = 4096, repeats: int = 5) -> float:
    """The best float32 matrix-multiply rate numpy reaches here, in GFLOP/s."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


PIPELINES = {
    "1 tflearn as written": "stock",
    "2 this project's pipeline": "project",
    "3 tflearn, no augmentation": "none",
    "4 Keras 3, tf.data": "keras",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=10_000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements per pipeline, interleaved"
    )
    parser.add_argument("--measure", choices=PIPELINES.values(), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        images, labels = training_data(args.images)
        if args.measure == "keras":
            speed = keras_images_per_second(images, labels, args.epochs)
        else:
            speed = tflearn_images_per_second(args.measure, images, labels, args.epochs)
        print(json.dumps(speed))
        return

    tensorflow_onednn = onednn_by_default()
    print(f"{processor()}, {args.images:,} real CIFAR-10 images, batch {BATCH_SIZE}, "
          f"{args.epochs} timed epochs a measurement; the best of {args.rounds} rounds "
          "(a shared machine only ever slows a measurement down)", flush=True)  # fmt: skip
    print(f"oneDNN kernels in 1: {'on' if tensorflow_onednn else 'off'} (TensorFlow's own "
          f"choice on this processor); in 2-4: {ONEDNN_VARIABLE}="
          f"{os.environ.get(ONEDNN_VARIABLE, 'unset')} (dl101's setting, unless set before)",
          flush=True)  # fmt: skip
    stock_onednn = "1" if tensorflow_onednn else "0"
    rounds: list[dict[str, float]] = []
    peaks: list[float] = []
    for round_number in range(1, args.rounds + 1):
        rounds.append({})
        for name, pipeline in PIPELINES.items():
            onednn = stock_onednn if pipeline == "stock" else None
            rounds[-1][name] = speed = measure_in_subprocess(pipeline, args, onednn)
            print(f"  round {round_number}: {name:32} {speed:8,.0f} images/s", flush=True)
        peaks.append(matmul_gflops())
        print(f"  round {round_number}: {PEAK:32} {peaks[-1]:8,.0f} GFLOP/s", flush=True)
    speeds = {name: max(measured[name] for measured in rounds) for name in PIPELINES}
    peak = max(peaks)
    print()
    for name, speed in speeds.items():
        print(f"  {name:32} {speed:8,.0f} images/s")
    print(f"  {PEAK:32} {peak:8,.0f} GFLOP/s")

    print("\nRatios of the best speeds, and (in brackets) the median of each round's ratio:")
    best_ratios = speed_ratios(speeds)
    print(", ".join(f"{pair} = {best_ratios[pair]:.2f} ({median:.2f})"
                    for pair, median in median_round_ratios(rounds).items()))  # fmt: skip
    print(f"{FLOP_PER_TRAINING_IMAGE / 1e6:.1f} MFLOP per training image (3 x 2 x "
          f"{FORWARD_MULTIPLY_ADDS:,} multiply-adds)")  # fmt: skip
    print("\nShares of the best matmul peak, and (in brackets) the median of each round's share "
          "of that round's peak:")  # fmt: skip
    print(f"\n  {'pipeline':32} {'GFLOP/s':>8} {'of peak':>14} {'50 epochs x 50,000':>19}")
    round_shares = median_round_shares(rounds, peaks)
    for name, speed in speeds.items():
        shares = f"{gflops(speed) / peak:.0%} ({round_shares[name]:.0%})"
        minutes = ARTICLE_IMAGES / speed / 60
        print(f"  {name:32} {gflops(speed):8.0f} {shares:>14} {minutes:15.0f} min")


def speed_ratios(speeds: dict[str, float]) -> dict[str, float]:
    """:data:`RATIOS` from speeds named as in :data:`PIPELINES` ("2 this project's pipeline", ...)."""
    by_number = {name.split()[0]: speed for name, speed in speeds.items()}
    return {pair: by_number[pair[0]] / by_number[pair[2]] for pair in RATIOS}


def median_round_ratios(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each ratio within one round, then its median over the rounds.

    The two speeds of a round's ratio are measured a minute or two apart, so a slow spell of a
    shared machine lowers both; the ratio of two best speeds can pair measurements from a quiet
    and a busy spell.
    """
    each_round = [speed_ratios(measured) for measured in rounds]
    return {pair: float(np.median([ratios[pair] for ratios in each_round])) for pair in RATIOS}


def median_round_shares(rounds: list[dict[str, float]], peaks: list[float]) -> dict[str, float]:
    """Each pipeline's share of the matmul peak measured in the same round, median over rounds.

    ``rounds`` holds images per second as :func:`median_round_ratios` takes them, ``peaks`` each
    round's GFLOP/s. The peak drifts as the pipelines do (by a fifth within a minute here), so a
    round's share pairs measurements made in the same spell of the machine.
    """
    return {
        name: float(np.median([
            gflops(measured[name]) / peak
            for measured, peak in zip(rounds, peaks, strict=True)
        ]))
        for name in PIPELINES
    }  # fmt: skip


def onednn_by_default() -> bool:
    """Whether TensorFlow, left to itself, uses its oneDNN kernels on this processor."""
    return onednn_in_new_process({k: v for k, v in os.environ.items() if k != ONEDNN_VARIABLE})


def measure_in_subprocess(
    pipeline: str, args: argparse.Namespace, onednn: str | None = None
) -> float:
    """Images per second of one pipeline, measured in a fresh Python process.

    ``onednn`` ("0" or "1") overrides the project's oneDNN setting in that process.
    """
    command = [sys.executable, __file__, "--measure", pipeline, "--images", str(args.images)]
    command += ["--epochs", str(args.epochs)]
    environment = dict(os.environ)
    if onednn is not None:
        environment[ONEDNN_VARIABLE] = onednn
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    # TensorFlow may print before the speed, on any stream.
    return float(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
