"""The article's CIFAR-10 networks, for scripts: the seed study and the throughput benchmark.

The notebooks define their networks inline, where the lesson is; these are the same networks,
layer for layer and in the same order of creation (so a seed starts them from the same weights).
``tests/test_experiments.py`` holds every layer table a notebook shows equal to the network
named for it in :data:`NOTEBOOK_NETWORKS`, so a change to a notebook's network that is not made
here too fails a test.
"""

from __future__ import annotations

from collections.abc import Callable

from dl101.tflearn_training import article_augmentation, article_preprocessing, new_graph

import tensorflow as tf

from tflearn.data_augmentation import ImageAugmentation
from tflearn.layers.conv import conv_2d, max_pool_2d
from tflearn.layers.core import dropout, fully_connected, input_data
from tflearn.layers.estimator import regression

Augmentation = Callable[[], ImageAugmentation | None]


def _input(seed: int, augmentation: Augmentation) -> tf.Tensor:
    new_graph(seed)
    return input_data(
        shape=[None, 32, 32, 3],
        data_preprocessing=article_preprocessing(),
        data_augmentation=augmentation(),
    )


def _output(network: tf.Tensor, learning_rate: float) -> tf.Tensor:
    network = fully_connected(network, 10, activation="softmax")
    return regression(
        network, optimizer="adam", loss="categorical_crossentropy", learning_rate=learning_rate
    )


def few_layers(seed: int = 0, learning_rate: float = 0.001) -> tf.Tensor:
    """experiment_0_few_layers: one convolution and pooling, then 512 neurons."""
    network = max_pool_2d(conv_2d(_input(seed, article_augmentation), 32, 3, activation="relu"), 2)
    return _output(fully_connected(network, 512, activation="relu"), learning_rate)


def linear(seed: int = 0, learning_rate: float = 0.001) -> tf.Tensor:
    """experiment_0_few_layers' example of underfitting: no hidden layer, pixels straight to 10."""
    return _output(_input(seed, article_augmentation), learning_rate)


def three_layer_sets(
    seed: int = 0, learning_rate: float = 0.001, augmentation: Augmentation = article_augmentation
) -> tf.Tensor:
    """experiment_0_three_layer_sets: three sets of convolution and pooling, then 512 neurons.

    ``augmentation`` makes the input's augmentation: the notebooks', unless a benchmark times
    the same network with another (tflearn's own, or none).
    """
    network = _input(seed, augmentation)
    for filters in (32, 64, 64):
        network = max_pool_2d(conv_2d(network, filters, 3, activation="relu"), 2)
    return _output(fully_connected(network, 512, activation="relu"), learning_rate)


def base_network(
    seed: int = 0,
    learning_rate: float = 0.001,
    keep_probability: float | None = None,
    regularizer: str | None = None,
) -> tf.Tensor:
    """Experiments 1 to 4: conv 32, pool, conv 64, conv 64, pool, 512 neurons, then 10.

    With ``keep_probability``, dropout after the 512 neurons (experiments 1, 3, 4); with
    ``regularizer="L2"``, L2 on every convolution and the 512 neurons (experiment 2).
    """
    network = _input(seed, article_augmentation)
    network = conv_2d(network, 32, 3, activation="relu", regularizer=regularizer)
    network = max_pool_2d(network, 2)
    network = conv_2d(network, 64, 3, activation="relu", regularizer=regularizer)
    network = conv_2d(network, 64, 3, activation="relu", regularizer=regularizer)
    network = max_pool_2d(network, 2)
    network = fully_connected(network, 512, activation="relu", regularizer=regularizer)
    if keep_probability is not None:
        network = dropout(network, keep_probability)
    return _output(network, learning_rate)


def _with_dropout() -> tf.Tensor:
    return base_network(keep_probability=0.5)


# Every network whose layer table a notebook shows, in the order the notebook shows them.
NOTEBOOK_NETWORKS: dict[str, list[Callable[[], tf.Tensor]]] = {
    "experiment_0_few_layers": [few_layers, linear],
    "experiment_0_three_layer_sets": [three_layer_sets],
    "experiment_1_dropout": [base_network, _with_dropout],
    "experiment_2_l2": [base_network, lambda: base_network(regularizer="L2")],
    "experiment_3_batch_size": [_with_dropout] * 2,
    "experiment_4_learning_rate": [_with_dropout] * 3,
}
