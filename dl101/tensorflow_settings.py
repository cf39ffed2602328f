"""Settings TensorFlow reads as it is first imported: ``import dl101`` runs this first, setting each
one the user has not (``TF_ENABLE_ONEDNN_OPTS=0 jupyter lab`` still turns oneDNN off)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys
from collections.abc import Iterator

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
# Unless asked, TensorFlow uses Intel's oneDNN kernels for convolutions and pooling only on x86-64
# processors with AVX-512 VNNI or newer; on AVX2 ones (the test machines' AMD EPYC, most laptops)
# its own kernels train the article's network about a fifth slower.
X86_64_MACHINES = {"x86_64", "amd64"}  # platform.machine(), lower-cased
# TensorFlow before 2.20 (Kaggle's and Colab's older runtimes) writes CUDA and XLA registration
# lines to standard error as it loads, out of TF_CPP_MIN_LOG_LEVEL's reach: there, dl101 loads
# TensorFlow itself, with that stream closed.
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


# Quiet TensorFlow's start-up messages (every notebook's first output); oneDNN on every x86-64.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if platform.machine().lower() in X86_64_MACHINES:
    os.environ.setdefault(ONEDNN_VARIABLE, "1")
_version = installed_tensorflow()
if _version is not None and _version < QUIET_FROM and "tensorflow" not in sys.modules:
    with standard_error_closed():
        import tensorflow  # noqa: F401
