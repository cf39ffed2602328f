"""How fast the article's three-layer CIFAR-10 network trains here, five ways, in one run.

On real CIFAR-10, the network built by experiment_0_three_layer_sets.ipynb's own cell: 1 tflearn
as the article writes it, with TensorFlow's own settings; 2 this project's pipeline; 3 the same
without augmentation; 4 Keras 3 fed by tf.data; 5 a float32 matrix multiply, the machine's peak.
Each measurement is a process of its own (TensorFlow reads its settings when it loads, tflearn
puts it in graph mode for good), interleaved: compare one run's figures with each other only.

    .venv/bin/python maintainers/benchmark.py [--images 10000] [--epochs 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as `python maintainers/benchmark.py` from a fresh clone: dl101 is in the folder above.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dl101 import cifar10_experiment_data  # noqa: E402
from dl101.paths import REPO_ROOT  # noqa: E402
from dl101.profiles import PROFILES  # noqa: E402
from dl101.runs import LOG_DIR_VARIABLE  # noqa: E402
from dl101.tensorflow_settings import ONEDNN_VARIABLE  # noqa: E402
from maintainers.notebook_outputs import onednn_in_new_process, processor  # noqa: E402

import numpy as np  # noqa: E402

# Multiply-adds of a forward pass: each 3 x 3 'same' convolution costs height x width x filters x
# 9 x input channels, each fully connected layer inputs (4 x 4 x 64 = 1,024, then 512) x outputs.
# A multiply-add is 2 FLOP, and training (the backward pass computes gradients of inputs and
# weights) about 3 forward passes; pooling, activations, optimizer: a few percent.
FORWARD_MULTIPLY_ADDS = (
    32 * 32 * 32 * 9 * 3 + 16 * 16 * 64 * 9 * 32 + 8 * 8 * 64 * 9 * 64 + 1024 * 512 + 512 * 10
)
FLOP_PER_TRAINING_IMAGE = 3 * 2 * FORWARD_MULTIPLY_ADDS
GFLOP = FLOP_PER_TRAINING_IMAGE / 1e9  # per training image
BATCH_SIZE = 96
RATIOS = ("2/1", "2/4", "2/3")  # pipeline 2's speed over 1's, over 4's, over 3's
PEAK = "5 float32 matmul (numpy)"
NETWORK_NOTEBOOK = REPO_ROOT / "experiment_0_three_layer_sets.ipynb"  # the lesson defines it
PIPELINES = {
    "1 tflearn as written": "stock",
    "2 this project's pipeline": "project",
    "3 tflearn, no augmentation": "none",
    "4 Keras 3, tf.data": "keras",
}


def notebook_network(augmentation: Callable[[], Any], images: np.ndarray) -> Any:
    """The network as the notebook's import and network cells, run as written, build it."""
    import nbformat

    notebook = nbformat.read(NETWORK_NOTEBOOK, as_version=4)
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    namespace: dict[str, Any] = {}
    for marker in ("from tflearn.layers.conv import", "network = regression("):
        found = [source for source in cells if marker in source]
        if len(found) != 1:
            raise RuntimeError(
                f"{NETWORK_NOTEBOOK} has {len(found)} code cells with {marker!r}, not 1"
            )
        exec(found[0], namespace)
        namespace.update(article_augmentation=augmentation, profile=None, X=images, seed=0)
    return namespace["network"]


def images_per_second(pipeline: str, images: np.ndarray, labels: np.ndarray, epochs: int) -> float:
    """Images per second over ``epochs`` after one of start-up (graph, mean and std)."""
    with tempfile.TemporaryDirectory() as logs, contextlib.redirect_stdout(io.StringIO()):
        os.environ[LOG_DIR_VARIABLE] = logs  # this process measures one pipeline and ends
        if pipeline == "keras":
            import keras
            import tensorflow as tf

            mean, std = float(images.mean()), float(images.std())
            layers = keras.layers
            model = keras.Sequential([
                keras.Input(shape=(32, 32, 3)), layers.RandomFlip("horizontal"),
                # Keras turns every image (tflearn half of them), by up to 25 degrees.
                layers.RandomRotation(25 / 360, fill_mode="constant"),
                layers.Rescaling(1 / std, offset=-mean / std),
                *[layer for filters in (32, 64, 64) for layer in (
                    layers.Conv2D(filters, 3, padding="same", activation="relu"), layers.MaxPooling2D(2))],
                layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax"),
            ])  # fmt: skip
            model.compile(
                keras.optimizers.Adam(0.001), "categorical_crossentropy", metrics=["accuracy"]
            )
            steps = len(images) // BATCH_SIZE
            data = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(len(images))
            data = data.batch(BATCH_SIZE, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE)

            def fit(epochs: int, run: str) -> None:
                model.fit(data, epochs=epochs, steps_per_epoch=steps, verbose=0)

            epoch_images = steps * BATCH_SIZE
        else:  # tflearn, imported here: it puts TensorFlow in graph mode for the whole process
            from dl101.tflearn_training import article_augmentation

            import tflearn
            from tflearn.data_augmentation import ImageAugmentation

            stock = ImageAugmentation()  # as the article writes it
            stock.add_random_flip_leftright()
            stock.add_random_rotation(max_angle=25.0)
            pick = {"stock": lambda: stock, "project": article_augmentation, "none": lambda: None}
            network = notebook_network(pick[pipeline], images)
            dnn = tflearn.DNN(network, tensorboard_verbose=0, tensorboard_dir=logs)

            def fit(epochs: int, run: str) -> None:
                dnn.fit(images, labels, n_epoch=epochs, batch_size=BATCH_SIZE, run_id=run)

            epoch_images = len(images)
        fit(1, "warm-up")
        started = time.perf_counter()
        fit(epochs, "timed")
        return epochs * epoch_images / (time.perf_counter() - started)


