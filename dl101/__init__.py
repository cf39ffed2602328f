"""What the notebooks call as ``dl101.X``. Import it before TensorFlow, which reads its settings
once. tflearn's helpers are apart, in :mod:`dl101.tflearn_training`: tflearn sets graph mode."""

# ruff: noqa: F401  (these imports are what notebooks call as dl101.X)
from dl101 import tensorflow_settings  # sets TensorFlow's environment: first

# isort: split
from dl101 import claims, look_inside
from dl101.data import CIFAR10_CLASSES, cifar10_experiment_data, load_cifar10, load_mnist
from dl101.notebook import check_setup, prepare_notebook, tensorboard_command
from dl101.pictures import sample_images, side_by_side
from dl101.reports import plot_runs, results_table, with_finished_partner
from dl101.runs import Experiment
from dl101.tensorboard_logs import read_scalars
