"""tflearn 0.5.0 on today's TensorFlow, and reading its TensorBoard logs back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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
import tflearn.data_flow
from tflearn.layers.conv import conv_2d, max_pool_2d
from tflearn.layers.core import dropout, fully_connected, input_data
from tflearn.layers.estimator import regression

X_OR = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
Y_OR = [[0.0], [1.0], [1.0], [1.0]]


def train_or_perceptron(run: runs.Run) -> np.ndarray:
    """The article's first program: one sigmoid neuron learning OR."""
    new_graph()
    net = input_data(shape=[None, 2])
    net = fully_connected(net, 1, activation="sigmoid")
    net = regression(net, optimizer="sgd", learning_rate=2, loss="mean_square")
    model = tflearn.DNN(net, tensorboard_dir=run.tensorboard_dir)
    model.fit(X_OR, Y_OR, n_epoch=2000, snapshot_epoch=False, run_id=run.run_id)
    return np.asarray(model.predict(X_OR)).ravel()


def test_tflearn_imports_without_noise() -> None:
    script = "import dl101.tflearn_compat, tflearn, dl101.tflearn_compat; print('imported')"

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout == "imported\n"
    assert result.stderr == ""


def test_or_perceptron_trains_twice_in_one_process(tmp_path: Path) -> None:
    for attempt in ("first", "second"):
        predictions = train_or_perceptron(runs.new_run(f"or_{attempt}", root=tmp_path))

        assert predictions[0] < 0.5, attempt
        assert (predictions[1:] > 0.5).all(), attempt
        assert list((tmp_path / f"or_{attempt}").glob("events.out.tfevents.*"))


def test_predict_leaves_the_callers_array_untouched(tmp_path: Path) -> None:
    model, points = train_small_classifier(runs.new_run("predict", root=tmp_path), epochs=2)
    test_points = points[300:].copy()

    first = model.predict(test_points)
    second = model.predict(test_points)

    np.testing.assert_array_equal(test_points, points[300:])
    np.testing.assert_allclose(first, second)


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, runs.Run]:
    root = tmp_path_factory.mktemp("curves")
    trained = {}
    for name, epochs in (("short", 2), ("long", 4)):
        run = runs.new_run(f"curves/{name}", root=root, epochs=epochs)
        train_small_classifier(run, epochs)
        trained[name] = run
    return trained


def test_curves_read_back_one_validation_point_per_epoch(trained_runs: dict[str, runs.Run]) -> None:
    scalars = tensorboard_logs.read_scalars(trained_runs["long"])

    validation = scalars[tensorboard_logs.TFLEARN.validation_accuracy]
    # 300 training points in batches of 50: six steps per epoch, validated after each.
    assert validation.steps.tolist() == [6, 12, 18, 24]
    assert ((validation.values >= 0.0) & (validation.values <= 1.0)).all()
    assert scalars[tensorboard_logs.TFLEARN.train_loss].steps[-1] == 24


def test_training_accuracy_is_measured_like_validation_after_every_epoch(
    tmp_path: Path,
) -> None:
    run = runs.new_run("measured", root=tmp_path, epochs=3)
    model, points = train_small_classifier(run, 3)
    scalars = tensorboard_logs.read_scalars(run)

    training = scalars[tensorboard_logs.TFLEARN.train_accuracy]
    validation = scalars[tensorboard_logs.TFLEARN.validation_accuracy]
    assert training.steps.tolist() == validation.steps.tolist()
    # The last point is the trained model's accuracy on the training points, dropout and
    # augmentation off: what predicting them gives.
    labels = (points[:300].sum(axis=1) > 20).astype(int)
    predicted = np.argmax(model.predict(points[:300]), axis=1)
    assert training.values[-1] == pytest.approx(np.mean(predicted == labels), abs=1e-6)
    assert reports.summarize(run).final_train_accuracy == pytest.approx(training.values[-1])


