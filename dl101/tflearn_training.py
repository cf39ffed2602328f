"""The article's way to train a tflearn network on CIFAR-10 (the network stays in each notebook).
Preprocessing and augmentation belong to their graph: call them after :func:`new_graph`."""

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
from dl101.tflearn_compat import new_graph, quiet_training, replace_epoch_lines  # noqa: F401

import numpy as np
import tensorflow as tf
from IPython.display import display
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalars

import tflearn
from tflearn.data_preprocessing import ImagePreprocessing
from tflearn.utils import feed_dict_builder

# TensorBoard's Custom Scalars tab, written by every run and shown once: training beside validation.
LAYOUT_CATEGORY = "Training and validation, after every epoch"
_CHARTS = [
    {"title": quantity, "multiline": {"tag": [rf"^{quantity}/(Training|Validation)$"]}}
    for quantity in ("Accuracy", "Loss")
]
LAYOUT = layout_pb2.Layout(category=[{"title": LAYOUT_CATEGORY, "chart": _CHARTS}])
# Whatever the training batch: runs plotted by the clock (experiment 3) pay the same to be measured.
MEASURING_BATCH_SIZE = 250


def article_preprocessing() -> ImagePreprocessing:
    """Centre every pixel on the training set's mean and scale it by its standard deviation."""
    preprocessing = ImagePreprocessing()
    preprocessing.add_featurewise_zero_center()
    preprocessing.add_featurewise_stdnorm()
    return preprocessing


def article_augmentation() -> BatchImageAugmentation:
    """Show each training image randomly mirrored and turned by up to 25 degrees."""
    augmentation = BatchImageAugmentation()
    augmentation.add_random_flip_leftright()
    augmentation.add_random_rotation(max_angle=25.0)
    return augmentation


class TrainingPass(tflearn.callbacks.Callback):
    """After every epoch, log the first 10,000 training images' accuracy and loss exactly as
    validation measures them (tflearn's "acc" averages augmented mini-batches, dropout on, while
    weights change) under ``<run>/training_pass``; print a line an epoch instead of tflearn's."""

    def __init__(self, model: tflearn.DNN, images: np.ndarray, labels: np.ndarray, run: Run):
        super().__init__()
        run.check_not_trained_yet()  # before fit: tflearn opens its log writer there
        self.model = model
        self.epochs = run.epochs
        first = slice(TRAINING_PASS_IMAGES)
        self.feed_dict = feed_dict_builder(
            images[first], labels[first], model.inputs, model.targets
        )
        self.writer = tf.compat.v1.summary.FileWriter(str(run.folder / TRAINING_PASS_FOLDER))
        self.writer.add_summary(custom_scalars.pb(LAYOUT))

    def on_train_begin(self, training_state: object) -> None:
        replace_epoch_lines()
        self.started = time.monotonic()

    def on_epoch_end(self, training_state: Any) -> None:
        # The same loss and accuracy tensors, and the same tflearn evaluator, as its validation.
        train_op = self.model.train_ops[0]
        loss, accuracy = self.model.predictor.evaluate(
            self.feed_dict, [train_op.loss, train_op.metric], batch_size=MEASURING_BATCH_SIZE
        )
        summary = tf.compat.v1.Summary()
        summary.value.add(tag=TFLEARN_TRAINING_ACCURACY, simple_value=float(accuracy))
        summary.value.add(tag=TFLEARN_TRAINING_LOSS, simple_value=float(loss))
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
    """Show ``network``'s layers, then train it with ``run``'s settings as the article does."""
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
        if "space" not in str(error).lower() and shutil.disk_usage(run.folder).free >= PROBE_BYTES:
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

    def _repr_markdown_(self) -> str:
        lines = ["| layer | output shape | weights and biases |", "|---|---|---:|"]
        for name, shape, parameters in self.rows:
            lines.append(f"| {name} | ({', '.join(map(str, shape))}) | {parameters:,} |")
        total = sum(parameters for _, _, parameters in self.rows)
        return "\n".join([*lines, f"| **total** | | **{total:,}** |"])

    __repr__ = _repr_markdown_  # what display() prints outside Jupyter


def layer_summary(network: tf.Tensor) -> LayerSummary:
    """Like Keras' ``model.summary()``: ``network``'s layers in the order added, with their output
    shapes. Layers without weights (pooling, dropout) share one collection, but each is its own row."""
    graph = network.graph
    layer_prefix = f"{tf.compat.v1.GraphKeys.LAYER_TENSOR}/"
    variables_prefix = f"{tf.compat.v1.GraphKeys.LAYER_VARIABLES}/"
    creation_order = {op.name: index for index, op in enumerate(graph.get_operations())}
    layers = []
    for key in graph.get_all_collection_keys():
        if not key.startswith(layer_prefix):
            continue
        weights = graph.get_collection(variables_prefix + key.removeprefix(layer_prefix))
        for output in graph.get_collection(key):
            scope = output.op.name.split("/")[0]
            parameters = sum(
                w.shape.num_elements() for w in weights if w.op.name.startswith(f"{scope}/")
            )
            row = (scope, tuple(output.shape.as_list()), parameters)
            layers.append((creation_order[output.op.name], row))
    return LayerSummary(tuple(row for _, row in sorted(layers)))
