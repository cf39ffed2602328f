"""tflearn 0.5.0 on today's TensorFlow, and reading its TensorBoard logs back."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from dl101 import paths, reports, runs, tensorboard_logs
from dl101.tflearn_training import (
    LAYOUT_CATEGORY,
    TrainingPass,
    article_preprocessing,
    layer_summary,
    new_graph,
    train,
)

import numpy as np
import pytest
import tensorflow as tf
from helpers import train_small_classifier

import tflearn
from tflearn import conv_2d, dropout, fully_connected, input_data, max_pool_2d, regression


def random_points(count: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    points = np.random.default_rng(0).normal(size=(count, features)).astype(np.float32)
    return points, np.eye(2)[(points.sum(axis=1) > 0).astype(int)]


def softmax_network(run: runs.Run, features: int, preprocessed: bool = False) -> tf.Tensor:
    """A one-layer softmax classifier in a new graph seeded by ``run``, at its learning rate."""
    new_graph(run.seed)
    preprocessing = article_preprocessing() if preprocessed else None
    net = input_data(shape=[None, features], data_preprocessing=preprocessing)
    net = fully_connected(net, 2, activation="softmax")
    return regression(net, learning_rate=run.learning_rate or 0.001)  # tflearn's default


def test_tflearn_imports_without_noise() -> None:
    script = "import dl101.tflearn_compat, tflearn, dl101.tflearn_compat; print('imported')"

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=paths.REPO_ROOT, capture_output=True, text=True
    )

    assert (result.stdout, result.stderr) == ("imported\n", "")


def test_the_or_perceptron_learns_and_its_seed_repeats_it_exactly(tmp_path: Path) -> None:
    x_or, y_or = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [[0.0], [1.0], [1.0], [1.0]]

    def predictions(name: str, seed: int) -> np.ndarray:
        """The article's first program, in batches of two: the shuffling order matters."""
        run = runs.new_run(name, root=tmp_path)
        new_graph(seed)
        net = fully_connected(input_data(shape=[None, 2]), 1, activation="sigmoid")
        net = regression(net, optimizer="sgd", learning_rate=2, loss="mean_square")
        model = tflearn.DNN(net, tensorboard_dir=run.tensorboard_dir)
        model.fit(x_or, y_or, n_epoch=500, batch_size=2, snapshot_epoch=False, run_id=run.run_id)
        assert list(run.folder.glob("events.out.tfevents.*"))
        return np.asarray(model.predict(x_or)).ravel()

    first, again, other = predictions("first", 7), predictions("again", 7), predictions("other", 8)

    assert first[0] < 0.5 and (first[1:] > 0.5).all()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[runs.Run, Any]]:
    """Two runs, their models and points: ``short`` 2 epochs, ``long`` 4."""
    root = tmp_path_factory.mktemp("curves")
    models = {}
    for name, epochs in (("short", 2), ("long", 4)):
        run = runs.new_run(f"curves/{name}", root=root, epochs=epochs)
        models[name] = (run, *train_small_classifier(run, epochs))
    return models


def test_training_accuracy_is_measured_like_validation_after_every_epoch(trained: dict) -> None:
    run, model, points = trained["long"]
    scalars = tensorboard_logs.read_scalars(run)

    training = scalars[tensorboard_logs.TFLEARN.train_accuracy]
    validation = scalars[tensorboard_logs.TFLEARN.validation_accuracy]
    # 300 training points in batches of 50: six steps per epoch, validated after each.
    assert validation.steps.tolist() == training.steps.tolist() == [6, 12, 18, 24]
    assert scalars[tensorboard_logs.TFLEARN.train_loss].steps[-1] == 24
    # The last point is what predicting the training points gives, dropout and augmentation off.
    labels = (points[:300].sum(axis=1) > 20).astype(int)
    predicted = np.argmax(model.predict(points[:300]), axis=1)
    assert training.values[-1] == pytest.approx(np.mean(predicted == labels), abs=1e-6)
    assert reports.summarize(run).final_train_accuracy == pytest.approx(training.values[-1])


def test_predict_leaves_the_callers_array_untouched(trained: dict) -> None:
    _, model, points = trained["short"]
    test_points = points[300:].copy()

    first = model.predict(test_points)

    np.testing.assert_array_equal(test_points, points[300:])
    np.testing.assert_allclose(first, model.predict(test_points))


