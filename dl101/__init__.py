"""Plumbing shared by the Deep Learning 101 notebooks: data, runs, reports and the article's claims.

A notebook writes ``import dl101`` and calls what it needs, e.g. ``dl101.prepare_notebook()``.
tflearn's helpers are in :mod:`dl101.tflearn_training`, imported apart: importing tflearn
switches TensorFlow into graph mode, which the Keras notebook must not have.

Import dl101 before TensorFlow, Keras or tflearn: it sets what TensorFlow reads once, when it
loads (:mod:`dl101.tensorflow_settings`).
"""

from dl101 import tensorflow_settings  # noqa: F401  (sets TensorFlow's environment: first)

# isort: split
from dl101 import claims, look_inside
from dl101.data import CIFAR10_CLASSES, cifar10_experiment_data, load_cifar10, load_mnist
from dl101.notebook import check_setup, prepare_notebook, tensorboard_command
from dl101.pictures import sample_images, side_by_side
from dl101.reports import plot_runs, results_table, with_finished_partner
from dl101.runs import Experiment
from dl101.tensorboard_logs import read_scalars

__all__ = [
    "CIFAR10_CLASSES",
    "Experiment",
    "check_setup",
    "cifar10_experiment_data",
    "claims",
    "load_cifar10",
    "load_mnist",
    "look_inside",
    "plot_runs",
    "prepare_notebook",
    "read_scalars",
    "results_table",
    "sample_images",
    "side_by_side",
    "tensorboard_command",
    "with_finished_partner",
]
