"""Make tflearn 0.5.0, unmaintained since 2020, work cleanly on today's TensorFlow.

Import this module before ``import tflearn``; each fix below says what it repairs. Importing
tflearn switches TensorFlow into graph (TF1) mode for the whole process, so Keras code must run
in a kernel that never imported this module.
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import re
import time
import warnings
from collections.abc import Iterator
from typing import Any

from dl101.tensorflow_settings import standard_error_closed

import numpy as np
import PIL.Image
import tensorflow as tf
from IPython import get_ipython
from IPython.display import Pretty, display
from tensorflow.python.util import nest

# TensorFlow's deprecation messages, and scipy's about the namespace tflearn's own random
# rotation uses, would bury the training output.
tf.get_logger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"tflearn\b.*")
# Renamed under tflearn, which does not import without the old names: TensorFlow 2.13 renamed
# is_sequence, Pillow 10 ANTIALIAS.
nest.is_sequence = nest.is_nested
setattr(PIL.Image, "ANTIALIAS", PIL.Image.Resampling.LANCZOS)  # noqa: B010

import tflearn  # noqa: E402

# TensorFlow 2.20 logs "MLIR V1 optimization pass is not enabled" through absl, which
# TF_CPP_MIN_LOG_LEVEL does not reach, when the process first runs a graph: Jupyter showed it
# under the first training cell. It is logged once per process, so run an empty graph now.
_graph = tf.Graph()
with standard_error_closed(), _graph.as_default(), tf.compat.v1.Session(graph=_graph) as _session:
    _session.run(tf.constant(0))

_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
_SECONDS_BETWEEN_UPDATES = 0.2
_quiet = False  # set by quiet_training(): fits then show no progress at all
# Cleared at the start of every fit; set by a callback that prints its own line per epoch
# (dl101.tflearn_training.TrainingPass), which then replaces tflearn's progress for that fit.
_epoch_lines_replaced = False


def replace_epoch_lines() -> None:
    """For the fit that is starting: show no tflearn progress, a callback prints each epoch."""
    global _epoch_lines_replaced
    _epoch_lines_replaced = True


@contextlib.contextmanager
def quiet_training() -> Iterator[None]:
    """Train without any progress output, for a loop that trains many small models.

    tflearn prints a header and, in Jupyter, a progress display for every ``fit``; start_here's
    count over twenty seeds would fill the page with sixty of them. Errors still show.
    """
    global _quiet
    _quiet = True
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        _quiet = False


def _progress_hidden() -> bool:
    return _quiet or _epoch_lines_replaced


class _TerminalProgress(tflearn.callbacks.TermLogger):
    """tflearn's own progress, unless hidden for this fit."""

    def on_train_begin(self, training_state: Any) -> None:
        # Without tflearn's header of sample counts: the notebooks say what they train on.
        global _epoch_lines_replaced
        _epoch_lines_replaced = False

    def print_termlogs(self, training_state: Any) -> None:
        if not _progress_hidden():
            super().print_termlogs(training_state)

    def snapshot_termlogs(self, training_state: Any) -> None:
        if not _progress_hidden():
            super().snapshot_termlogs(training_state)


class _JupyterProgress(_TerminalProgress):
    """In Jupyter, one progress display redrawn in place instead of one output per step.

    tflearn imports ``clear_output`` from where IPython 8 no longer has it and falls back to
    terminal escape codes, so every training step became a new output (2,000 for the OR
    example). Clearing the cell instead would also erase what the cell printed before training;
    updating one display keeps it, and keeps the end-of-epoch lines below it.
    """

    _display: Any = None
    _last_update = 0.0
    _pending_state: Any = None

    def _plain_termlogs(self, state: Any) -> str:
        text = self.termlogs(state.step, state.global_loss, state.global_acc, state.step_time_total)
        return _TERMINAL_CODES.sub("", text)

    def print_termlogs(self, training_state: Any) -> None:
        if _progress_hidden():
            return
        now = time.monotonic()
        if now - self._last_update < _SECONDS_BETWEEN_UPDATES:
            self._pending_state = training_state
            return
        self._last_update, self._pending_state = now, None
        text = Pretty(self._plain_termlogs(training_state))
        if self._display is None:
            self._display = display(text, display_id=True)
        else:
            self._display.update(text)

    def snapshot_termlogs(self, training_state: Any) -> None:
        if not _progress_hidden():
            print(self._plain_termlogs(training_state), end="--\n", flush=True)

    def on_train_end(self, training_state: Any) -> None:
        if self._pending_state is not None:
            self._last_update = 0.0
            self.print_termlogs(self._pending_state)


