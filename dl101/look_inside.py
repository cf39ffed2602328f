"""Pictures of what a trained network learned: its filters, what they see, what it gets wrong.

Each function takes a trained model, tflearn's ``DNN`` or a Keras model, and returns a figure
Jupyter draws by itself, so a notebook calls it in one line. Nothing here imports tflearn:
the Keras notebook must never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dl101.pictures import ShownFigure, class_numbers

import numpy as np

PREDICTION_BATCH = 500  # images per forward pass: a whole test set at once needs gigabytes


def _is_tflearn(model: Any) -> bool:
    return hasattr(model, "train_ops") and hasattr(model, "session")


def _tflearn_layer(model: Any, kind: str, number: int) -> tuple[Any, list[Any]]:
    """The output tensor and weights of the ``number``-th layer (from 0) whose name starts with ``kind``."""
    graph = model.session.graph
    names = [
        key.removeprefix("layer_tensor/")
        for key in graph.get_all_collection_keys()
        if key.startswith("layer_tensor/") and key.removeprefix("layer_tensor/").startswith(kind)
    ]
    if number >= len(names):
        raise ValueError(f"The network has {len(names)} {kind} layers, not {number + 1}.")
    name = names[number]
    return graph.get_collection(f"layer_tensor/{name}")[-1], graph.get_collection(
        f"layer_variables/{name}"
    )


def _tflearn_inputs(model: Any, images: np.ndarray) -> dict[Any, np.ndarray]:
    """The feed for ``images``, preprocessed as in training (never augmented)."""
    (placeholder,) = model.inputs
    graph = model.session.graph
    batch = np.array(images, dtype=np.float32, copy=True)
    for preprocessing in graph.get_collection("data_preprocessing"):
        if preprocessing is not None:
            batch = preprocessing.apply(batch)
    return {placeholder: batch}


def predict(model: Any, images: np.ndarray) -> np.ndarray:
    """Class probabilities for ``images``, a few hundred at a time."""
    batches = []
    for start in range(0, len(images), PREDICTION_BATCH):
        batch = images[start : start + PREDICTION_BATCH]
        if _is_tflearn(model):
            batches.append(np.asarray(model.predict(batch)))
        else:
            batches.append(np.asarray(model.predict(batch, verbose=0)))
    return np.concatenate(batches)


def _first_convolution_weights(model: Any) -> np.ndarray:
    """The first convolution's filters as (height, width, input channels, filters)."""
    if _is_tflearn(model):
        _, variables = _tflearn_layer(model, "Conv2D", 0)
        return np.asarray(model.get_weights(variables[0]))
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            return np.asarray(layer.get_weights()[0])
    raise ValueError("The model has no Conv2D layer.")


