"""Run profiles: how much a notebook trains, to fit the machine (50 epochs take hours on a CPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass

PROFILE_VARIABLE = "DL101_PROFILE"
AUTO = "auto"  # full with a GPU, cpu without


@dataclass(frozen=True)
class Profile:
    """Epochs and sizes for CIFAR-10, ``mnist_*`` for MNIST; a size of ``None``: the whole set."""

    name: str
    epochs: int
    train_size: int | None
    validation_size: int | None
    summary: str
    mnist_epochs: int
    mnist_train_size: int | None
    mnist_summary: str


PROFILES = {
    "full": Profile(
        "full", epochs=50, train_size=None, validation_size=None, mnist_epochs=10,
        summary="the article's settings: 50 epochs on all 50,000 training images",
        mnist_train_size=None, mnist_summary="10 epochs per model on all 60,000 training images",
    ),
    "cpu": Profile(
        "cpu", epochs=15, train_size=10_000, validation_size=None, mnist_epochs=3,
        summary="sized for a laptop CPU: 15 epochs on 10,000 of the 50,000 training images, "
        "validated on all 10,000 test images", mnist_train_size=None,
        mnist_summary="sized for a laptop CPU: 3 epochs per model on all 60,000 training images",
    ),
    "smoke": Profile(  # 4,096: two steps of the largest batch (2,000), so every run logs a curve
        "smoke", epochs=1, train_size=4096, validation_size=512, mnist_epochs=1,
        summary="a quick check that everything runs: 1 epoch on 4,096 images; "
        "its numbers mean nothing", mnist_train_size=10_000,
        mnist_summary="a quick check that everything runs: 1 epoch per model on 10,000 images",
    ),
}  # fmt: skip


def gpu_available() -> bool:  # tests replace it
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def requested_name(requested: str | None = None) -> str:
    """The name asked for, else ``$DL101_PROFILE``, else ``"auto"``: checked without TensorFlow."""
    choices = ", ".join([*PROFILES, AUTO])
    if requested is not None and not isinstance(requested, str):
        raise TypeError(  # papermill's -p profile_name 3 passes the int 3
            f"profile_name must be a run profile's name, as a string ({choices}), or None to "
            f"choose automatically; it is the {type(requested).__name__} {requested!r}."
        )
    name = (requested or os.environ.get(PROFILE_VARIABLE) or AUTO).strip().lower()
    if name != AUTO and name not in PROFILES:
        raise ValueError(f"Unknown run profile {name!r}. Choose one of: {choices}.")
    return name


def choose_profile(requested: str | None = None) -> Profile:
    if (name := requested_name(requested)) == AUTO:
        name = "full" if gpu_available() else "cpu"
    return PROFILES[name]
