"""Layer 1: the images. Datasets loaded offline (`datasets`) from checked IDX files (`idx`),
batches as models take them (`batches`), and a user's own picture made MNIST-style
(`digit_input`).

The names most code needs are re-exported here: ``from jlml_core.data import load_split``.
"""

from jlml_core.data.batches import prepare_batch, to_float_batch, uses_channels_last
from jlml_core.data.datasets import ImageDataset, load_split, resolve_dataset_dir
from jlml_core.data.idx import DataError

__all__ = [
    "DataError",
    "ImageDataset",
    "load_split",
    "prepare_batch",
    "resolve_dataset_dir",
    "to_float_batch",
    "uses_channels_last",
]
