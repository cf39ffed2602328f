"""Keras' side of the measured training pass: training accuracy measured as validation is.

Keras reports a training accuracy averaged over the epoch's batches while the weights change,
with dropout and augmentation on: not comparable with validation's, measured at the end of the
epoch on plain images. No tflearn here: the Keras notebook must never load it.
"""

from __future__ import annotations

from typing import Any

from dl101.runs import Run
from dl101.tensorboard_logs import (
    KERAS_ACCURACY,
    KERAS_LOSS,
    TRAINING_PASS_FOLDER,
    TRAINING_PASS_IMAGES,
)

import keras
import numpy as np
import tensorflow as tf


class MeasuredTraining(keras.callbacks.Callback):
    """After every epoch, log accuracy and loss on the first 10,000 training images, in inference
    mode, under ``<run>/training_pass``: beside Keras' "train" and "validation" folders,
    TensorBoard draws it on the same card as validation's "epoch_accuracy"."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, run: Run) -> None:
        super().__init__()
        run.check_not_trained_yet()  # before fit: Keras' TensorBoard callback writes there
        self.images = images[:TRAINING_PASS_IMAGES]
        self.labels = labels[:TRAINING_PASS_IMAGES]
        self.writer = tf.summary.create_file_writer(str(run.folder / TRAINING_PASS_FOLDER))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss, accuracy = self.model.evaluate(self.images, self.labels, verbose=0)
        with self.writer.as_default():
            tf.summary.scalar(KERAS_LOSS, loss, step=epoch)
            tf.summary.scalar(KERAS_ACCURACY, accuracy, step=epoch)
        self.writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.writer.close()
