"""The article's way to build and train a tflearn network on CIFAR-10, written once.

Every CIFAR-10 notebook feeds, trains and summarises its network the same way, so the recipe
lives here; the network itself stays in the notebook, where the lesson is. Preprocessing and
augmentation objects hold state of the graph they were built in, so call these functions after
:func:`new_graph`, in the cell that builds the model.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from typing import Any

from dl101.augmentation import BatchImageAugmentation
from dl101.disk_space import free_space
from dl101.reports import minutes
from dl101.runs import LOG_DIR_VARIABLE, PROBE_BYTES, Run
from dl101.tensorboard_logs import (
    TFLEARN_TRAINING_ACCURACY,
    TFLEARN_TRAINING_LOSS,
    TRAINING_PASS_FOLDER,
    TRAINING_PASS_IMAGES,
)
from dl101.tflearn_compat import new_graph, quiet_training, replace_epoch_lines

import numpy as np
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalars

import tflearn
from tflearn.data_augmentation import ImageAugmentation
from tflearn.data_preprocessing import ImagePreprocessing
from tflearn.utils import feed_dict_builder

__all__ = [
    "TrainingPass",
    "article_augmentation",
    "article_preprocessing",
    "layer_summary",
    "new_graph",
    "quiet_training",
    "train",
]

# TensorBoard's Custom Scalars tab draws, for every run, the curves whose tags match a chart's
# regular expressions in one chart: the measured training accuracy beside validation's, epoch by
# epoch. Every run writes this layout; TensorBoard shows a chart written alike by several once.
LAYOUT_CATEGORY = "Training and validation, after every epoch"
LAYOUT = layout_pb2.Layout(
    category=[
        layout_pb2.Category(
            title=LAYOUT_CATEGORY,
            chart=[
                layout_pb2.Chart(
                    title=quantity,
                    multiline=layout_pb2.MultilineChartContent(
                        tag=[rf"^{quantity}/(Training|Validation)$"]
                    ),
                )
                for quantity in ("Accuracy", "Loss")
            ],
        )
    ]
)
# Validation and the training pass predict in batches of this size whatever the training batch,
# so that runs plotted by the clock (experiment 3) pay the same for being measured.
MEASURING_BATCH_SIZE = 250


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
    training down much; ``maintainers/benchmark.py`` measures by how much.
    """
    augmentation = BatchImageAugmentation()
    augmentation.add_random_flip_leftright()
    augmentation.add_random_rotation(max_angle=25.0)
    return augmentation


class TrainingPass(tflearn.callbacks.Callback):
    """After every epoch, measure accuracy on the training images exactly as validation is measured.

    The "acc" tflearn prints and logs while training is a running average over the last
    mini-batches, taken on augmented images with dropout switched on, while the weights are
    still changing. It is not comparable with the validation accuracy: with dropout it can even
    come out *below* it. This pass predicts the first (at most 10,000) training images as they
    are, dropout off, and logs accuracy and loss under ``<run>/training_pass`` as
    ``Accuracy/Training`` and ``Loss/Training``, with the same step as tflearn's validation, so
    plots, tables and verdicts compare like with like; its :data:`LAYOUT` puts both in one chart.
    It also prints one line per epoch with both accuracies, in place of tflearn's progress.
    """

    def __init__(self, model: tflearn.DNN, images: np.ndarray, labels: np.ndarray, run: Run):
        super().__init__()
        run.check_not_trained_yet()  # before fit: tflearn opens its log writer there
        self.model = model
        self.epochs = run.epochs
        self.images = images[:TRAINING_PASS_IMAGES]
        self.labels = labels[:TRAINING_PASS_IMAGES]
        self.writer = tf.compat.v1.summary.FileWriter(str(run.folder / TRAINING_PASS_FOLDER))
        self.writer.add_summary(custom_scalars.pb(LAYOUT))

    def on_train_begin(self, training_state: object) -> None:
        replace_epoch_lines()
        self.started = time.monotonic()

    def on_epoch_end(self, training_state: Any) -> None:
        # The same loss and accuracy tensors, and the same tflearn evaluator, as its validation.
        train_op = self.model.train_ops[0]
        feed_dict = feed_dict_builder(
            self.images, self.labels, self.model.inputs, self.model.targets
        )
        loss, accuracy = self.model.predictor.evaluate(
            feed_dict, [train_op.loss, train_op.metric], batch_size=MEASURING_BATCH_SIZE
        )
        summary = tf.compat.v1.Summary(
            value=[
                tf.compat.v1.Summary.Value(
                    tag=TFLEARN_TRAINING_ACCURACY, simple_value=float(accuracy)
                ),
                tf.compat.v1.Summary.Value(tag=TFLEARN_TRAINING_LOSS, simple_value=float(loss)),
            ]
        )
        self.writer.add_summary(summary, global_step=training_state.step)
        self.writer.flush()
        print(
            f"epoch {training_state.epoch}/{self.epochs}: training accuracy {accuracy:.3f}, "
            f"validation accuracy {training_state.val_acc:.3f} "
            f"({minutes(time.monotonic() - self.started)} so far)",
            flush=True,
        )

    def on_train_end(self, training_state: Any) -> None:
        self.writer.close()


