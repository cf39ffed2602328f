"""Keras' side of the measured training pass (no tflearn here: the Keras notebook must not load it).
Keras' own training accuracy averages batches as weights change, dropout on: unlike validation's."""

from __future__ import annotations

from typing import Any

from dl101 import tensorboard_logs
from dl101.runs import Run

import keras
import numpy as np
import tensorflow as tf


class MeasuredTraining(keras.callbacks.Callback):
    """After every epoch, log accuracy and loss on the first 10,000 training images, in inference
    mode, under ``<run>/training_pass``: TensorBoard draws them beside validation's."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, run: Run) -> None:
        super().__init__()
        run.check_not_trained_yet()  # before fit: Keras' TensorBoard callback writes there
        first = slice(tensorboard_logs.TRAINING_PASS_IMAGES)
        self.images, self.labels = images[first], labels[first]
        self.writer = tf.summary.create_file_writer(
            str(run.folder / tensorboard_logs.TRAINING_PASS_FOLDER)
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss, accuracy = self.model.evaluate(self.images, self.labels, verbose=0)
        with self.writer.as_default():
            tf.summary.scalar(tensorboard_logs.KERAS_LOSS, loss, step=epoch)
            tf.summary.scalar(tensorboard_logs.KERAS_ACCURACY, accuracy, step=epoch)
        self.writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.writer.close()
