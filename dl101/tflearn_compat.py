"""Make tflearn 0.5.0, unmaintained since 2020, work cleanly on today's TensorFlow.

Import this module before ``import tflearn``. It is safe to import any number of times, and
it fixes, in order of how a learner would meet them:

- TensorFlow's start-up and deprecation messages, which bury the training output;
- ``tensorflow.python.util.nest.is_sequence``, which TensorFlow 2.13 renamed to
  ``is_nested`` and without which tflearn does not import;
- ``PIL.Image.ANTIALIAS``, which Pillow 10 renamed to ``LANCZOS``;
- scipy, which tflearn's random rotation needs but does not declare: without it ``fit``
  hangs forever in a background thread, so we fail early with a clear message instead;
- progress output in Jupyter: tflearn looks for ``clear_output`` where IPython 8 no longer
  has it and falls back to terminal escape codes, printing one output per training step;
- ``model.predict`` rewriting the caller's array in place when the network has featurewise
  preprocessing, so that a second prediction on the same array returns garbage.

Importing tflearn switches TensorFlow into graph (TF1) mode for the whole process, so Keras
code must run in a kernel that never imported this module.

Every tflearn model is built in TensorFlow's default graph, and a second model built on top
of the first fails deep inside tflearn; call :func:`new_graph` before defining each model.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

# Must be set before TensorFlow is first imported; setdefault lets a user ask for more.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.util import nest  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"tflearn\b.*")
warnings.filterwarnings("ignore", category=UserWarning, module=r"tflearn\b.*")

if not hasattr(nest, "is_sequence"):
    nest.is_sequence = nest.is_nested
if not hasattr(PIL.Image, "ANTIALIAS"):
    PIL.Image.ANTIALIAS = PIL.Image.Resampling.LANCZOS

try:
    import scipy.ndimage  # noqa: F401
except ImportError as error:  # pragma: no cover - scipy is in requirements.txt
    raise ImportError(
        "tflearn's image augmentation needs scipy, and without it training hangs. "
        "Install the project's requirements: pip install -r requirements.txt"
    ) from error

import tflearn  # noqa: E402
import tflearn.callbacks  # noqa: E402
from tflearn.helpers.evaluator import Evaluator  # noqa: E402


def _in_jupyter() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _show_progress_in_place() -> None:
    """Let tflearn redraw one progress line in Jupyter instead of printing one per step."""
    if _in_jupyter():
        from IPython.display import clear_output

        tflearn.callbacks.clear_output = clear_output
        tflearn.callbacks.CURSES_SUPPORTED = False


def _predict_on_a_copy(predict: Any) -> Any:
    if getattr(predict, "leaves_input_alone", False):
        return predict

    def predict_without_touching_input(self: Evaluator, feed_dict: dict) -> Any:
        # tflearn's featurewise preprocessing subtracts and divides in place.
        copied = {key: np.array(value, copy=True) for key, value in feed_dict.items()}
        return predict(self, copied)

    predict_without_touching_input.leaves_input_alone = True
    predict_without_touching_input.__doc__ = predict.__doc__
    return predict_without_touching_input


_show_progress_in_place()
Evaluator.predict = _predict_on_a_copy(Evaluator.predict)


def new_graph() -> None:
    """Start an empty TensorFlow graph, so the next tflearn model does not collide with the last.

    Call it at the top of every cell that defines a model; re-running that cell then works.
    """
    tf.compat.v1.reset_default_graph()
