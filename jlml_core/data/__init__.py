"""Layer 1: the images. Offline IDX loading with checksums, batches as models take them, and a
user's own picture made MNIST-style (`digit_input`).

The names most code needs are re-exported here: ``from jlml_core.data import load_split``.
"""

from jlml_core.data.batches import prepare_batch, to_float_batch, uses_channels_last
from jlml_core.data.datasets import DataError, ImageDataset, load_split, resolve_dataset_dir

__all__ = [
    "DataError",
    "ImageDataset",
    "load_split",
    "prepare_batch",
    "resolve_dataset_dir",
    "to_float_batch",
    "uses_channels_last",
]
