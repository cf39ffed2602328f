"""Make tflearn 0.5.0 (unmaintained since 2020) work on today's TensorFlow: import this before it.
tflearn puts TensorFlow in graph mode for the process: run Keras where this was never imported."""

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

# Deprecation messages (TensorFlow's, scipy's on tflearn's rotation) would bury training output.
tf.get_logger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"tflearn\b.*")
# Old names tflearn needs to import: TensorFlow 2.13 renamed is_sequence, Pillow 10 ANTIALIAS.
nest.is_sequence = nest.is_nested
setattr(PIL.Image, "ANTIALIAS", PIL.Image.Resampling.LANCZOS)  # noqa: B010

import tflearn  # noqa: E402

# TensorFlow 2.20 logs "MLIR V1 optimization pass is not enabled" through absl, out of
# TF_CPP_MIN_LOG_LEVEL's reach, the first time the process runs a graph (Jupyter showed it under
# the first training cell): running an empty graph now, silenced, uses up that once.
_graph = tf.Graph()
with standard_error_closed(), _graph.as_default(), tf.compat.v1.Session(graph=_graph) as _session:
    _session.run(tf.constant(0))

_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
_SECONDS_BETWEEN_UPDATES = 0.2  # not one update per step: thousands would flood Jupyter
# Why tflearn's progress is hidden: "quiet" inside quiet_training(); "this fit" from the start of a
# fit whose callback prints its own line per epoch (TrainingPass) until the next fit starts.
_hidden_by: set[str] = set()


def replace_epoch_lines() -> None:
    """Show no tflearn progress for the fit that is starting: a callback prints each epoch."""
    _hidden_by.add("this fit")


@contextlib.contextmanager
def quiet_training() -> Iterator[None]:
    """Train without any progress output (start_here trains sixty small models); errors still show."""
    _hidden_by.add("quiet")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        _hidden_by.discard("quiet")


class _TerminalProgress(tflearn.callbacks.TermLogger):
    """tflearn's own progress, unless hidden."""

    def on_train_begin(self, training_state: Any) -> None:
        # Without tflearn's header of sample counts: the notebooks say what they train on.
        _hidden_by.discard("this fit")

    def on_batch_end(self, training_state: Any, snapshot: bool = False) -> None:
        if not _hidden_by:  # tflearn prints the progress, or a snapshot of it, from here only
            super().on_batch_end(training_state, snapshot)


class _JupyterProgress(_TerminalProgress):
    """In Jupyter, one progress display redrawn in place, keeping the cell's other output: tflearn
    looks for ``clear_output`` where IPython 8 no longer has it, and made each step a new output."""

    _display: Any = None
    _last_update = 0.0
    _pending_state: Any = None

    def _plain_termlogs(self, state: Any) -> str:
        text = self.termlogs(state.step, state.global_loss, state.global_acc, state.step_time_total)
        return _TERMINAL_CODES.sub("", text)

    def print_termlogs(self, training_state: Any) -> None:
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
# tflearn prints a header for every fit (its run id and log folder) and, after computing a data
# set's mean, advice to pass it in: the notebooks need neither. They are these modules' only prints.
tflearn.helpers.trainer.print = tflearn.data_preprocessing.print = lambda *args, **kwargs: None

# tflearn hands out each batch as a view into its index array and reshuffles that array in place
# every epoch while other threads still slice examples and labels through the view: a batch could
# pair the examples of one shuffle with the labels of another.
_next_batch_view = tflearn.data_flow.FeedDictFlow.next_batch_ids


def _next_batch_copy(self: Any) -> Any:
    ids = _next_batch_view(self)
    return ids if ids is False else ids.copy()


tflearn.data_flow.FeedDictFlow.next_batch_ids = _next_batch_copy

# With featurewise preprocessing, tflearn's predict normalises the caller's array in place: a
# second prediction on the same array returned garbage.
_predict_in_place = tflearn.helpers.evaluator.Evaluator.predict


def _predict_on_a_copy(self: Any, feed_dict: dict) -> Any:
    return _predict_in_place(self, {key: np.array(value) for key, value in feed_dict.items()})


tflearn.helpers.evaluator.Evaluator.predict = _predict_on_a_copy


# tflearn's 'variance_scaling' (He) and 'xavier' (Glorot) initialisers came from the removed
# tf.contrib: the same, rebuilt on TensorFlow's own.
def variance_scaling(
    factor: float = 2.0, mode: str = "FAN_IN", uniform: bool = False, seed: int | None = None
) -> Any:
    distribution = "uniform" if uniform else "truncated_normal"
    return tf.compat.v1.variance_scaling_initializer(factor, mode.lower(), distribution, seed)


def xavier(uniform: bool = True, seed: int | None = None) -> Any:
    return variance_scaling(1.0, "FAN_AVG", uniform, seed)


tflearn.initializations.variance_scaling = variance_scaling
tflearn.initializations.xavier = xavier


def new_graph(seed: int = 0) -> None:
    """Start an empty graph, seeded (the same starting weights and shuffling), in every cell that
    defines a model: tflearn builds each in TensorFlow's default graph, where a second one fails."""
    tf.compat.v1.reset_default_graph()
    tf.compat.v1.set_random_seed(seed)
    np.random.seed(seed)
    random.seed(seed)  # tflearn's augmentation draws from Python's own generator
