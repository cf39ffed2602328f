"""Pictures of what a trained network (tflearn's ``DNN`` or a Keras model) learned. Nothing here
imports tflearn: the Keras notebook must never load it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dl101.pictures import ShownFigure, class_numbers, stretched

import numpy as np

PREDICTION_BATCH = 500  # images per forward pass: a whole test set at once needs gigabytes


def _is_tflearn(model: Any) -> bool:
    return hasattr(model, "train_ops") and hasattr(model, "session")


def _convolution(model: Any, number: int) -> Any:
    """The ``number``-th convolution (from 0): a Keras layer, or the name tflearn gave it."""
    if _is_tflearn(model):  # its graph's collections "layer_tensor/Conv2D", "…/Conv2D_1", ...
        keys = model.session.graph.get_all_collection_keys()
        found = [key.partition("/")[2] for key in keys if key.startswith("layer_tensor/Conv2D")]
    else:
        found = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    if number >= len(found):
        raise ValueError(f"The network has {len(found)} Conv2D layers, not {number + 1}.")
    return found[number]


def predict(model: Any, images: np.ndarray) -> np.ndarray:
    """Class probabilities for ``images``, a few hundred at a time."""
    quiet = {} if _is_tflearn(model) else {"verbose": 0}
    batches = range(0, len(images), PREDICTION_BATCH)
    return np.concatenate(
        [np.asarray(model.predict(images[at : at + PREDICTION_BATCH], **quiet)) for at in batches]
    )


def _grid(count: int, columns: int, size: float, title: str) -> tuple[ShownFigure, np.ndarray]:
    rows = -(-count // columns)
    figure = ShownFigure(figsize=(columns * size, rows * size + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for index, panel in enumerate(axes):
        panel.set(xticks=[], yticks=[], visible=index < count)
    figure.suptitle(title)
    return figure, axes[:count]


def first_layer_filters(model: Any, columns: int = 8) -> ShownFigure:
    """Every filter of the first convolution as a small picture, in colour for colour images."""
    convolution = _convolution(model, 0)
    if _is_tflearn(model):
        weights = model.session.graph.get_collection(f"layer_variables/{convolution}")[0]
        weights = np.asarray(model.get_weights(weights))  # (height, width, channels, filters)
    else:
        weights = np.asarray(convolution.get_weights()[0])
    figure, axes = _grid(weights.shape[-1], columns, 0.9, "What the first layer's filters look for")
    # Each filter stretched to its own range, so weak and strong ones are equally visible.
    # A colour filter in colour (the colour map is then unused), a grey one in grey.
    for panel, weight in zip(axes, np.moveaxis(weights, -1, 0), strict=True):
        panel.imshow(np.squeeze(stretched(weight)), cmap="gray", interpolation="nearest")
    return figure


def feature_maps(model: Any, image: np.ndarray, layer: int = 0, maps: int = 16) -> ShownFigure:
    """The image, then ``maps`` of the maps the ``layer``-th convolution (from 0) outputs for it."""
    convolution = _convolution(model, layer)
    if _is_tflearn(model):
        graph = model.session.graph
        batch = image[None].astype(np.float32)  # a copy: preprocessing may change it in place
        for preprocessing in graph.get_collection("data_preprocessing"):  # as in training
            if preprocessing is not None:
                batch = preprocessing.apply(batch)
        (placeholder,) = model.inputs
        output = graph.get_collection(f"layer_tensor/{convolution}")[-1]
        outputs = model.session.run(output, {placeholder: batch})[0]
    else:
        import keras

        probe = keras.Model(inputs=model.inputs, outputs=convolution.output)
        outputs = np.asarray(probe.predict(image[None], verbose=0))[0]
    height, width, count = outputs.shape
    shown = min(maps, count)
    title = f"Convolution {layer + 1}: {shown} of its {count} maps, {height} x {width} pixels"
    figure, axes = _grid(shown + 1, 9, 1.1, title)
    axes[0].imshow(np.clip(np.squeeze(image), 0, 1), cmap="gray")
    axes[0].set_title("the image", fontsize=8)
    for index, panel in enumerate(axes[1:]):
        panel.imshow(outputs[..., index], cmap="viridis")
    return figure


def mix_ups(counts: np.ndarray, class_names: Sequence[str], top: int = 3) -> str:
    """The matrix in words: the ``top`` most frequent mix-ups, each against its true class's size."""
    wrong = np.where(np.eye(len(counts), dtype=bool), 0, counts)  # the diagonal is right
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
    answers = np.argmax(predict(model, images), axis=1)
    classes = len(class_names)
    counts = np.bincount(class_numbers(labels) * classes + answers, minlength=classes**2)
    counts = counts.reshape(classes, classes)  # counts[true, answered]
    print(mix_ups(counts, class_names))
    figure = ShownFigure(figsize=(7, 6), layout="constrained")
    axes = figure.subplots()
    figure.colorbar(axes.imshow(counts, cmap="Blues"), ax=axes, label="validation images")
    axes.set_xticks(range(classes), class_names, rotation=45, ha="right")
    axes.set_yticks(range(classes), class_names)
    axes.set(xlabel="the network's answer", ylabel="the true class")
    for (row, column), count in np.ndenumerate(counts):
        color = "white" if count > counts.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", fontsize=7, color=color)
    accuracy = np.trace(counts) / counts.sum()
    axes.set_title(f"Confusion matrix: {accuracy:.1%} right on {counts.sum():,} images")
    return figure


def mistakes(
    model: Any, images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], count: int = 16
) -> ShownFigure:
    """The first ``count`` images the model got wrong, with its answer, how sure it was, the truth."""
    classes = class_numbers(labels)
    probabilities = predict(model, images)
    answers = np.argmax(probabilities, axis=1)
    wrong = np.flatnonzero(answers != classes)[:count]
    figure, axes = _grid(len(wrong), 8, 1.5, f"{len(wrong)} images it got wrong")
    for panel, index in zip(axes, wrong, strict=True):
        panel.imshow(np.clip(np.squeeze(images[index]), 0, 1), cmap="gray")
        answer, truth = class_names[answers[index]], class_names[classes[index]]
        confidence = probabilities[index, answers[index]]
        panel.set_title(f"{answer} {confidence:.0%}\n(is {truth})", fontsize=7)
    return figure
