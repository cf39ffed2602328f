"""The article's image augmentation (random mirror, random turn), for a whole batch at once.

tflearn's ``ImageAugmentation`` mirrors and turns one image at a time, the turn with a cubic
spline from scipy, in a Python thread that competes with training for the CPU: on a 2-core
machine that costs about a fifth of the training speed. :class:`BatchImageAugmentation` is the
same class with the same methods, but each method handles the whole batch at once: the mirror
is one numpy slice, and the turns are one call of TensorFlow's image-transform kernel, which
runs in C++ on every core without holding Python's lock.

What a network sees is drawn the same way as tflearn's: each image is mirrored with probability
one half, and turned with probability one half by an angle drawn uniformly from
``[-max_angle, max_angle]``, about its centre, with black where the turned image leaves the
frame. The one difference is the interpolation of a turned image: bilinear, not cubic.

As with tflearn's class, the augmentation is applied to training batches only, never to
validation batches or to what ``predict`` is given. Only the two methods the article uses are
batched; every other method is tflearn's own.
"""

from __future__ import annotations

import threading

from dl101 import tflearn_compat  # noqa: F401  (must precede tflearn)

import numpy as np
import tensorflow as tf

from tflearn.data_augmentation import ImageAugmentation


class _ImageTurner:
    """A small TensorFlow graph of its own that turns a batch of images by given angles."""

    def __init__(self) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.images = tf.compat.v1.placeholder(tf.float32, [None, None, None, None])
            self.transforms = tf.compat.v1.placeholder(tf.float32, [None, 8])
            self.output_shape = tf.compat.v1.placeholder(tf.int32, [2])
            self.turned = tf.raw_ops.ImageProjectiveTransformV3(
                images=self.images,
                transforms=self.transforms,
                output_shape=self.output_shape,
                fill_value=0.0,
                interpolation="BILINEAR",
                fill_mode="CONSTANT",
            )
        # One thread: the work is small, and training needs every core.
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=1, inter_op_parallelism_threads=1
        )
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)

    def __call__(self, images: np.ndarray, angles_in_degrees: np.ndarray) -> np.ndarray:
        height, width = images.shape[1:3]
        radians = np.deg2rad(np.asarray(angles_in_degrees, dtype=np.float64))
        cos, sin = np.cos(radians), np.sin(radians)
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        # For each output pixel (x, y), the input pixel it is read from: the output turned back
        # about the centre. The kernel reads transforms as [a0, a1, a2, b0, b1, b2, c0, c1].
        transforms = np.zeros((len(radians), 8), dtype=np.float32)
        transforms[:, 0], transforms[:, 1] = cos, -sin
        transforms[:, 2] = centre_x - cos * centre_x + sin * centre_y
        transforms[:, 3], transforms[:, 4] = sin, cos
        transforms[:, 5] = centre_y - sin * centre_x - cos * centre_y
        turned = self.session.run(
            self.turned,
            {
                self.images: images.astype(np.float32, copy=False),
                self.transforms: transforms,
                self.output_shape: [height, width],
            },
        )
        return turned.astype(images.dtype, copy=False)


_turner: _ImageTurner | None = None
_turner_lock = threading.Lock()


def rotate_images(images: np.ndarray, angles_in_degrees: np.ndarray) -> np.ndarray:
    """``images`` (N, height, width, channels) each turned by its angle, counter-clockwise.

    Bilinear interpolation about the image centre, zeros outside the frame: what
    ``scipy.ndimage.rotate(image, angle, reshape=False, order=1)`` does for one image.
    """
    global _turner
    with _turner_lock:
        if _turner is None:
            _turner = _ImageTurner()
    return _turner(images, angles_in_degrees)


class BatchImageAugmentation(ImageAugmentation):
    """tflearn's ``ImageAugmentation``, with random mirroring and turning done batch-wise.

    Its random numbers are drawn from numpy's generator when it is created, so a model built
    after ``new_graph(seed)`` is augmented the same way every time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.random = np.random.default_rng(np.random.randint(2**31))

    def _random_flip_leftright(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch)
        mirrored = self.random.random(len(batch)) < 0.5
        batch[mirrored] = batch[mirrored][:, :, ::-1]
        return batch

    def _random_rotation(self, batch: np.ndarray, max_angle: float) -> np.ndarray:
        batch = np.asarray(batch)
        turned = self.random.random(len(batch)) < 0.5
        angles = self.random.uniform(-max_angle, max_angle, size=int(turned.sum()))
        if len(angles):
            batch[turned] = rotate_images(batch[turned], angles)
        return batch
