"""The article's real-time preprocessing and augmentation for CIFAR-10, in tflearn.

Every CIFAR-10 notebook feeds its network the same way, so the recipe lives here once. Each
model needs fresh objects (they hold state of the graph they were built in), so call these
functions inside the cell that builds the model, after ``new_graph()``.
"""

from __future__ import annotations

from dl101 import tflearn_compat  # noqa: F401  (must precede tflearn)

from tflearn.data_augmentation import ImageAugmentation
from tflearn.data_preprocessing import ImagePreprocessing


def article_preprocessing() -> ImagePreprocessing:
    """Centre every pixel on the training set's mean and scale it by its standard deviation."""
    preprocessing = ImagePreprocessing()
    preprocessing.add_featurewise_zero_center()
    preprocessing.add_featurewise_stdnorm()
    return preprocessing


def article_augmentation() -> ImageAugmentation:
    """Show each training image randomly mirrored and turned by up to 25 degrees."""
    augmentation = ImageAugmentation()
    augmentation.add_random_flip_leftright()
    augmentation.add_random_rotation(max_angle=25.0)
    return augmentation
