"""How fast the article's three-layer CIFAR-10 network trains here: tflearn's augmentation
against this project's batched one, in one run.

On real CIFAR-10, the network built by experiment_0_three_layer_sets.ipynb's own cell: 1 tflearn
as the article writes it, with TensorFlow's own settings; 2 this project's pipeline; 3 the same
without augmentation. Each measurement is a process of its own (TensorFlow reads its settings when
it loads, tflearn puts it in graph mode for good), interleaved: compare one run's figures only.

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

BATCH_SIZE = 96
NETWORK_NOTEBOOK = REPO_ROOT / "experiment_0_three_layer_sets.ipynb"  # the lesson defines it
PIPELINES = {
    "stock": "1 tflearn as written",
    "project": "2 this project's pipeline",
    "none": "3 tflearn, no augmentation",
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
            raise RuntimeError(f"{NETWORK_NOTEBOOK} has {len(found)} code cells with {marker!r}")
        exec(found[0], namespace)
        namespace.update(article_augmentation=augmentation, profile=None, X=images, seed=0)
    return namespace["network"]


def images_per_second(pipeline: str, images: np.ndarray, labels: np.ndarray, epochs: int) -> float:
    """Images per second over ``epochs`` after one of start-up (graph, mean and std)."""
    from dl101.tflearn_training import article_augmentation

    import tflearn
    from tflearn.data_augmentation import ImageAugmentation

    stock = ImageAugmentation()  # as the article writes it
    stock.add_random_flip_leftright()
    stock.add_random_rotation(max_angle=25.0)
    pick = {"stock": lambda: stock, "project": article_augmentation, "none": lambda: None}
    with tempfile.TemporaryDirectory() as logs, contextlib.redirect_stdout(io.StringIO()):
        os.environ[LOG_DIR_VARIABLE] = logs  # this process measures one pipeline and ends
        network = notebook_network(pick[pipeline], images)
        dnn = tflearn.DNN(network, tensorboard_verbose=0, tensorboard_dir=logs)
        dnn.fit(images, labels, n_epoch=1, batch_size=BATCH_SIZE, run_id="warm-up")
        started = time.perf_counter()
        dnn.fit(images, labels, n_epoch=epochs, batch_size=BATCH_SIZE, run_id="timed")
        return epochs * len(images) / (time.perf_counter() - started)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--images", type=int, default=10_000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each, interleaved")
    parser.add_argument("--measure", choices=PIPELINES, help=argparse.SUPPRESS)
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
          f"{args.epochs} timed epochs a measurement; the best of {args.rounds} rounds", flush=True)  # fmt: skip
    print(f"oneDNN kernels in 1: {'on' if stock == '1' else 'off'} (TensorFlow's own choice); "
          f"in 2-3: {ONEDNN_VARIABLE}={os.environ.get(ONEDNN_VARIABLE, 'unset')}", flush=True)  # fmt: skip
    sizes = ["--images", str(args.images), "--epochs", str(args.epochs)]
    best: dict[str, float] = {}  # a shared machine only ever slows a measurement down
    for number in range(1, args.rounds + 1):
        for pipeline, name in PIPELINES.items():
            # In a process of its own; pipeline 1 with TensorFlow's own oneDNN setting.
            environment = os.environ | ({ONEDNN_VARIABLE: stock} if pipeline == "stock" else {})
            command = [sys.executable, __file__, "--measure", pipeline, *sizes]
            printed = subprocess.check_output(command, env=environment, stderr=subprocess.DEVNULL)
            speed = float(printed.split()[-1])  # TensorFlow may print first
            best[pipeline] = max(speed, best.get(pipeline, 0.0))
            print(f"  round {number}: {name:32} {speed:8,.0f} images/s", flush=True)
    print()
    for pipeline, name in PIPELINES.items():
        minutes = 50 * 50_000 / best[pipeline] / 60
        print(f"  {name:32} {best[pipeline]:8,.0f} images/s, {minutes:4.0f} min for 50 epochs x 50,000")  # fmt: skip
    print(f"\nThis project's pipeline trains {best['project'] / best['stock']:.2f} times as fast as "
          f"tflearn as written, {best['project'] / best['none']:.2f} times as fast as no augmentation.")  # fmt: skip


if __name__ == "__main__":
    main()
