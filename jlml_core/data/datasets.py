"""Datasets: the registered ones, a user's folder, one split loaded as uint8 tensors (cached).

The lab works offline. MNIST and Fashion-MNIST ship with the repository under ``data/`` as the
original gzipped IDX files (LeCun et al., "Gradient-based learning applied to document
recognition", 1998; Xiao et al., "Fashion-MNIST", arXiv:1708.07747) together with a
``SHA256SUMS`` file. A user folder holding files with the same names works the same way. The
files themselves are read and checked by :mod:`jlml_core.data.idx`.

Images stay uint8 in memory (a quarter of their float32 size: 47 MB for MNIST's training set)
and are converted one batch at a time by :func:`jlml_core.data.batches.to_float_batch`.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from jlml_core.config import PROJECT_DIR
from jlml_core.data.idx import (
    CHECKSUM_FILE,
    EXPECTED_FILES,
    SPLIT_PREFIX,
    DataError,
    clear_checksum_cache,
    find_split_file,
    read_idx,
    sha256_file,
    verify_checksums,
)

DATASETS: dict[str, str] = {"mnist": "mnist", "fashion-mnist": "fashion-mnist"}
"""Registered dataset name -> folder name under :func:`data_root`."""

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """One split of an image dataset, held as uint8 tensors.

    Datasets returned by :func:`load_split` are cached and shared, so never modify the tensors
    in place; :meth:`subset` and :func:`to_float_batch` return new tensors.

    Attributes:
        images: ``(N, H, W)`` uint8 pixels in 0..255.
        labels: ``(N,)`` int64 class indices into ``class_names``.
        name: ``"mnist"``, ``"fashion-mnist"`` or the folder path of a user dataset.
        split: ``"train"`` or ``"test"``.
        class_names: Human-readable name of each class index.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.dtype != torch.uint8:
            raise ValueError(
                f"images must be a (N, H, W) uint8 tensor, got {tuple(self.images.shape)} "
                f"{self.images.dtype}"
            )
        if self.labels.shape != (len(self.images),) or self.labels.dtype != torch.int64:
            raise ValueError(
                f"labels must be a ({len(self.images)},) int64 tensor, got "
                f"{tuple(self.labels.shape)} {self.labels.dtype}"
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of one image as the models see it: ``(1, H, W)``."""
        _, height, width = self.images.shape
        return (1, height, width)

    def subset(self, n: int | None, seed: int = 0) -> ImageDataset:
        """Returns the first ``n`` examples (all of them if ``n`` is None or too large).

        Taking a prefix rather than a random sample keeps subsets identical across runs and
        machines, and a smaller subset is always part of a larger one. The MNIST files are
        already shuffled, so a prefix is close to class-balanced.

        Args:
            n: Number of examples to keep, or None for all.
            seed: Accepted for API stability; unused because the prefix is deterministic.

        Returns:
            A dataset sharing memory with this one (slicing makes views, not copies).

        Raises:
            ValueError: If ``n`` is smaller than 1.
        """
        del seed  # The prefix needs no randomness; see the docstring.
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise ValueError(f"subset size must be at least 1 (or None for all), got {n}")
        return ImageDataset(
            images=self.images[:n],
            labels=self.labels[:n],
            name=self.name,
            split=self.split,
            class_names=self.class_names,
        )


def data_root() -> Path:
    """Returns the folder holding one sub-folder per registered dataset.

    ``$JLML_DATA_DIR`` wins when set, so tests and shared machines can point elsewhere;
    otherwise it is the ``data/`` folder of this repository.
    """
    override = os.environ.get("JLML_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return PROJECT_DIR / "data"


def resolve_dataset_dir(dataset: str) -> Path:
    """Finds the folder of a dataset.

    Args:
        dataset: A registered name (see :data:`DATASETS`) or a path to a user folder.

    Returns:
        The dataset folder (it exists; its files are checked by :func:`load_split`).

    Raises:
        DataError: If the folder does not exist.
    """
    if dataset in DATASETS:
        folder = data_root() / DATASETS[dataset]
        if not folder.is_dir():
            raise DataError(
                f"The {dataset!r} dataset folder {folder} does not exist. It should contain "
                f"{EXPECTED_FILES}. Copy those files there (a fresh clone of the "
                f"repository includes them), or, when online, run "
                f"`python -m jlml_core download {dataset}` to fetch them."
            )
        return folder
    folder = Path(dataset).expanduser()
    if not folder.is_dir():
        known = ", ".join(sorted(DATASETS))
        raise DataError(
            f"Unknown dataset {dataset!r}: it is not a registered name ({known}) and there is "
            f"no folder at {folder.resolve()}. A dataset folder should contain "
            f"{EXPECTED_FILES}."
        )
    return folder


def _registered_name(folder: Path) -> str | None:
    """The registered dataset kept in a folder of this name, i.e. one that can be downloaded."""
    return next((name for name, sub in DATASETS.items() if sub == folder.name), None)


def _file_stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _load_split_cached(
    name: str,
    split: str,
    images_path: Path,
    labels_path: Path,
    stamps: tuple[tuple[int, int], ...],
) -> ImageDataset:
    # `stamps` is only part of the cache key: a replaced file gets a fresh load.
    del stamps
    verify_checksums(images_path.parent, _registered_name(images_path.parent))
    images = read_idx(images_path)  # (N, H, W)
    labels = read_idx(labels_path)  # (N,)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{images_path} should hold uint8 images of shape (N, H, W) but holds "
            f"{images.dtype} data of shape {images.shape}."
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{labels_path} should hold integer labels of shape (N,) but holds "
            f"{labels.dtype} data of shape {labels.shape}."
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} "
            f"labels; they must come from the same release of the dataset."
        )
    if len(images) == 0:
        raise DataError(f"{images_path} contains no images.")
    low, high = int(labels.min()), int(labels.max())
    class_names = CLASS_NAMES.get(name) or tuple(str(i) for i in range(max(high, 0) + 1))
    if low < 0 or high >= len(class_names):
        raise DataError(
            f"{labels_path} has labels from {low} to {high}, but {name!r} has classes "
            f"0..{len(class_names) - 1}. The labels file does not belong to this dataset."
        )
    return ImageDataset(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        name=name,
        split=split,
        class_names=class_names,
    )


def load_split(dataset: str = "mnist", split: Literal["train", "test"] = "test") -> ImageDataset:
    """Loads one split of a registered dataset or of a user folder.

    Results are cached per dataset folder, split and file size/mtime, so calling this on
    every Streamlit rerun is cheap; clear with ``load_split.cache_clear()``.

    Args:
        dataset: A registered name (see :data:`DATASETS`) or a path to a folder with
            ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` files.
        split: ``"train"`` or ``"test"`` (the ``t10k`` files).

    Returns:
        The split as a shared, cached :class:`ImageDataset` (do not modify its tensors).

    Raises:
        DataError: If the folder or files are missing, corrupt, or inconsistent.
    """
    if split not in SPLIT_PREFIX:
        raise DataError(f"split must be 'train' or 'test', got {split!r}.")
    folder = resolve_dataset_dir(dataset).resolve()
    name = dataset if dataset in DATASETS else str(folder)
    images_path = find_split_file(folder, split, "images")
    labels_path = find_split_file(folder, split, "labels")
    stamps = (_file_stamp(images_path), _file_stamp(labels_path))
    return _load_split_cached(name, split, images_path, labels_path, stamps)


def _clear_caches() -> None:
    _load_split_cached.cache_clear()
    clear_checksum_cache()


load_split.cache_clear = _clear_caches  # type: ignore[attr-defined]


def download_with_torchvision(dataset: str, root: Path | None = None) -> Path:
    """Downloads a registered dataset with torchvision (needs network; never called implicitly).

    torchvision fetches into a temporary folder; the original gzipped IDX files are then copied
    into ``root/<folder>`` next to a fresh ``SHA256SUMS``, the layout :func:`load_split` reads.

    Args:
        dataset: A registered name, e.g. ``"mnist"`` or ``"fashion-mnist"``.
        root: Data root to write into; defaults to :func:`data_root`.

    Returns:
        The folder the files were written to.

    Raises:
        DataError: If the name is unknown, torchvision is missing, or the download fails.
    """
    if dataset not in DATASETS:
        raise DataError(
            f"Cannot download {dataset!r}: only {', '.join(sorted(DATASETS))} can be downloaded."
        )
    try:
        import torchvision.datasets  # Imported here: slow to import and only needed online.
    except ImportError as error:
        raise DataError("Downloading needs torchvision: `pip install torchvision`.") from error
    dataset_class = {
        "mnist": torchvision.datasets.MNIST,
        "fashion-mnist": torchvision.datasets.FashionMNIST,
    }[dataset]
    target = Path(root if root is not None else data_root()) / DATASETS[dataset]
    with tempfile.TemporaryDirectory(prefix="jlml-download-") as tmp:
        try:
            # One instance downloads every split's files (torchvision fetches all resources).
            raw_folder = Path(dataset_class(tmp, train=True, download=True).raw_folder)
        except (OSError, RuntimeError) as error:
            raise DataError(
                f"Could not download {dataset!r} ({error}). Is there a network connection? "
                f"Offline, copy the four IDX files into {target} instead."
            ) from error
        target.mkdir(parents=True, exist_ok=True)
        lines = []
        for split in SPLIT_PREFIX:
            for kind in ("images", "labels"):
                file_name = f"{SPLIT_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}"
                file_name += "-ubyte.gz"
                source = raw_folder / file_name
                read_idx(source)  # Fail before replacing good files with bad ones.
                # Copy then rename so a read-only or half-written old file never remains.
                partial = target / f".{file_name}.partial"
                shutil.copyfile(source, partial)
                os.replace(partial, target / file_name)
                lines.append(f"{sha256_file(target / file_name)}  {file_name}\n")
        (target / CHECKSUM_FILE).write_text("".join(lines))
    load_split.cache_clear()  # type: ignore[attr-defined]
    return target
