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
  here it redraws a single progress line instead;
- a header printed by every ``fit`` (run id, log folder, sample counts) and advice printed
  after computing a data set's mean: both silenced;
- the ``'xavier'`` and ``'variance_scaling'`` weight initialisers, which lived in the
  removed ``tf.contrib``;
- batches whose examples and labels come from two different shuffles: tflearn hands out
  each batch as a view into its index array and reshuffles that array in place at every
  epoch, while other threads are still slicing inputs and labels through the view;
- ``model.predict`` rewriting the caller's array in place when the network has featurewise
  preprocessing, so that a second prediction on the same array returns garbage.

Importing tflearn switches TensorFlow into graph (TF1) mode for the whole process, so Keras
code must run in a kernel that never imported this module.

Every tflearn model is built in TensorFlow's default graph, and a second model built on top
of the first fails deep inside tflearn; call :func:`new_graph` before defining each model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import re
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import PIL.Image
import tensorflow as tf
from tensorflow.python.util import nest

tf.get_logger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"tflearn\b.*")
warnings.filterwarnings("ignore", category=UserWarning, module=r"tflearn\b.*")

if not hasattr(nest, "is_sequence"):
    nest.is_sequence = nest.is_nested
if not hasattr(PIL.Image, "ANTIALIAS"):
    setattr(PIL.Image, "ANTIALIAS", PIL.Image.Resampling.LANCZOS)  # noqa: B010

try:
    import scipy.ndimage  # noqa: F401
except ImportError as error:  # pragma: no cover - scipy is in requirements.txt
    raise ImportError(
        "tflearn's image augmentation needs scipy, and without it training hangs. "
        "Install the project's requirements: pip install -r requirements.txt"
    ) from error

import tflearn  # noqa: E402
import tflearn.callbacks  # noqa: E402
import tflearn.data_flow  # noqa: E402
import tflearn.data_preprocessing  # noqa: E402
import tflearn.helpers.trainer  # noqa: E402
import tflearn.initializations  # noqa: E402
from tflearn.helpers.evaluator import Evaluator  # noqa: E402


def _in_jupyter() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
_SECONDS_BETWEEN_UPDATES = 0.2
# Set by quiet_training(): fits then show no progress at all.
_quiet = False
# Cleared at the start of every fit; set by a callback that prints its own line per epoch
# (dl101.tflearn_training.TrainingPass), which then replaces tflearn's progress for that fit.
_epoch_lines_replaced = False


def replace_epoch_lines() -> None:
    """For the fit that is starting: show no tflearn progress, a callback prints each epoch."""
    global _epoch_lines_replaced
    _epoch_lines_replaced = True


def _silent(*args: object, **kwargs: object) -> None:
    return None


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


def _plain_termlogs(logger: tflearn.callbacks.TermLogger, training_state: Any) -> str:
    text = logger.termlogs(
        step=training_state.step,
        global_loss=training_state.global_loss,
        global_acc=training_state.global_acc,
        step_time=training_state.step_time_total,
    )
    return _TERMINAL_CODES.sub("", text)


def _show_progress_in_place() -> None:
    """In Jupyter, redraw one progress display instead of printing one output per step.

    tflearn imports ``clear_output`` from where IPython 8 no longer has it and falls back to
    terminal escape codes, so every training step became a new output (2,000 for the OR
    example). Clearing the cell instead would also erase what the cell printed before
    training; updating one display keeps it, and keeps the end-of-epoch lines below it.
    """
    from IPython.display import Pretty, display

    def print_termlogs(self: tflearn.callbacks.TermLogger, training_state: Any) -> None:
        if _quiet or _epoch_lines_replaced:
            return
        now = time.monotonic()
        if now - getattr(self, "_last_update", 0.0) < _SECONDS_BETWEEN_UPDATES:
            self._pending_state = training_state
            return
        self._last_update, self._pending_state = now, None
        text = Pretty(_plain_termlogs(self, training_state))
        if getattr(self, "_progress", None) is None:
            self._progress = display(text, display_id=True)
        else:
            self._progress.update(text)

    def snapshot_termlogs(self: tflearn.callbacks.TermLogger, training_state: Any) -> None:
        if _quiet or _epoch_lines_replaced:
            return
        print(_plain_termlogs(self, training_state), end="--\n", flush=True)
        self.snapped = True

    def on_train_end(self: tflearn.callbacks.TermLogger, training_state: Any) -> None:
        if getattr(self, "_pending_state", None) is not None:
            self._last_update = 0.0
            print_termlogs(self, self._pending_state)

    tflearn.callbacks.CURSES_SUPPORTED = False
    tflearn.callbacks.TermLogger.print_termlogs = print_termlogs
    tflearn.callbacks.TermLogger.snapshot_termlogs = snapshot_termlogs
    tflearn.callbacks.TermLogger.on_train_end = on_train_end