def figures(speeds: dict[str, float], peak: float) -> dict[str, float]:
    """:data:`RATIOS` of ``speeds``, and each pipeline's share of the matmul's GFLOP/s."""
    by_number = {name.split()[0]: speed for name, speed in speeds.items()}
    ratios = {pair: by_number[pair[0]] / by_number[pair[2]] for pair in RATIOS}
    return ratios | {name: speed * GFLOP / peak for name, speed in speeds.items()}


def round_medians(rounds: list[dict[str, float]], peaks: list[float]) -> dict[str, float]:
    """Each of the :func:`figures` within one round, then its median over the rounds: a slow
    spell of a shared machine slows a round's measurements alike (the peak drifts by a fifth in a
    minute here), where the best speeds and peak of a run can pair a quiet spell and a busy one."""
    each = [figures(speeds, peak) for speeds, peak in zip(rounds, peaks, strict=True)]
    return {key: float(np.median([one[key] for one in each])) for key in each[0]}


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--images", type=int, default=10_000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each, interleaved")
    parser.add_argument("--measure", choices=PIPELINES.values(), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        profile = dataclasses.replace(PROFILES["full"], train_size=args.images)
        (images, labels), _ = cifar10_experiment_data(profile)
        print(images_per_second(args.measure, images, labels, args.epochs))
        return

    # Whether TensorFlow, left to itself, uses its oneDNN kernels on this processor.
    tensorflows = {k: v for k, v in os.environ.items() if k != ONEDNN_VARIABLE}
    stock = "1" if onednn_in_new_process(tensorflows) else "0"
    print(f"{processor()}, {args.images:,} real CIFAR-10 images, batch {BATCH_SIZE}, "
          f"{args.epochs} timed epochs a measurement; the best of {args.rounds} rounds "
          "(a shared machine only ever slows a measurement down)", flush=True)  # fmt: skip
    print(f"oneDNN kernels in 1: {'on' if stock == '1' else 'off'} (TensorFlow's own choice on this "
          f"processor); in 2-4: {ONEDNN_VARIABLE}={os.environ.get(ONEDNN_VARIABLE, 'unset')} "
          "(dl101's setting, unless set before)", flush=True)  # fmt: skip
    sizes = ["--images", str(args.images), "--epochs", str(args.epochs)]
    rounds: list[dict[str, float]] = []
    peaks: list[float] = []
    for number in range(1, args.rounds + 1):
        rounds.append({})
        for name, pipeline in PIPELINES.items():
            # In a process of its own; pipeline 1 with TensorFlow's own oneDNN setting.
            environment = os.environ | ({ONEDNN_VARIABLE: stock} if pipeline == "stock" else {})
            command = [sys.executable, __file__, "--measure", pipeline, *sizes]
            printed = subprocess.check_output(command, env=environment, stderr=subprocess.DEVNULL)
            rounds[-1][name] = speed = float(printed.split()[-1])  # TensorFlow may print first
            print(f"  round {number}: {name:32} {speed:8,.0f} images/s", flush=True)
        # The machine's practical peak: the best float32 matrix multiply of 5, after 1 to warm up.
        a, b = np.random.default_rng(0).random((2, 4096, 4096), dtype=np.float32)
        times = timeit.repeat("a @ b", globals={"a": a, "b": b}, number=1, repeat=6)
        peaks.append(2 * 4096**3 / min(times[1:]) / 1e9)
        print(f"  round {number}: {PEAK:32} {peaks[-1]:8,.0f} GFLOP/s", flush=True)
    speeds = {name: max(measured[name] for measured in rounds) for name in PIPELINES}
    print()
    for name, speed in speeds.items():
        print(f"  {name:32} {speed:8,.0f} images/s")
    print(f"  {PEAK:32} {max(peaks):8,.0f} GFLOP/s")

    best, medians = figures(speeds, max(peaks)), round_medians(rounds, peaks)
    print("\nRatios of the best speeds, and (in brackets) the median of each round's ratio:")
    print(", ".join(f"{pair} = {best[pair]:.2f} ({medians[pair]:.2f})" for pair in RATIOS))
    print(f"{FLOP_PER_TRAINING_IMAGE / 1e6:.1f} MFLOP per training image (3 x 2 x "
          f"{FORWARD_MULTIPLY_ADDS:,} multiply-adds)")  # fmt: skip
    print("\nShares of the best matmul peak, and (in brackets) the median of each round's share "
          "of that round's peak:")  # fmt: skip
    print(f"\n  {'pipeline':32} {'GFLOP/s':>8} {'of peak':>14} {'50 epochs x 50,000':>19}")
    for name, speed in speeds.items():
        share, minutes = f"{best[name]:.0%} ({medians[name]:.0%})", 50 * 50_000 / speed / 60
        print(f"  {name:32} {speed * GFLOP:8.0f} {share:>14} {minutes:15.0f} min")


if __name__ == "__main__":
    main()
