"""Pictures a notebook shows, made outside pyplot: each is shown once, when a cell returns it, and
never kept."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


class ShownFigure(Figure):
    """A figure that Jupyter draws by itself as a PNG, without pyplot."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def class_numbers(labels: np.ndarray) -> np.ndarray:
    """Class numbers from ``labels`` given either as numbers or as one-hot rows."""
    return np.argmax(labels, axis=1) if np.ndim(labels) == 2 else np.asarray(labels)


def stretched(values: np.ndarray) -> np.ndarray:
    """``values`` stretched from their lowest to their highest to [0, 1] (all 0 if all equal)."""
    low, high = np.min(values), np.max(values)
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def sample_images(
    images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str | None = None
) -> ShownFigure:
    """One row per class: its first 8 images (values in [0, 1] or 0-255), labelled."""
    classes = class_numbers(labels)
    per_class = 8
    size = (per_class * 0.9 + 1.2, len(class_names) * 0.9)
    figure = ShownFigure(figsize=size, layout="constrained")
    grid = figure.subplots(len(class_names), per_class, squeeze=False)
    scale = 255.0 if images.max() > 1.0 else 1.0
    for row, name in enumerate(class_names):
        examples = np.flatnonzero(classes == row)[:per_class]
        for column, axes in enumerate(grid[row]):
            axes.set(xticks=[], yticks=[])
            axes.spines[:].set_visible(False)
            if column < len(examples):
                image = images[examples[column]] / scale
                axes.imshow(
                    np.squeeze(image), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest"
                )
        grid[row][0].set_ylabel(name, rotation=0, ha="right", va="center")
    if title:
        figure.suptitle(title)
    return figure


def side_by_side(images: Mapping[str, np.ndarray]) -> ShownFigure:
    """Labelled pictures in a row, each at its own size, stretched to its own range (edges too)."""
    figure = ShownFigure(figsize=(3 * len(images), 3.4), layout="constrained")
    panels = figure.subplots(1, len(images), squeeze=False)[0]
    for axes, (label, image) in zip(panels, images.items(), strict=True):
        axes.imshow(stretched(image), cmap="gray", interpolation="nearest")
        height, width = np.shape(image)[:2]
        axes.set_title(f"{label}\n{height} x {width} pixels", fontsize=9)
        axes.set(xticks=[], yticks=[])
    return figure
