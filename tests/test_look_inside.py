"""The pictures of what a network does: the hand convolution, filters, feature maps, mistakes."""

from __future__ import annotations

from dl101 import look_inside, runs
from dl101.paths import REPO_ROOT
from dl101.tflearn_training import new_graph, train

import nbformat
import numpy as np
import pytest
import scipy.signal

from tflearn.layers.conv import conv_2d, max_pool_2d
from tflearn.layers.core import fully_connected, input_data
from tflearn.layers.estimator import regression


def test_the_hand_convolution_is_scipys_correlation_and_max_pooling_keeps_the_largest() -> None:
    """The functions experiment_0_few_layers defines, run here."""
    cells = nbformat.read(REPO_ROOT / "experiment_0_few_layers.ipynb", as_version=4).cells
    (source,) = [c.source for c in cells if c.cell_type == "code" and "def convolve(" in c.source]
    namespace: dict = {"np": np}
    exec(source, namespace)
    image = np.random.default_rng(0).random((7, 9))
    edge_detector = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])

    for kernel in (edge_detector, np.arange(9.0).reshape(3, 3)):
        np.testing.assert_allclose(
            namespace["convolve"](image, kernel),
            scipy.signal.correlate2d(image, kernel, mode="valid"),
        )
    blocks = np.array([[1, 2, 0, 0], [3, 4, 0, 9], [5, 0, 1, 1], [0, 0, 1, 2]])
    np.testing.assert_array_equal(namespace["max_pool"](blocks), [[4, 9], [5, 2]])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A small convolutional network trained for an epoch on random 10-class images."""
    rng = np.random.default_rng(0)
    images = rng.random((240, 12, 12, 3), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[np.arange(240) % 10]
    logs = tmp_path_factory.mktemp("logs")
    run = runs.new_run("inside", root=logs, epochs=1, batch_size=40, training_examples=200)
    new_graph(run.seed)
    net = input_data(shape=[None, 12, 12, 3])
    net = max_pool_2d(conv_2d(net, 6, 3, activation="relu"), 2)
    net = conv_2d(net, 4, 3, activation="relu")
    net = regression(fully_connected(net, 10, activation="softmax"))
    model = train(net, run, (images[:200], labels[:200]), (images[200:], labels[200:]))
    return model, images[200:], labels[200:]


def pictures(figure: object) -> list:
    """The panels of a figure that show a picture."""
    return [axes for axes in figure.axes if axes.images and axes.get_visible()]


def test_the_filter_grid_has_one_panel_per_first_layer_filter(trained: tuple) -> None:
    panels = pictures(look_inside.first_layer_filters(trained[0]))

    assert len(panels) == 6
    assert panels[0].images[0].get_array().shape == (3, 3, 3)


@pytest.mark.parametrize(("layer", "maps", "size"), [(0, 6, 12), (1, 4, 6)])
def test_feature_maps_show_the_image_and_each_map_of_the_layer(
    trained: tuple, layer: int, maps: int, size: int
) -> None:
    model, images, _ = trained

    panels = pictures(look_inside.feature_maps(model, images[0], layer=layer))

    assert len(panels) == 1 + maps
    assert panels[1].images[0].get_array().shape == (size, size)


def test_the_confusion_matrix_counts_every_image_in_its_true_row_and_reads_it_in_words(
    trained: tuple,
) -> None:
    model, images, labels = trained

    figure = look_inside.confusion_matrix(model, images, labels, [f"class {i}" for i in range(10)])

    counts = pictures(figure)[0].images[0].get_array()
    assert counts.shape == (10, 10)
    assert counts.sum(axis=1).tolist() == labels.sum(axis=0).astype(int).tolist()
    names = ["cat", "dog", "ship"]
    assert look_inside.mix_ups(np.array([[50, 7, 3], [1, 40, 0], [9, 0, 30]]), names, top=2) == (
        "Most often mixed up: ship answered as cat (9 of 39 ship images); "
        "cat answered as dog (7 of 60 cat images)."
    )
    assert look_inside.mix_ups(np.eye(3, dtype=int), names) == "No mix-ups at all."


def test_mistakes_shows_only_wrong_answers_with_the_truth(trained: tuple) -> None:
    model, images, labels = trained
    answers = np.argmax(look_inside.predict(model, images), axis=1)
    wrong = np.flatnonzero(answers != np.argmax(labels, axis=1))

    figure = look_inside.mistakes(model, images, labels, [f"c{i}" for i in range(10)], count=5)

    panels = pictures(figure)
    assert len(panels) == min(5, len(wrong))
    first = panels[0].get_title()
    assert first.startswith(f"c{answers[wrong[0]]} ")
    assert f"(is c{np.argmax(labels[wrong[0]])})" in first


def test_predictions_come_in_batches_and_match_one_pass(
    trained: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, images, _ = trained
    monkeypatch.setattr(look_inside, "PREDICTION_BATCH", 7)

    np.testing.assert_allclose(look_inside.predict(model, images), model.predict(images), atol=1e-6)