def _predict_on_a_copy(predict: Any) -> Any:
    if getattr(predict, "leaves_input_alone", False):
        return predict

    def predict_without_touching_input(self: Evaluator, feed_dict: dict) -> Any:
        # tflearn's featurewise preprocessing subtracts and divides in place.
        copied = {key: np.array(value, copy=True) for key, value in feed_dict.items()}
        return predict(self, copied)

    setattr(predict_without_touching_input, "leaves_input_alone", True)  # noqa: B010
    predict_without_touching_input.__doc__ = predict.__doc__
    return predict_without_touching_input


def variance_scaling(
    factor: float = 2.0,
    mode: str = "FAN_IN",
    uniform: bool = False,
    seed: int | None = None,
    dtype: tf.DType = tf.float32,
) -> Any:
    """tflearn's ``variance_scaling`` (He) initialiser, rebuilt on TensorFlow's own."""
    return tf.compat.v1.variance_scaling_initializer(
        scale=factor,
        mode=mode.lower(),
        distribution="uniform" if uniform else "truncated_normal",
        seed=seed,
        dtype=dtype,
    )


def xavier(uniform: bool = True, seed: int | None = None, dtype: tf.DType = tf.float32) -> Any:
    """tflearn's ``xavier`` (Glorot) initialiser: variance scaling over the average fan."""
    return variance_scaling(1.0, "FAN_AVG", uniform, seed, dtype)


def _log_first_session_message_quietly() -> None:
    """Use up a start-up message that TF_CPP_MIN_LOG_LEVEL cannot hide.

    TensorFlow 2.20 logs "MLIR V1 optimization pass is not enabled" through absl when the
    process runs its first graph, and Jupyter shows it under the first training cell. It is
    logged once per process, so run an empty graph once now with stderr sent to /dev/null.
    """
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.constant(0))
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)


def _batch_ids_as_copies(next_batch_ids: Any) -> Any:
    if getattr(next_batch_ids, "returns_copies", False):
        return next_batch_ids

    def next_batch_ids_copied(self: tflearn.data_flow.FeedDictFlow) -> Any:
        ids = next_batch_ids(self)
        return ids if ids is False else ids.copy()

    setattr(next_batch_ids_copied, "returns_copies", True)  # noqa: B010
    return next_batch_ids_copied


_log_first_session_message_quietly()
tflearn.data_flow.FeedDictFlow.next_batch_ids = _batch_ids_as_copies(
    tflearn.data_flow.FeedDictFlow.next_batch_ids
)


def _unless_replaced(show: Any) -> Any:
    """In a terminal, tflearn's own progress, unless a callback prints each epoch instead."""
    if getattr(show, "unless_replaced", False):
        return show

    def shown_unless_replaced(self: tflearn.callbacks.TermLogger, training_state: Any) -> None:
        if not _epoch_lines_replaced:
            show(self, training_state)

    setattr(shown_unless_replaced, "unless_replaced", True)  # noqa: B010
    return shown_unless_replaced


if _in_jupyter():
    _show_progress_in_place()
else:
    for _name in ("print_termlogs", "snapshot_termlogs"):
        _method = getattr(tflearn.callbacks.TermLogger, _name)
        setattr(tflearn.callbacks.TermLogger, _name, _unless_replaced(_method))
# tflearn prints a header for every fit (run id, its log folder as it was given, sample counts)
# and, after computing a data set's mean, advice to pass it in; the notebooks name the log
# folder once, truly, and need neither. Those are the only prints of these two modules.
tflearn.helpers.trainer.print = _silent
tflearn.data_preprocessing.print = _silent


def _start_of_fit(self: tflearn.callbacks.TermLogger, training_state: Any) -> None:
    global _epoch_lines_replaced
    _epoch_lines_replaced = False


tflearn.callbacks.TermLogger.on_train_begin = _start_of_fit
tflearn.initializations.variance_scaling = variance_scaling
tflearn.initializations.xavier = xavier
Evaluator.predict = _predict_on_a_copy(Evaluator.predict)


def new_graph(seed: int = 0) -> None:
    """Start an empty, seeded TensorFlow graph, so the next tflearn model does not collide with the last.

    Call it at the top of every cell that defines a model; re-running that cell then works. The
    seed makes the starting weights and the order in which examples are shuffled repeat from run
    to run (random augmentation, drawn in several threads at once, still varies).
    """
    tf.compat.v1.reset_default_graph()
    tf.compat.v1.set_random_seed(seed)
    np.random.seed(seed)
    random.seed(seed)  # tflearn's augmentation draws from Python's own generator
