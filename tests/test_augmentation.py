"""The batched augmentation mirrors and turns as tflearn's does, and only while training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

from dl101 import runs
from dl101.augmentation import BatchImageAugmentation, rotate_images
from dl101.tflearn_training import article_augmentation, new_graph, train

import numpy as np
import pytest
import scipy.ndimage

from tflearn import fully_connected, input_data, regression


# One channel: MNIST-like images, which OpenCV returns without their channel axis.
@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("angle", [-25.0, 3.0, 90.0])
def test_a_turn_is_scipys_bilinear_counter_clockwise_rotation(angle: float, channels: int) -> None:
    # A mirrored slice, as the batch is after mirroring: a view with negative strides.
    images = np.random.default_rng(0).random((3, 32, 32, channels), dtype=np.float32)[:, :, ::-1]

    turned = rotate_images(images, np.full(3, angle))

    assert turned.shape == images.shape
    expected = np.stack([scipy.ndimage.rotate(i, angle, reshape=False, order=1) for i in images])
    # Away from the border, where the two treat the outside of the frame alike.
    np.testing.assert_allclose(turned[:, 6:-6, 6:-6], expected[:, 6:-6, 6:-6], atol=1e-5)


def test_the_notebooks_augmentation_mirrors_half_and_turns_half_within_25_degrees() -> None:
    # An image whose left and right differ and that changes under any turn: a lit L-shape.
    original = np.zeros((32, 32, 3), dtype=np.float32)
    original[6:26, 8:12] = [1.0, 0.5, 0.0]
    original[22:26, 8:24] = [0.0, 0.5, 1.0]
    mirrored = original[:, ::-1]
    np.random.seed(0)

    out = article_augmentation().apply(np.repeat(original[None], 200, axis=0))

    untouched = np.array([np.array_equal(image, original) for image in out])
    only_mirrored = np.array([np.array_equal(image, mirrored) for image in out])
    turned = out[~(untouched | only_mirrored)]
    assert 0.15 < untouched.mean() < 0.35 and 0.15 < only_mirrored.mean() < 0.35
    assert 0.35 < len(turned) / len(out) < 0.65
    # Each turned image is the original or its mirror image, turned by some angle in range.
    angles = np.arange(-30.0, 30.5, 0.5)
    candidates = np.concatenate(
        [
            rotate_images(np.repeat(base[None], len(angles), 0), angles)
            for base in (original, mirrored)
        ]
    )
    for image in turned[:25]:
        errors = np.abs(candidates - image)[:, 6:-6, 6:-6].mean(axis=(1, 2, 3))
        best = int(np.argmin(errors))
        assert abs(np.concatenate([angles, angles])[best]) <= 25.5
        assert errors[best] < 0.02


def test_augmentation_runs_on_training_batches_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.random((130, 8, 8, 3), dtype=np.float32)
    labels = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 130)]
    run = runs.new_run("augmented", root=tmp_path, epochs=2, batch_size=50, training_examples=100)
    new_graph(run.seed)
    net = input_data(shape=[None, 8, 8, 3], data_augmentation=article_augmentation())
    net = regression(fully_connected(net, 2, activation="softmax"))
    spy = mock.patch.object(
        BatchImageAugmentation, "apply", autospec=True, side_effect=BatchImageAugmentation.apply
    )

    with spy as apply:
        model = train(net, run, (images[:100], labels[:100]), (images[100:], labels[100:]))
        model.predict(images[100:])

    # Training batches hold 50 images (tflearn's feeding thread prepares a few ahead); the 30
    # validation images, checked after every epoch, and the 30 predicted are never augmented.
    seen = [len(call.args[1]) for call in apply.call_args_list]
    assert len(seen) >= 4
    assert set(seen) == {50}


def test_without_opencv_the_error_says_what_to_install() -> None:
    # A learner's own environment, set up from an older requirements.txt.
    blocked = "import sys; sys.modules['cv2'] = None; import dl101.augmentation"
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)

    assert "turns images with OpenCV" in result.stderr
    assert "pip install -r requirements.txt -c constraints.txt" in result.stderr