def _grid(count: int, columns: int, size: float, title: str) -> tuple[ShownFigure, np.ndarray]:
    rows = -(-count // columns)
    figure = ShownFigure(figsize=(columns * size, rows * size + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for panel in axes:
        panel.set_xticks([])
        panel.set_yticks([])
    for panel in axes[count:]:
        panel.set_visible(False)
    figure.suptitle(title)
    return figure, axes[:count]


def _scaled(values: np.ndarray) -> np.ndarray:
    """``values`` stretched to [0, 1], so weak and strong filters are equally visible."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def first_layer_filters(model: Any, columns: int = 8) -> ShownFigure:
    """Every filter of the first convolution as a small picture: one panel per filter.

    A colour filter is drawn in colour: a reddish patch responds to red, a light-dark stripe to
    an edge in that direction. A filter of a grey image is drawn in grey.
    """
    weights = _first_convolution_weights(model)
    figure, axes = _grid(weights.shape[-1], columns, 0.9, "What the first layer's filters look for")
    for index, panel in enumerate(axes):
        kernel = _scaled(weights[..., index])
        if kernel.shape[-1] == 3:
            panel.imshow(kernel, interpolation="nearest")
        else:
            panel.imshow(kernel[..., 0], cmap="gray", interpolation="nearest")
    return figure


def feature_maps(model: Any, image: np.ndarray, layer: int = 0, maps: int = 16) -> ShownFigure:
    """The image, then what the ``layer``-th convolution (from 0) outputs for it: ``maps`` maps.

    Bright is a strong response. The first layer's maps still look like the image (edges,
    colours); a deeper layer's are smaller and answer to larger, more abstract patterns.
    """
    if _is_tflearn(model):
        tensor, _ = _tflearn_layer(model, "Conv2D", layer)
        outputs = model.session.run(tensor, _tflearn_inputs(model, image[None]))[0]
    else:
        import keras

        convolutions = [lyr for lyr in model.layers if type(lyr).__name__ == "Conv2D"]
        probe = keras.Model(inputs=model.inputs, outputs=convolutions[layer].output)
        outputs = np.asarray(probe.predict(image[None], verbose=0))[0]
    shown = min(maps, outputs.shape[-1])
    height, width = outputs.shape[:2]
    figure, axes = _grid(
        shown + 1, 9, 1.1, f"Convolution {layer + 1}: {shown} of its {outputs.shape[-1]} maps, "
        f"{height} x {width} pixels"
    )  # fmt: skip
    axes[0].imshow(np.clip(np.squeeze(image), 0, 1), cmap="gray")
    axes[0].set_title("the image", fontsize=8)
    for index, panel in enumerate(axes[1:]):
        panel.imshow(outputs[..., index], cmap="viridis")
    return figure


def confusion_counts(model: Any, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``counts[true, answered]``: how often each class was answered as each class."""
    classes = class_numbers(labels)
    answers = np.argmax(predict(model, images), axis=1)
    # One-hot labels say how many classes there are; plain numbers only how many were seen.
    size = labels.shape[1] if np.ndim(labels) == 2 else max(classes.max(), answers.max()) + 1
    counts = np.zeros((size, size), dtype=np.int64)
    np.add.at(counts, (classes, answers), 1)
    return counts


def show_confusion_matrix(counts: np.ndarray, class_names: Sequence[str]) -> ShownFigure:
    """``counts`` as a coloured table: right answers on the diagonal, mix-ups off it."""
    figure = ShownFigure(figsize=(7, 6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes, label="validation images")
    ticks = range(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set(xlabel="the network's answer", ylabel="the true class")
    threshold = counts.max() / 2
    for (row, column), count in np.ndenumerate(counts):
        color = "white" if count > threshold else "black"
        axes.text(column, row, str(count), ha="center", va="center", fontsize=7, color=color)
    accuracy = np.trace(counts) / counts.sum()
    axes.set_title(f"Confusion matrix: {accuracy:.1%} right on {counts.sum():,} images")
    return figure


def mix_ups(counts: np.ndarray, class_names: Sequence[str], top: int = 3) -> str:
    """The matrix in words: the ``top`` most frequent mix-ups, each against its true class's size."""
    wrong = counts.copy()
    np.fill_diagonal(wrong, 0)
    largest = np.argsort(wrong, axis=None)[::-1][:top]
    words = [
        f"{class_names[true]} answered as {class_names[answer]} ({wrong[true, answer]} of "
        f"{counts[true].sum():,} {class_names[true]} images)"
        for true, answer in zip(*np.unravel_index(largest, wrong.shape), strict=True)
        if wrong[true, answer]
    ]
    return "Most often mixed up: " + "; ".join(words) + "." if words else "No mix-ups at all."


def confusion_matrix(
    model: Any, images: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> ShownFigure:
    """Which classes the model mixes up, on ``images``: one row per true class, and in words."""
    counts = confusion_counts(model, images, labels)
    print(mix_ups(counts, class_names))
    return show_confusion_matrix(counts, class_names)


def mistakes(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    count: int = 16,
) -> ShownFigure:
    """The first ``count`` images the model got wrong, with its answer, how sure it was, the truth."""
    classes = class_numbers(labels)
    probabilities = predict(model, images)
    answers = np.argmax(probabilities, axis=1)
    wrong = np.flatnonzero(answers != classes)[:count]
    figure, axes = _grid(len(wrong), 8, 1.5, f"{len(wrong)} images it got wrong")
    for panel, index in zip(axes, wrong, strict=True):
        panel.imshow(np.clip(np.squeeze(images[index]), 0, 1), cmap="gray")
        answer = answers[index]
        panel.set_title(
            f"{class_names[answer]} {probabilities[index, answer]:.0%}\n"
            f"(is {class_names[classes[index]]})",
            fontsize=7,
        )
    return figure
