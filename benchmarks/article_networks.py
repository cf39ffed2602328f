"""The article's CIFAR-10 networks, as the benchmarks build them.

The notebooks define their networks inline, where the lesson is; these are the same networks,
layer for layer, for scripts that time them. ``tests/test_experiments.py`` holds each one equal
to its notebook's (the same layers, output shapes and weights), so a change to a notebook's
network that is not made here too fails a test.
"""

from __future__ import annotations

from collections.abc import Callable

from dl101.tflearn_training import article_augmentation, article_preprocessing, new_graph

import tensorflow as tf

from tflearn.data_augmentation import ImageAugmentation
from tflearn.layers.conv import conv_2d, max_pool_2d
from tflearn.layers.core import dropout, fully_connected, input_data
from tflearn.layers.estimator import regression

LEARNING_RATE = 0.001


def _input(
    augmentation: Callable[[], ImageAugmentation | None] = article_augmentation,
) -> tf.Tensor:
    new_graph()
    return input_data(
        shape=[None, 32, 32, 3],
        data_preprocessing=article_preprocessing(),
        data_augmentation=augmentation(),
    )


def _output(network: tf.Tensor) -> tf.Tensor:
    network = fully_connected(network, 10, activation="softmax")
    return regression(
        network, optimizer="adam", loss="categorical_crossentropy", learning_rate=LEARNING_RATE
    )


def few_layers() -> tf.Tensor:
    """experiment_0_few_layers: one convolution and pooling, then 512 neurons."""
    network = max_pool_2d(conv_2d(_input(), 32, 3, activation="relu"), 2)
    return _output(fully_connected(network, 512, activation="relu"))


def three_layer_sets(
    augmentation: Callable[[], ImageAugmentation | None] = article_augmentation,
) -> tf.Tensor:
    """experiment_0_three_layer_sets: three sets of convolution and pooling, then 512 neurons.

    ``augmentation`` makes the input's augmentation: the notebooks', unless a benchmark times
    the same network with another (tflearn's own, or none).
    """
    network = _input(augmentation)
    for filters in (32, 64, 64):
        network = max_pool_2d(conv_2d(network, filters, 3, activation="relu"), 2)
    return _output(fully_connected(network, 512, activation="relu"))


def base_network(keep_probability: float | None = 0.5) -> tf.Tensor:
    """Experiments 1 to 4: conv 32, pool, conv 64, conv 64, pool, 512 neurons, dropout."""
    network = max_pool_2d(conv_2d(_input(), 32, 3, activation="relu"), 2)
    network = conv_2d(network, 64, 3, activation="relu")
    network = max_pool_2d(conv_2d(network, 64, 3, activation="relu"), 2)
    network = fully_connected(network, 512, activation="relu")
    if keep_probability is not None:
        network = dropout(network, keep_probability)
    return _output(network)


# The network whose layer table each notebook shows first, by notebook.
NOTEBOOK_NETWORKS = {
    "experiment_0_few_layers": few_layers,
    "experiment_0_three_layer_sets": three_layer_sets,
    "experiment_1_dropout": lambda: base_network(keep_probability=None),
    "experiment_2_l2": lambda: base_network(keep_probability=None),
    "experiment_3_batch_size": base_network,
    "experiment_4_learning_rate": base_network,
}
