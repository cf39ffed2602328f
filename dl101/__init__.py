"""Plumbing shared by the Deep Learning 101 notebooks: data, logs, run profiles and curves.

Import what a notebook needs in one line, e.g.::

    from dl101 import load_cifar10, new_run, choose_profile, plot_runs, results_table

tflearn needs one more import, ``from dl101.tflearn_compat import new_graph``, kept apart
because it switches TensorFlow into graph mode, which the Keras notebook must not do.

Import dl101 before TensorFlow, Keras or tflearn: it turns off TensorFlow's start-up messages
(CPU features, CUDA, oneDNN), which would otherwise fill the first output of every notebook.
"""

import os

# Read once, when TensorFlow's C++ runtime loads; setdefault leaves a user's own choice alone.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dl101.curves import (
    KERAS,
    TFLEARN,
    best_validation_accuracy_within,
    describe_comparison,
    plot_runs,
    read_scalars,
    results_table,
)
from dl101.data import (
    CIFAR10_CLASSES,
    DataError,
    cifar10_experiment_data,
    load_cifar10,
    load_mnist,
)
from dl101.logs import log_dir, new_run
from dl101.profiles import choose_profile, describe

__all__ = [
    "CIFAR10_CLASSES",
    "KERAS",
    "TFLEARN",
    "DataError",
    "best_validation_accuracy_within",
    "choose_profile",
    "cifar10_experiment_data",
    "describe_comparison",
    "describe",
    "load_cifar10",
    "load_mnist",
    "log_dir",
    "new_run",
    "plot_runs",
    "read_scalars",
    "results_table",
]
