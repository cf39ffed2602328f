"""The article's image augmentation (random mirror, random turn), for a whole batch at once.

tflearn's ``ImageAugmentation`` mirrors and turns one image at a time, the turn with scipy's cubic
spline, in a Python thread that competes with training for the CPU: on a 2-core machine that cost
about a fifth of the training speed. Here each method handles the whole batch in one call, drawing
the same way (each image mirrored with probability one half, and turned with probability one half
by an angle uniform in ``[-max_angle, max_angle]`` about its centre, black outside the frame); the
one difference is that turns are bilinear. As with tflearn's, only training batches are augmented.
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

    What ``scipy.ndimage.rotate(image, angle, reshape=False, order=1)`` does for one image, in
    OpenCV's C++ without holding Python's lock: TensorFlow's image-transform kernel took twice as
    long, and training with it was about 7% slower (the benchmark's pipeline 2, on 2 cores).
    """
    height, width = images.shape[1:3]
    centre = ((width - 1) / 2, (height - 1) / 2)
    turned = np.empty_like(images)
    for index, (image, angle) in enumerate(zip(images, angles_in_degrees, strict=True)):
        matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        # OpenCV's defaults are bilinear with black outside; it drops a single channel's axis.
        turned[index] = cv2.warpAffine(image, matrix, (width, height)).reshape(image.shape)
    return turned


class BatchImageAugmentation(ImageAugmentation):
    """tflearn's ``ImageAugmentation``, with random mirroring and turning done batch-wise.

    Its generator is seeded from numpy's when it is created, so a model built after
    ``new_graph(seed)`` is augmented the same way every time.
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
        batch[turned] = rotate_images(batch[turned], angles)
        return batch