# TensorBoard's plugins import the bleach it vendors, which warns about its own html5lib.
@pytest.mark.filterwarnings("ignore:html5lib's sanitizer is deprecated:DeprecationWarning")
def test_tensorboard_draws_training_and_validation_in_one_chart_per_quantity(
    trained_runs: dict[str, runs.Run],
) -> None:
    """What TensorBoard's Custom Scalars tab shows, asked of its own plugins as its page asks."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.custom_scalar.custom_scalars_plugin import CustomScalarsPlugin
    from tensorboard.plugins.scalar.scalars_plugin import ScalarsPlugin

    logdir = str(trained_runs["long"].folder.parent)
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    plugins: dict[str, base_plugin.TBPlugin] = {}
    tensorboard = base_plugin.TBContext(
        logdir=logdir,
        data_provider=data_provider.MultiplexerDataProvider(multiplexer, logdir),
        plugin_name_to_instance=plugins,
    )
    plugins["scalars"] = ScalarsPlugin(tensorboard)
    custom_scalars = CustomScalarsPlugin(tensorboard)
    request = context.RequestContext()

    # Every run wrote the layout; TensorBoard shows it once: one chart for each quantity.
    (category,) = json.loads(custom_scalars.layout_impl(request, ""))["category"]
    assert category["title"] == LAYOUT_CATEGORY
    charts = {chart["title"]: chart["multiline"]["tag"] for chart in category["chart"]}
    assert list(charts) == ["Accuracy", "Loss"]
    for quantity, regexes in charts.items():
        for name in trained_runs:
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
    scalars = tensorboard_logs.read_scalars(trained_runs["long"])
    assert {tag for tag in scalars if tag.startswith("training_pass/")} == {
        "training_pass/Accuracy/Training",
        "training_pass/Loss/Training",
    }
    assert {"Accuracy", "Loss", "Accuracy/Validation", "Loss/Validation"} <= set(scalars)
    assert tensorboard_logs.metrics_of(scalars) == tensorboard_logs.TFLEARN


def test_results_table_matches_the_logged_curves(trained_runs: dict[str, runs.Run]) -> None:
    table = reports.results_table(list(trained_runs.values()))

    for name, run in trained_runs.items():
        scalars = tensorboard_logs.read_scalars(run)
        row = table[name]
        validation = scalars["Accuracy/Validation"].values
        assert row.final_validation_accuracy == pytest.approx(validation[-1])
        assert row.best_validation_accuracy == pytest.approx(validation.max())
        training = scalars[tensorboard_logs.TFLEARN.train_accuracy].values
        assert row.gap == pytest.approx(training[-1] - validation[-1])
        assert row.wall_time_seconds > 0
    markdown = table.to_markdown()
    assert len(markdown.splitlines()) == 2 + len(trained_runs)
    assert "| short | " in markdown and "| long | " in markdown


def test_plot_shows_every_run_by_epoch_and_by_time(trained_runs: dict[str, runs.Run]) -> None:
    for x_axis, label in (("epoch", "epoch"), ("time", "seconds since the run started")):
        figure = reports.plot_runs(list(trained_runs.values()), x_axis=x_axis)

        accuracy_axes, loss_axes = figure.axes
        assert accuracy_axes.get_xlabel() == label
        (legend_box,) = figure.legends  # one legend, below both panels
        legend = [text.get_text() for text in legend_box.get_texts()]
        assert legend == [
            "short (training)",
            "short (validation)",
            "long (training)",
            "long (validation)",
        ]
        long_validation = accuracy_axes.get_lines()[3]
        if x_axis == "epoch":
            assert long_validation.get_xdata().tolist() == [1.0, 2.0, 3.0, 4.0]


def test_reading_a_run_that_never_trained_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="this run has not been trained yet"):
        tensorboard_logs.read_scalars(tmp_path / "missing")


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
    net = input_data(shape=[None, 200])
    layer = fully_connected(net, 300, weights_init=initializer)
    model = tflearn.DNN(regression(layer), tensorboard_verbose=0)

    weights = model.get_weights(layer.W)

    assert weights.shape == (200, 300)
    assert weights.std() == pytest.approx(expected_std, rel=0.05)


def test_a_seeded_run_repeats_exactly_and_another_seed_does_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    points = rng.random((200, 2)).astype(np.float32)
    labels = (points.sum(axis=1, keepdims=True) > 1).astype(np.float32)

    def predictions(seed: int) -> np.ndarray:
        new_graph(seed)
        hidden = fully_connected(input_data(shape=[None, 2]), 3, activation="tanh")
        net = fully_connected(hidden, 1, activation="sigmoid")
        net = regression(net, optimizer="sgd", learning_rate=1, loss="mean_square")
        model = tflearn.DNN(net, tensorboard_dir=str(tmp_path))
        model.fit(points, labels, n_epoch=5, batch_size=16, run_id=f"seed_{seed}")
        return np.asarray(model.predict(points[:10]))

    np.testing.assert_array_equal(predictions(7), predictions(7))
    assert not np.array_equal(predictions(7), predictions(8))


def test_batches_do_not_change_when_the_next_epoch_reshuffles() -> None:
    data = {"inputs": np.arange(10), "labels": np.arange(10)}
    flow = tflearn.data_flow.FeedDictFlow(
        data, tf.compat.v1.train.Coordinator(), batch_size=5, shuffle=True, continuous=True
    )

    batch = flow.next_batch_ids()
    kept = batch.copy()
    flow.reset_batches()  # what the feeding thread does at the end of every epoch

    np.testing.assert_array_equal(batch, kept)


def test_train_trains_with_exactly_what_the_run_recorded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(5.0, 2.0, size=(400, 4)).astype(np.float32)
    labels = np.eye(2)[(points.sum(axis=1) > 20).astype(int)]
    run = runs.new_run(
        "recorded",
        root=tmp_path,
        epochs=3,
        batch_size=40,
        learning_rate=0.05,
        training_examples=300,
    )
    new_graph(run.seed)
    net = fully_connected(input_data(shape=[None, 4]), 2, activation="softmax")
    net = regression(net, learning_rate=run.learning_rate, loss="categorical_crossentropy")

    model = train(net, run, (points[:300], labels[:300]), (points[300:], labels[300:]))

    recorded = json.loads((run.folder / runs.SETTINGS_FILE).read_text())
    validation = tensorboard_logs.read_scalars(run)["Accuracy/Validation"]
    assert len(validation.steps) == recorded["epochs"]
    # One validation per epoch, after ceil(300 / 40) = 8 steps.
    assert validation.steps[0] == -(-recorded["training_examples"] // recorded["batch_size"])
    assert model.train_ops[0].optimizer._lr == recorded["learning_rate"]


def test_training_a_trained_run_again_is_refused_and_leaves_its_logs_as_they_were(
    tmp_path: Path,
) -> None:
    """A learner re-running only the training cell: its logs must not read as one longer run."""
    points = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    labels = np.eye(2)[(points.sum(axis=1) > 0).astype(int)]
    run = runs.new_run("twice", root=tmp_path, epochs=2, batch_size=10, training_examples=40)
    new_graph(run.seed)
    net = regression(fully_connected(input_data(shape=[None, 2]), 2, activation="softmax"))
    model = train(net, run, (points, labels), (points, labels))
    logged = sorted(path.relative_to(run.folder) for path in run.folder.rglob("*"))

    with pytest.raises(RuntimeError, match="'twice' has been trained already.*Re-run the cell"):
        model.fit(points, labels, n_epoch=2, run_id=run.run_id,
                  callbacks=TrainingPass(model, points, labels, run))  # fmt: skip

    assert sorted(path.relative_to(run.folder) for path in run.folder.rglob("*")) == logged
    assert list(tensorboard_logs.read_scalars(run)["Accuracy/Validation"].steps) == [4, 8]


def test_training_prints_an_epoch_line_of_measured_accuracies_and_each_network_once(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    points = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    labels = np.eye(2)[(points.sum(axis=1) > 0).astype(int)]
    for name in ("first", "second"):  # the same network trained twice, as experiment 4 does
        run = runs.new_run(name, root=tmp_path, epochs=2, batch_size=10, training_examples=40)
        new_graph(run.seed)
        net = input_data(shape=[None, 3], data_preprocessing=article_preprocessing())
        net = regression(fully_connected(net, 2, activation="softmax"))
        train(net, run, (points, labels), (points, labels))

    printed = capsys.readouterr().out
    epochs = r"^epoch (\d)/2: training accuracy \d\.\d{3}, validation accuracy \d\.\d{3} \(0 min"
    assert re.findall(epochs, printed, re.M) == ["1", "2", "1", "2"]
    assert printed.count("| layer | output shape |") == 1
    for chatter in ("Run id", "Log directory", "Training samples", "Calculating mean", "argument"):
        assert chatter not in printed


def test_train_refuses_data_of_another_size_than_the_run_recorded(tmp_path: Path) -> None:
    run = runs.new_run("sized", root=tmp_path, epochs=1, batch_size=10, training_examples=50)
    new_graph(run.seed)
    net = regression(fully_connected(input_data(shape=[None, 2]), 1))
    points = np.zeros((40, 2), dtype=np.float32)

    with pytest.raises(ValueError, match="created for 50 training images, but 40 were given"):
        train(net, run, (points, points[:, :1]), (points, points[:, :1]))


def test_layer_summary_gives_every_layer_its_own_row_shape_and_weights() -> None:
    # Pooling and dropout layers share one tflearn collection; each must still be its own row,
    # in the order built, with its own output shape (worked out by hand: "same" padding keeps
    # the size, each 2 x 2 pooling halves it).
    new_graph()
    net = input_data(shape=[None, 32, 32, 3])
    net = conv_2d(net, 32, 3, activation="relu")
    net = max_pool_2d(net, 2)
    net = conv_2d(net, 64, 3, activation="relu")
    net = max_pool_2d(net, 2)
    net = conv_2d(net, 64, 3, activation="relu")
    net = max_pool_2d(net, 2)
    net = fully_connected(net, 512, activation="relu")
    net = dropout(net, 0.5)
    net = fully_connected(net, 64, activation="relu")
    net = dropout(net, 0.5)

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
    ],
)
def test_an_unfinished_or_other_partner_run_is_not_compared(
    recorded: dict, trained_epochs: int, reason: str, capsys: pytest.CaptureFixture
) -> None:
    partner = runs.new_run("pair/partner", **recorded)
    if trained_epochs:
        train_small_classifier(partner, trained_epochs)
    this = runs.new_run("pair/this", epochs=1, profile="cpu")

    compared = reports.with_finished_partner([this], "pair/partner", "partner.ipynb")

    assert compared == [this]
    assert re.search(f"Not compared with pair/partner: that run {reason}", capsys.readouterr().out)


def test_a_finished_partner_of_the_same_profile_is_compared() -> None:
    partner = runs.new_run("pair/partner", epochs=1, profile="cpu")
    train_small_classifier(partner, 1)
    this = runs.new_run("pair/this", epochs=1, profile="cpu")

    assert reports.with_finished_partner([this], "pair/partner", "partner.ipynb") == [this, partner]