# TensorBoard's plugins import the bleach it vendors, which warns about its own html5lib.
@pytest.mark.filterwarnings("ignore:html5lib's sanitizer is deprecated:DeprecationWarning")
def test_tensorboard_draws_training_and_validation_in_one_chart_per_quantity(
    trained: dict,
) -> None:
    """What TensorBoard's Custom Scalars tab shows, asked of its own plugins as its page asks."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.custom_scalar.custom_scalars_plugin import CustomScalarsPlugin
    from tensorboard.plugins.scalar.scalars_plugin import ScalarsPlugin

    logdir = str(trained["long"][0].folder.parent)
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    plugins: dict[str, base_plugin.TBPlugin] = {}
    provider = data_provider.MultiplexerDataProvider(multiplexer, logdir)
    tensorboard = base_plugin.TBContext(
        logdir=logdir, data_provider=provider, plugin_name_to_instance=plugins
    )
    plugins["scalars"] = ScalarsPlugin(tensorboard)
    custom_scalars = CustomScalarsPlugin(tensorboard)
    request = context.RequestContext()

    # Every run wrote the layout; TensorBoard shows it once: one chart for each quantity.
    (category,) = json.loads(custom_scalars.layout_impl(request, ""))["category"]
    assert category["title"] == LAYOUT_CATEGORY
    charts = {chart["title"]: chart["multiline"]["tag"] for chart in category["chart"]}
    assert list(charts) == ["Accuracy", "Loss"]
    for (quantity, regexes), name in itertools.product(charts.items(), trained):
        drawn = {
            (run, tag)
            for run in (name, f"{name}/training_pass")
            for regex in regexes
            for tag in custom_scalars.scalars_impl(request, run, regex, "")["tag_to_events"]
        }
        # The measured training curve and tflearn's validation, not its running average.
        assert drawn == {
            (f"{name}/training_pass", f"{quantity}/Training"),
            (name, f"{quantity}/Validation"),
        }


def test_the_results_table_and_the_plots_show_the_logged_curves(trained: dict) -> None:
    trained_runs = [run for run, _, _ in trained.values()]
    table = reports.results_table(trained_runs)

    for row, run in zip(table.rows, trained_runs, strict=True):
        scalars = tensorboard_logs.read_scalars(run)
        validation = scalars["Accuracy/Validation"].values
        training = scalars[tensorboard_logs.TFLEARN.train_accuracy].values
        assert row.final_validation_accuracy == pytest.approx(validation[-1])
        assert row.best_validation_accuracy == pytest.approx(validation.max())
        assert row.gap == pytest.approx(training[-1] - validation[-1])
        assert row.wall_time_seconds > 0
    rows = table.to_markdown().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == ["| short", "| long"]
    for x_axis, label in (("epoch", "epoch"), ("time", "seconds since the run started")):
        accuracy_axes, loss_axes = reports.plot_runs(trained_runs, x_axis=x_axis).axes
        assert accuracy_axes.get_xlabel() == label
        (legend,) = accuracy_axes.figure.legends  # one legend, below both panels
        assert [text.get_text() for text in legend.get_texts()] == [
            f"{name} ({curve})" for name in trained for curve in ("training", "validation")
        ]
        if x_axis == "epoch":  # long's validation
            assert accuracy_axes.get_lines()[3].get_xdata().tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("initializer", "expected_std"),
    [
        # Glorot: uniform in ±sqrt(6 / (fan_in + fan_out)), so std sqrt(2 / (fan_in + fan_out)).
        ("xavier", np.sqrt(2 / (200 + 300))),
        # He: truncated normal with std sqrt(2 / fan_in).
        ("variance_scaling", np.sqrt(2 / 200)),
    ],
)
def test_initialisers_from_tf_contrib_work_again(initializer: str, expected_std: float) -> None:
    new_graph(seed=0)
    layer = fully_connected(input_data(shape=[None, 200]), 300, weights_init=initializer)
    model = tflearn.DNN(regression(layer), tensorboard_verbose=0)

    weights = model.get_weights(layer.W)

    assert weights.shape == (200, 300)
    assert weights.std() == pytest.approx(expected_std, rel=0.05)


def test_batches_do_not_change_when_the_next_epoch_reshuffles() -> None:
    data = {"inputs": np.arange(10), "labels": np.arange(10)}
    flow = tflearn.data_flow.FeedDictFlow(
        data, tf.compat.v1.train.Coordinator(), batch_size=5, shuffle=True, continuous=True
    )

    batch = flow.next_batch_ids()
    kept = batch.copy()
    flow.reset_batches()  # what the feeding thread does at the end of every epoch

    np.testing.assert_array_equal(batch, kept)


def test_train_trains_with_exactly_what_the_run_recorded_and_refuses_other_data(
    tmp_path: Path,
) -> None:
    points, labels = random_points(400, 4)
    settings = {"epochs": 3, "batch_size": 40, "learning_rate": 0.05, "training_examples": 300}
    run = runs.new_run("recorded", root=tmp_path, **settings)
    network = softmax_network(run, 4)
    validation = (points[300:], labels[300:])

    with pytest.raises(ValueError, match="created for 300 training images, but 400 were given"):
        train(network, run, (points, labels), validation)
    model = train(network, run, (points[:300], labels[:300]), validation)

    assert json.loads((run.folder / runs.SETTINGS_FILE).read_text()) == settings
    # One validation per epoch, after ceil(300 / 40) = 8 steps.
    assert tensorboard_logs.read_scalars(run)["Accuracy/Validation"].steps.tolist() == [8, 16, 24]
    assert model.train_ops[0].optimizer._lr == 0.05


def test_training_prints_an_epoch_line_per_epoch_and_each_network_once_and_never_twice_per_run(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    points, labels = random_points(40, 3)
    for name in ("first", "second"):  # the same network trained twice, as experiment 4 does
        run = runs.new_run(name, root=tmp_path, epochs=2, batch_size=10, training_examples=40)
        model = train(
            softmax_network(run, 3, preprocessed=True), run, (points, labels), (points, labels)
        )
    printed = capsys.readouterr().out
    logged = sorted(run.folder.rglob("*"))

    # A learner re-running only the training cell: its logs must not read as one longer run.
    with pytest.raises(RuntimeError, match="'second' has been trained already.*Re-run the cell"):
        model.fit(points, labels, n_epoch=2, callbacks=TrainingPass(model, points, labels, run))

    assert sorted(run.folder.rglob("*")) == logged
    assert tensorboard_logs.read_scalars(run)["Accuracy/Validation"].steps.tolist() == [4, 8]
    epochs = r"^epoch (\d)/2: training accuracy \d\.\d{3}, validation accuracy \d\.\d{3} \(0 min"
    assert re.findall(epochs, printed, re.M) == ["1", "2", "1", "2"]
    assert printed.count("| layer | output shape |") == 1
    for chatter in ("Run id", "Log directory", "Training samples", "Calculating mean", "argument"):
        assert chatter not in printed


def test_layer_summary_gives_every_layer_its_own_row_shape_and_weights() -> None:
    # Pooling and dropout layers share one tflearn collection; each must still be its own row,
    # in the order built, with its own output shape ("same" padding keeps the size, each 2 x 2
    # pooling halves it).
    new_graph()
    net = input_data(shape=[None, 32, 32, 3])
    for filters in (32, 64, 64):
        net = max_pool_2d(conv_2d(net, filters, 3, activation="relu"), 2)
    for units in (512, 64):
        net = dropout(fully_connected(net, units, activation="relu"), 0.5)

    summary = layer_summary(net)

    assert summary.rows == (
        ("InputData", (None, 32, 32, 3), 0),
        ("Conv2D", (None, 32, 32, 32), 3 * 3 * 3 * 32 + 32),
        ("MaxPool2D", (None, 16, 16, 32), 0),
        ("Conv2D_1", (None, 16, 16, 64), 3 * 3 * 32 * 64 + 64),
        ("MaxPool2D_1", (None, 8, 8, 64), 0),
        ("Conv2D_2", (None, 8, 8, 64), 3 * 3 * 64 * 64 + 64),
        ("MaxPool2D_2", (None, 4, 4, 64), 0),
        ("FullyConnected", (None, 512), 4 * 4 * 64 * 512 + 512),
        ("Dropout", (None, 512), 0),
        ("FullyConnected_1", (None, 64), 512 * 64 + 64),
        ("Dropout_1", (None, 64), 0),
    )
    assert summary._repr_markdown_().endswith(
        "| Dropout_1 | (None, 64) | 0 |\n| **total** | | **613,952** |"
    )


@pytest.mark.parametrize(
    ("recorded", "trained_epochs", "reason"),
    [
        ({"epochs": 3, "profile": "cpu"}, 1, r"has not finished \(1 of 3 epochs"),
        ({"epochs": 1, "profile": "smoke"}, 1, "ran in the smoke profile, this one in cpu"),
        ({"epochs": 2, "profile": "cpu"}, 0, "has not been run yet"),
        ({"epochs": 1, "profile": "cpu", "seed": 1}, 1, "ran with seed 1, this one with seed 0"),
        ({"epochs": 1, "profile": "cpu"}, 1, None),  # finished, alike: compared
    ],
)
def test_only_a_finished_partner_run_alike_is_compared(
    recorded: dict, trained_epochs: int, reason: str | None, capsys: pytest.CaptureFixture
) -> None:
    partner = runs.new_run("pair/partner", **recorded)
    if trained_epochs:
        train_small_classifier(partner, trained_epochs)
    this = runs.new_run("pair/this", epochs=1, profile="cpu")

    compared = reports.with_finished_partner([this], "pair/partner", "partner.ipynb")

    if reason:
        assert compared == [this]
        assert re.search(
            f"Not compared with pair/partner: that run {reason}", capsys.readouterr().out
        )
    else:
        assert compared == [this, partner]
