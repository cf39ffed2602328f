"""Run profiles: how much training a notebook does, so it fits the machine it runs on.

The article trained for 50 epochs on a cloud GPU. On a laptop CPU that takes hours per
notebook, so without a GPU the notebooks train less (fewer epochs, a subset of the training
images) but always validate on the full test set, and say which settings produced their
numbers. Tests use ``smoke``, which only proves the notebook runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PROFILE_VARIABLE = "DL101_PROFILE"
AUTO = "auto"


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
        "full", epochs=50, train_size=None, validation_size=None,
        summary="the article's settings: 50 epochs on all 50,000 training images",
        mnist_epochs=10, mnist_train_size=None,
        mnist_summary="10 epochs per model on all 60,000 training images",
    ),
    "cpu": Profile(
        "cpu", epochs=15, train_size=10_000, validation_size=None,
        summary="sized for a laptop CPU: 15 epochs on 10,000 of the 50,000 training images, "
        "validated on all 10,000 test images",
        mnist_epochs=3, mnist_train_size=None,
        mnist_summary="sized for a laptop CPU: 3 epochs per model on all 60,000 training images",
    ),
    "smoke": Profile(
        "smoke", epochs=1, train_size=4096, validation_size=512,
        # Enough images for two steps of the largest batch (2,000), so every run logs a curve.
        summary="a quick check that everything runs: 1 epoch on 4,096 images; "
        "its numbers mean nothing",
        mnist_epochs=1, mnist_train_size=10_000,
        mnist_summary="a quick check that everything runs: 1 epoch per model on 10,000 images",
    ),
}  # fmt: skip


def gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def requested_name(requested: str | None = None) -> str:
    """The profile asked for, else ``$DL101_PROFILE``, else ``"auto"``: checked, not resolved.

    It never imports TensorFlow, so a script can check what it was given before it starts.
    """
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
    """The profile :func:`requested_name` gives; auto: ``full`` with a GPU, ``cpu`` without."""
    name = requested_name(requested)
    if name == AUTO:
        name = "full" if gpu_available() else "cpu"
    return PROFILES[name]


def announcement(profile: Profile, dataset: str = "cifar10") -> str:
    """What a notebook prints at the top: the profile, what it means, and how to change it."""
    summary = profile.mnist_summary if dataset == "mnist" else profile.summary
    return (
        f"Run profile: {profile.name} ({summary}).\n"
        f"To change it, set {PROFILE_VARIABLE} to full, cpu or smoke before starting Jupyter, "
        "or set `profile_name` in the notebook's parameters cell and re-run."
    )
