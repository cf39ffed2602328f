"""The article's way to build and train a tflearn network on CIFAR-10, written once.

Every CIFAR-10 notebook feeds, trains and summarises its network the same way, so the recipe
lives here; the network itself stays in the notebook, where the lesson is. Preprocessing and
augmentation objects hold state of the graph they were built in, so call these functions after
:func:`new_graph`, in the cell that builds the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from dl101.augmentation import BatchImageAugmentation
from dl101.runs import Run
from dl101.tflearn_compat import new_graph

import numpy as np
import tensorflow as tf

import tflearn
from tflearn.data_augmentation import ImageAugmentation
from tflearn.data_preprocessing import ImagePreprocessing

__all__ = [
    "article_augmentation",
    "article_preprocessing",
    "layer_summary",
    "new_graph",
    "train",
]


def article_preprocessing() -> ImagePreprocessing:
    """Centre every pixel on the training set's mean and scale it by its standard deviation."""
    preprocessing = ImagePreprocessing()
    preprocessing.add_featurewise_zero_center()
    preprocessing.add_featurewise_stdnorm()
    return preprocessing


def article_augmentation() -> ImageAugmentation:
    """Show each training image randomly mirrored and turned by up to 25 degrees.

    The same augmentation as tflearn's ``ImageAugmentation`` with these two methods, done for a
    whole batch at once (:mod:`dl101.augmentation`), so that on a 2-core CPU it no longer slows
    training down much; ``benchmarks/cifar_throughput.py`` measures by how much.
    """
    augmentation = BatchImageAugmentation()
    augmentation.add_random_flip_leftright()
    augmentation.add_random_rotation(max_angle=25.0)
    return augmentation


def train(
    network: tf.Tensor,
    run: Run,
    training_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
) -> tflearn.DNN:
    """Show ``network`` layer by layer, then train it as the article does, with every setting from ``run``.

    These are the two lines ``experiment_0_few_layers.ipynb`` writes out: a ``tflearn.DNN``
    that logs to the run's folder, and ``fit`` for ``run.epochs`` epochs in batches of
    ``run.batch_size``, shuffled, validated after every epoch, with the training accuracy shown.
    """
    from IPython.display import display

    images, labels = training_data
    if len(images) != run.training_examples:
        raise ValueError(
            f"The run {run.name!r} was created for {run.training_examples} training images, "
            f"but {len(images)} were given: create the experiment with training_examples=len(X)."
        )
    display(layer_summary(network))
    model = tflearn.DNN(network, tensorboard_verbose=0, tensorboard_dir=run.tensorboard_dir)
    model.fit(
        images,
        labels,
        n_epoch=run.epochs,
        batch_size=run.batch_size,
        shuffle=True,
        validation_set=validation_data,
        show_metric=True,
        run_id=run.run_id,
    )
    return model


@dataclass(frozen=True)
class LayerSummary:
    """Each layer of a tflearn network with its output shape and number of weights."""

    rows: tuple[tuple[str, tuple[int | None, ...], int], ...]

    @property
    def total_parameters(self) -> int:
        return sum(parameters for _, _, parameters in self.rows)

    def __repr__(self) -> str:
        return self._repr_markdown_()

    def _repr_markdown_(self) -> str:
        lines = ["| layer | output shape | weights |", "|---|---|---:|"]
        for name, shape, parameters in self.rows:
            shown = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
            lines.append(f"| {name} | {shown} | {parameters:,} |")
        lines.append(f"| **total** | | **{self.total_parameters:,}** |")
        return "\n".join(lines)


def layer_summary(network: tf.Tensor | None = None) -> LayerSummary:
    """The layers of the network in TensorFlow's current graph, in the order they were added.

    Like Keras' ``model.summary()``: what each layer outputs for one batch (``None`` is the
    batch size) and how many weights it learns.
    """
    graph = network.graph if network is not None else tf.compat.v1.get_default_graph()
    layer_prefix = f"{tf.compat.v1.GraphKeys.LAYER_TENSOR}/"
    variables_prefix = f"{tf.compat.v1.GraphKeys.LAYER_VARIABLES}/"
    rows = []
    for key in graph.get_all_collection_keys():
        if not key.startswith(layer_prefix):
            continue
        name = key.removeprefix(layer_prefix)
        (output,) = graph.get_collection(key)[-1:]
        weights = graph.get_collection(variables_prefix + name)
        parameters = sum(int(np.prod(w.shape.as_list())) for w in weights)
        rows.append((name, tuple(output.shape.as_list()), parameters))
    return LayerSummary(tuple(rows))