_last_shown: dict[str, LayerSummary] = {}


def train(
    network: tf.Tensor,
    run: Run,
    training_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
) -> tflearn.DNN:
    """Show ``network`` layer by layer, then train it as the article does, with every setting from ``run``.

    These are the two lines ``experiment_0_few_layers.ipynb`` writes out: a ``tflearn.DNN``
    that logs to the run's folder, and ``fit`` for ``run.epochs`` epochs in batches of
    ``run.batch_size``, shuffled, validated after every epoch, with the training accuracy shown;
    after every epoch, :class:`TrainingPass` also measures the training accuracy as validation is.
    """
    from IPython.display import display

    images, labels = training_data
    if len(images) != run.training_examples:
        raise ValueError(
            f"The run {run.name!r} was created for {run.training_examples} training images, "
            f"but {len(images)} were given: create the experiment with training_examples=len(X)."
        )
    layers = layer_summary(network)
    if layers != _last_shown.get("layers"):  # a network trained again is not shown again
        display(layers)
        _last_shown["layers"] = layers
    model = tflearn.DNN(network, tensorboard_verbose=0, tensorboard_dir=run.tensorboard_dir)
    try:
        model.fit(
            images,
            labels,
            n_epoch=run.epochs,
            batch_size=run.batch_size,
            shuffle=True,
            validation_set=validation_data,
            validation_batch_size=MEASURING_BATCH_SIZE,
            show_metric=True,
            run_id=run.run_id,
            callbacks=TrainingPass(model, images, labels, run),
        )
    except (OSError, RuntimeError, tf.errors.OpError) as error:
        # TensorFlow's writer thread reports a full disk as an error naming only the file.
        disk_full = (
            "space" in str(error).lower() or shutil.disk_usage(run.folder).free < PROBE_BYTES
        )
        if not disk_full:
            raise
        raise RuntimeError(
            f"The logs of {run.name!r} could not be written to {run.folder}: its disk is full "
            f"({free_space(run.folder)}). The run's curves are incomplete: free some space, or set "
            f"{LOG_DIR_VARIABLE} to a folder on another disk, and train it again."
        ) from error
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
        lines = ["| layer | output shape | weights and biases |", "|---|---|---:|"]
        for name, shape, parameters in self.rows:
            shown = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
            lines.append(f"| {name} | {shown} | {parameters:,} |")
        lines.append(f"| **total** | | **{self.total_parameters:,}** |")
        return "\n".join(lines)


def layer_summary(network: tf.Tensor | None = None) -> LayerSummary:
    """The layers of the network in TensorFlow's current graph, in the order they were added.

    Like Keras' ``model.summary()``: what each layer outputs for one batch (``None`` is the
    batch size) and how many weights it learns. tflearn files a layer's output under a
    collection named after the layer's ``name`` argument, and layers without weights (pooling,
    dropout) share one name, so a collection may hold several layers: each gets its own row,
    named after its scope (``MaxPool2D_1``), with the weights created inside that scope.
    """
    graph = network.graph if network is not None else tf.compat.v1.get_default_graph()
    layer_prefix = f"{tf.compat.v1.GraphKeys.LAYER_TENSOR}/"
    variables_prefix = f"{tf.compat.v1.GraphKeys.LAYER_VARIABLES}/"
    creation_order = {
        operation.name: index for index, operation in enumerate(graph.get_operations())
    }
    layers = []
    for key in graph.get_all_collection_keys():
        if not key.startswith(layer_prefix):
            continue
        name = key.removeprefix(layer_prefix)
        outputs = graph.get_collection(key)
        weights = graph.get_collection(variables_prefix + name)
        for output in outputs:
            scope = output.op.name.split("/")[0] if len(outputs) > 1 else name
            own_weights = [
                w for w in weights if len(outputs) == 1 or w.op.name.startswith(scope + "/")
            ]
            parameters = sum(int(np.prod(w.shape.as_list())) for w in own_weights)
            row = (scope, tuple(output.shape.as_list()), parameters)
            layers.append((creation_order[output.op.name], row))
    return LayerSummary(tuple(row for _, row in sorted(layers)))
