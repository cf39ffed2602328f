"""The article's augmentation, a whole batch at once: tflearn's ``ImageAugmentation`` turns one
image at a time with scipy, which cost a 2-core machine about a fifth of the training speed. The
draws are tflearn's (each image mirrored with probability 1/2, turned with probability 1/2 by an
angle uniform in ``[-max_angle, max_angle]``, black outside the frame); only the turns are bilinear.
"""

from __future__ import annotations

from dl101 import tflearn_compat  # noqa: F401  (must precede tflearn)

import numpy as np

try:
    import cv2
except ImportError as error:
    raise ImportError(
        "The notebooks' augmentation turns images with OpenCV, which is not installed here: "
        "install the project's requirements, pip install -r requirements.txt -c constraints.txt"
    ) from error

from tflearn.data_augmentation import ImageAugmentation


def rotate_images(images: np.ndarray, angles_in_degrees: np.ndarray) -> np.ndarray:
    """``images`` (N, height, width, channels) each turned counter-clockwise about its centre like
    ``scipy.ndimage.rotate(image, angle, reshape=False, order=1)``, in OpenCV's C++ without holding
    Python's lock (TensorFlow's image-transform kernel made training about 7% slower)."""
    height, width = images.shape[1:3]
    centre = ((width - 1) / 2, (height - 1) / 2)
    turned = np.empty_like(images)
    for index, (image, angle) in enumerate(zip(images, angles_in_degrees, strict=True)):
        matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        # OpenCV's defaults are bilinear with black outside; it drops a single channel's axis.
        turned[index] = cv2.warpAffine(image, matrix, (width, height)).reshape(image.shape)
    return turned


class BatchImageAugmentation(ImageAugmentation):
    """tflearn's ``ImageAugmentation``, mirroring and turning batch-wise; like it, used on training
    batches only. Seeded from numpy, so that ``new_graph(seed)`` repeats it."""

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
