"""The article's image augmentation (random mirror, random turn), for a whole batch at once.

tflearn's ``ImageAugmentation`` mirrors and turns one image at a time, the turn with a cubic
spline from scipy, in a Python thread that competes with training for the CPU: on a 2-core
machine that costs about a fifth of the training speed. :class:`BatchImageAugmentation` is the
same class with the same methods, but each method handles the whole batch in one call: the
mirror is one numpy slice, and the turns are OpenCV's bilinear ones, about 20 microseconds an
image in C++ without holding Python's lock.

What a network sees is drawn the same way as tflearn's: each image is mirrored with probability
one half, and turned with probability one half by an angle drawn uniformly from
``[-max_angle, max_angle]``, about its centre, with black where the turned image leaves the
frame. The one difference is the interpolation of a turned image: bilinear, not cubic.

As with tflearn's class, the augmentation is applied to training batches only, never to
validation batches or to what ``predict`` is given. Only the two methods the article uses are
batched; every other method is tflearn's own.
"""

from __future__ import annotations

from dl101 import tflearn_compat  # noqa: F401  (must precede tflearn)

import numpy as np

try:
    import cv2
except ImportError as error:
    raise ImportError(
        "The notebooks' augmentation turns images with OpenCV, which is not installed here. "
        "Install the project's requirements (they pin opencv-python-headless): "
        "pip install -r requirements.txt -c constraints.txt"
    ) from error

from tflearn.data_augmentation import ImageAugmentation


def rotate_images(images: np.ndarray, angles_in_degrees: np.ndarray) -> np.ndarray:
    """``images`` (N, height, width, channels) each turned by its angle, counter-clockwise.

    Bilinear interpolation about the image centre, zeros outside the frame: what
    ``scipy.ndimage.rotate(image, angle, reshape=False, order=1)`` does for one image. Why
    OpenCV: TensorFlow's image-transform kernel, in a session of its own in tflearn's feeding
    thread, took more than twice as long for a batch, and training with it was about 7% slower
    (the benchmark's pipeline 2, run alternately with each, on a 2-core machine).
    """
    height, width = images.shape[1:3]
    centre = ((width - 1) / 2, (height - 1) / 2)
    turned = np.empty_like(images)
    for index, (image, angle) in enumerate(zip(images, angles_in_degrees, strict=True)):
        matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        turned[index] = cv2.warpAffine(
            image,
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        ).reshape(image.shape)  # OpenCV drops a single channel's axis
    return turned


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
