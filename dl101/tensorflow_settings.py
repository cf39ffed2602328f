"""TensorFlow settings that must be in the environment before TensorFlow is first imported.

TensorFlow reads these once, when its C++ runtime loads, so ``import dl101`` imports this
module before anything else, and a notebook imports ``dl101`` before TensorFlow, Keras or
tflearn. Each is set only where the user has not set it, so ``TF_ENABLE_ONEDNN_OPTS=0 jupyter
lab`` still turns oneDNN off.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys
from collections.abc import Iterator

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"

# oneDNN is Intel's library of fast CPU kernels for x86-64; unless asked, TensorFlow uses it for
# convolutions and pooling only on processors with AVX-512 VNNI or newer. On an AVX2 processor
# (the test machines' AMD EPYC, most laptops) its own kernels train the article's network about a
# fifth slower.
X86_64_MACHINES = {"x86_64", "amd64"}  # platform.machine(), lower-cased

# TensorFlow before 2.20 (2.19 on Kaggle and Colab's older runtimes) writes CUDA and XLA
# registration lines ("Unable to register cuDNN factory") to standard error while its C++
# libraries load, out of TF_CPP_MIN_LOG_LEVEL's reach. There, dl101 loads TensorFlow itself, with
# that stream closed for the import alone.
QUIET_FROM = (2, 20)


@contextlib.contextmanager
def standard_error_closed() -> Iterator[None]:
    """Send what is written to file descriptor 2 (C and C++ code included) nowhere, for a while."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as nowhere:
            os.dup2(nowhere.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def installed_tensorflow() -> tuple[int, int] | None:
    """The installed TensorFlow's (major, minor), read without importing it; None if absent."""
    try:
        major, minor = importlib.metadata.version("tensorflow").split(".")[:2]
        return int(major), int(minor)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


def _apply() -> None:
    """Quiet TensorFlow's start-up messages (CPU features, CUDA, oneDNN: every notebook's first
    output) and let it use oneDNN on every x86-64 processor."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if platform.machine().lower() in X86_64_MACHINES:
        os.environ.setdefault(ONEDNN_VARIABLE, "1")
    version = installed_tensorflow()
    if version is not None and version < QUIET_FROM and "tensorflow" not in sys.modules:
        with standard_error_closed():
            import tensorflow  # noqa: F401


_apply()