if hasattr(get_ipython(), "kernel"):  # in Jupyter
    tflearn.callbacks.CURSES_SUPPORTED = False
    tflearn.callbacks.TermLogger = _JupyterProgress
else:
    tflearn.callbacks.TermLogger = _TerminalProgress
# tflearn prints a header for every fit (run id, its log folder as it was given) and, after
# computing a data set's mean, advice to pass it in; the notebooks name the log folder once,
# truly, and need neither. Those are the only prints of these two modules.
tflearn.helpers.trainer.print = tflearn.data_preprocessing.print = lambda *args, **kwargs: None

# tflearn hands out each batch as a view into its index array and reshuffles that array in
# place at every epoch, while other threads still slice examples and labels through the view:
# a batch could pair the examples of one shuffle with the labels of another.
_next_batch_view = tflearn.data_flow.FeedDictFlow.next_batch_ids


def _next_batch_copy(self: Any) -> Any:
    ids = _next_batch_view(self)
    return ids if ids is False else ids.copy()


tflearn.data_flow.FeedDictFlow.next_batch_ids = _next_batch_copy

# With featurewise preprocessing, tflearn's predict subtracts and divides the caller's array in
# place, so that a second prediction on the same array returned garbage.
_predict_in_place = tflearn.helpers.evaluator.Evaluator.predict


def _predict_on_a_copy(self: Any, feed_dict: dict) -> Any:
    return _predict_in_place(self, {key: np.array(v, copy=True) for key, v in feed_dict.items()})


tflearn.helpers.evaluator.Evaluator.predict = _predict_on_a_copy


# The 'variance_scaling' and 'xavier' initialisers lived in the removed tf.contrib.
def variance_scaling(
    factor: float = 2.0,
    mode: str = "FAN_IN",
    uniform: bool = False,
    seed: int | None = None,
    dtype: tf.DType = tf.float32,
) -> Any:
    """tflearn's ``variance_scaling`` (He) initialiser, rebuilt on TensorFlow's own."""
    distribution = "uniform" if uniform else "truncated_normal"
    return tf.compat.v1.variance_scaling_initializer(
        factor, mode.lower(), distribution, seed, dtype
    )


def xavier(uniform: bool = True, seed: int | None = None, dtype: tf.DType = tf.float32) -> Any:
    """tflearn's ``xavier`` (Glorot) initialiser: variance scaling over the average fan."""
    return variance_scaling(1.0, "FAN_AVG", uniform, seed, dtype)


tflearn.initializations.variance_scaling = variance_scaling
tflearn.initializations.xavier = xavier


def new_graph(seed: int = 0) -> None:
    """Start an empty, seeded TensorFlow graph, so the next tflearn model does not collide with the last.

    Every tflearn model is built in TensorFlow's default graph, and a second model built on top
    of the first fails deep inside tflearn: call it at the top of every cell that defines a
    model. The seed makes the starting weights and the order in which examples are shuffled
    repeat from run to run (random augmentation, drawn in several threads at once, still varies).
    """
    tf.compat.v1.reset_default_graph()
    tf.compat.v1.set_random_seed(seed)
    np.random.seed(seed)
    random.seed(seed)  # tflearn's augmentation draws from Python's own generator
