"""Datasets: MNIST-style IDX files on disk -> uint8 tensors, with checks a student can act on.

The lab works offline. MNIST and Fashion-MNIST ship with the repository under ``data/`` as the
original gzipped IDX files (LeCun et al., "Gradient-based learning applied to document
recognition", 1998; Xiao et al., "Fashion-MNIST", arXiv:1708.07747) together with a
``SHA256SUMS`` file. A user folder holding files with the same names works the same way.

IDX format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a dtype code, the number of
dimensions, one big-endian uint32 per dimension, then the values in row-major order.

Images stay uint8 in memory (60000 x 28 x 28 = 47 MB instead of 188 MB as float32) and are
converted one batch at a time by :func:`to_float_batch`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from jlml_core.config import PROJECT_DIR


class DataError(Exception):
    """Raised with a message a student can act on (names the file and what to do)."""


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

# File name prefixes used by the original distribution for each split.
_SPLIT_PREFIX: dict[str, str] = {"train": "train", "test": "t10k"}
_GZIP_MAGIC = b"\x1f\x8b"
# IDX dtype code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CHECKSUM_FILE = "SHA256SUMS"
_EXPECTED_FILES = (
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
    "t10k-labels-idx1-ubyte (each optionally ending in .gz)"
)
_HASH_CHUNK = 1 << 20

# (resolved path, size, mtime_ns) -> sha256 hex digest. Only facts about files on disk are
# stored, so sharing it between Streamlit sessions is safe; the key changes when a file does.
_CHECKSUM_CACHE: dict[tuple[str, int, int], str] = {}


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
                f"{_EXPECTED_FILES}. Copy those files there (a fresh clone of the "
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
            f"{_EXPECTED_FILES}."
        )
    return folder


def read_idx(path: Path) -> np.ndarray:
    """Reads an IDX file, gzipped or raw (recognised by its magic bytes, not its name).

    Args:
        path: The file to read.

    Returns:
        A writable array in native byte order with the dimensions declared in the header.

    Raises:
        DataError: If the file cannot be read, is not IDX, or is truncated or too long.
    """
    path = Path(path)
    redo = "Delete it and copy or download it again."
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"Cannot read {path}: {error}.") from error
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            # EOFError: the gzip stream stops early, i.e. an interrupted copy or download.
            raise DataError(
                f"{path} is a damaged or truncated gzip file ({error}). {redo}"
            ) from error

    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise DataError(
            f"{path} is not an IDX file (it starts with {data[:8]!r}; an IDX file starts with "
            f"two zero bytes). A failed download often saves an error web page instead. {redo}"
        )
    dtype_code, ndim = data[2], data[3]
    if dtype_code not in _IDX_DTYPES:
        raise DataError(f"{path} has unknown IDX dtype code {dtype_code:#04x}. {redo}")
    if ndim == 0:
        raise DataError(f"{path} declares 0 dimensions, which is not valid IDX. {redo}")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path} is truncated: it ends inside its header. {redo}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[dtype_code]
    expected = header_size + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise DataError(
            f"{path} is truncated: its header promises shape {dims} ({expected} bytes) but "
            f"only {len(data)} bytes are there. {redo}"
        )
    if len(data) > expected:
        raise DataError(
            f"{path} has {len(data) - expected} unexpected bytes after the data of shape "
            f"{dims}; it is corrupt or not the file it claims to be. {redo}"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(dims)
    # Copy once into a writable native-order array: torch.from_numpy warns on read-only buffers.
    return values.astype(dtype.newbyteorder("="), copy=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _cached_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKSUM_CACHE:
        _CHECKSUM_CACHE[key] = _sha256_file(path)
    return _CHECKSUM_CACHE[key]


def _read_checksum_list(sums_path: Path) -> dict[str, str]:
    """Parses ``sha256sum`` output: ``<64 hex digits> [ *]<file name>`` per line."""
    expected: dict[str, str] = {}
    for line_number, line in enumerate(sums_path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, file_name = line.partition(" ")
        file_name = file_name.strip().lstrip("*")
        if len(digest) != 64 or not file_name:
            raise DataError(
                f"{sums_path} line {line_number} is not '<sha256>  <file name>': {line!r}. "
                f"Fix or delete {sums_path}."
            )
        expected[file_name] = digest.lower()
    return expected


def verify_checksums(folder: Path) -> None:
    """Checks the files listed in ``folder/SHA256SUMS`` that exist against their sha256.

    Does nothing when there is no ``SHA256SUMS`` (e.g. a user's own folder). Digests are cached
    per (path, size, mtime), so repeated loads and app reruns do not hash the files again.

    Args:
        folder: A dataset folder.

    Raises:
        DataError: If ``SHA256SUMS`` is malformed or a listed file does not match it.
    """
    folder = Path(folder)
    sums_path = folder / _CHECKSUM_FILE
    if not sums_path.is_file():
        return
    for file_name, expected in _read_checksum_list(sums_path).items():
        path = folder / file_name
        if not path.is_file():
            continue
        actual = _cached_sha256(path)
        if actual != expected:
            registered = [name for name, sub in DATASETS.items() if sub == folder.name]
            redownload = (
                f", or delete it and run `python -m jlml_core download {registered[0]}`"
                if registered
                else ""
            )
            raise DataError(
                f"{path} does not match its checksum in {sums_path} (expected sha256 "
                f"{expected[:12]}..., got {actual[:12]}...), so it is corrupt or incomplete. "
                f"Re-copy it from where you got it (a fresh clone of the repository has intact "
                f"copies){redownload}."
            )


def _find_split_file(folder: Path, split: str, kind: Literal["images", "labels"]) -> Path:
    stem = f"{_SPLIT_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    # The dotted variant ("train-images.idx3-ubyte") is how some mirrors (e.g. Kaggle) name them.
    dotted = stem.replace("-idx", ".idx")
    candidates = [folder / f"{base}{ext}" for base in (stem, dotted) for ext in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataError(
        f"No {split} {kind} file in {folder}: expected {stem} or {stem}.gz. A dataset folder "
        f"should contain {_EXPECTED_FILES}."
    )


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
    verify_checksums(images_path.parent)
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
    if split not in _SPLIT_PREFIX:
        raise DataError(f"split must be 'train' or 'test', got {split!r}.")
    folder = resolve_dataset_dir(dataset).resolve()
    name = dataset if dataset in DATASETS else str(folder)
    images_path = _find_split_file(folder, split, "images")
    labels_path = _find_split_file(folder, split, "labels")
    stamps = (_file_stamp(images_path), _file_stamp(labels_path))
    return _load_split_cached(name, split, images_path, labels_path, stamps)


def _clear_caches() -> None:
    _load_split_cached.cache_clear()
    _CHECKSUM_CACHE.clear()


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
        for split in _SPLIT_PREFIX:
            for kind in ("images", "labels"):
                file_name = f"{_SPLIT_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}"
                file_name += "-ubyte.gz"
                source = raw_folder / file_name
                read_idx(source)  # Fail before replacing good files with bad ones.
                # Copy then rename so a read-only or half-written old file never remains.
                partial = target / f".{file_name}.partial"
                shutil.copyfile(source, partial)
                os.replace(partial, target / file_name)
                lines.append(f"{_sha256_file(target / file_name)}  {file_name}\n")
        (target / _CHECKSUM_FILE).write_text("".join(lines))
    load_split.cache_clear()  # type: ignore[attr-defined]
    return target
