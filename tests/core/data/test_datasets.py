"""Tests for data.datasets and data.idx: real MNIST files, plus tiny IDX files written here."""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from jlml_core.data import idx
from jlml_core.data.batches import to_float_batch
from jlml_core.data.datasets import (
    CLASS_NAMES,
    DATASETS,
    ImageDataset,
    data_root,
    download_with_torchvision,
    load_split,
    resolve_dataset_dir,
)
from jlml_core.data.idx import DataError, read_idx, verify_checksums

REPO_DATA = Path(__file__).resolve().parents[3] / "data"
SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"

# Published per-digit counts of the MNIST training and test sets.
MNIST_LABEL_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}
IDX_DTYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Writes ``array`` as an IDX file (big-endian, as the format requires)."""
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, IDX_DTYPE_CODES[big_endian.dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + big_endian.tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_split(
    folder: Path,
    split: str = "test",
    n: int = 6,
    labels: np.ndarray | None = None,
    compress: bool = False,
) -> None:
    """Writes a tiny (n, 4, 5) image set and its labels in the MNIST file layout."""
    prefix = {"train": "train", "test": "t10k"}[split]
    suffix = ".gz" if compress else ""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.arange(n * 4 * 5, dtype=np.uint8).reshape(n, 4, 5)
    labels = np.arange(n, dtype=np.uint8) % 3 if labels is None else labels
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Empties the load/checksum caches around a test that swaps files or the data root."""
    load_split.cache_clear()
    yield
    load_split.cache_clear()


@pytest.fixture
def mnist_test_copy(tmp_path: Path) -> Path:
    """A writable copy of the MNIST test files and SHA256SUMS as tmp_path/mnist."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("SHA256SUMS", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(REPO_DATA / "mnist" / name, folder / name)
    return folder


# --- real MNIST / Fashion-MNIST ------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_label_counts_match_published(split: str) -> None:
    dataset = load_split("mnist", split)
    assert torch.bincount(dataset.labels).tolist() == MNIST_LABEL_COUNTS[split]


@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_mnist_shapes_and_dtypes(split: str, n: int) -> None:
    dataset = load_split("mnist", split)
    assert dataset.images.shape == (n, 28, 28)
    assert dataset.images.dtype == torch.uint8
    assert dataset.labels.shape == (n,)
    assert dataset.labels.dtype == torch.int64
    assert len(dataset) == n
    assert dataset.image_shape == (1, 28, 28)
    assert (dataset.name, dataset.split) == ("mnist", split)
    assert dataset.class_names == tuple("0123456789")
    assert int(dataset.images.max()) == 255


def test_load_split_is_cached() -> None:
    assert load_split("mnist", "test") is load_split("mnist", "test")


def test_fashion_mnist_loads_from_project_copy() -> None:
    dataset = load_split("fashion-mnist", "test")
    assert dataset.images.shape == (10000, 28, 28)
    # Fashion-MNIST's test set has exactly 1000 images per class.
    assert torch.bincount(dataset.labels).tolist() == [1000] * 10
    assert dataset.class_names == CLASS_NAMES["fashion-mnist"]
    assert dataset.class_names[0] == "T-shirt/top"
    assert dataset.class_names[9] == "Ankle boot"


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_project_copy_matches_shared_copy(name: str) -> None:
    shared = SHARED_DATA / DATASETS[name]
    if not shared.is_dir():
        pytest.skip(f"no shared data folder at {shared} (normal outside the build machine)")
    project = REPO_DATA / DATASETS[name]
    assert (project / "SHA256SUMS").read_text() == (shared / "SHA256SUMS").read_text()
    verify_checksums(project)


def test_data_root_defaults_to_repo_and_honours_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JLML_DATA_DIR", raising=False)
    assert data_root() == REPO_DATA
    monkeypatch.setenv("JLML_DATA_DIR", str(tmp_path))
    assert data_root() == tmp_path


# --- checksums -----------------------------------------------------------------------------


def corrupt_one_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


def test_checksum_mismatch_names_file_via_folder_path(
    mnist_test_copy: Path, fresh_cache: None
) -> None:
    corrupt_one_byte(mnist_test_copy / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz") as error:
        load_split(str(mnist_test_copy), "test")
    message = str(error.value)
    assert "b91679a0acfe" in message  # the expected digest's prefix
    assert "Re-copy" in message


def test_checksum_mismatch_via_data_root_suggests_download(
    mnist_test_copy: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    monkeypatch.setenv("JLML_DATA_DIR", str(mnist_test_copy.parent))
    assert load_split("mnist", "test").images.shape == (10000, 28, 28)
    corrupted = mnist_test_copy / "t10k-images-idx3-ubyte.gz"
    corrupt_one_byte(corrupted)
    # Same size, so only the mtime tells the caches the file changed. Move it a second ahead
    # because some file systems store mtimes too coarsely to see a change within one test.
    stat = corrupted.stat()
    os.utime(corrupted, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz") as error:
        load_split("mnist", "test")
    assert "python -m jlml_core download mnist" in str(error.value)


def test_checksums_are_hashed_once(
    mnist_test_copy: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    calls: list[Path] = []
    real_sha256 = idx.sha256_file

    def counting_sha256(path: Path) -> str:
        calls.append(path)
        return real_sha256(path)

    monkeypatch.setattr(idx, "sha256_file", counting_sha256)
    verify_checksums(mnist_test_copy)
    verify_checksums(mnist_test_copy)
    assert len(calls) == 2  # the two test files present; the train files are skipped


def test_malformed_checksum_file(mnist_test_copy: Path, fresh_cache: None) -> None:
    (mnist_test_copy / "SHA256SUMS").write_text("not a checksum line\n")
    with pytest.raises(DataError, match="SHA256SUMS line 1"):
        verify_checksums(mnist_test_copy)


# --- broken files --------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_file_is_reported(tmp_path: Path, compress: bool) -> None:
    path = write_idx(tmp_path / "images.idx", np.zeros((10, 4, 4), np.uint8), compress)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="truncated") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_truncated_real_gz_file(mnist_test_copy: Path) -> None:
    path = mnist_test_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        read_idx(path)


def test_trailing_bytes_are_reported(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels.idx", np.zeros(5, np.uint8))
    path.write_bytes(path.read_bytes() + b"extra")
    with pytest.raises(DataError, match="5 unexpected bytes"):
        read_idx(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"<!DOCTYPE html><html>404 Not Found</html>", "not an IDX file"),
        (b"\x00\x00\x42\x01\x00\x00\x00\x01\x00", "unknown IDX dtype code 0x42"),
        (b"\x00\x00\x08\x03\x00\x00", "ends inside its header"),
        (b"\x00\x00", "not an IDX file"),
        (b"\x1f\x8bnot really gzip", "damaged or truncated gzip"),
    ],
)
def test_garbage_is_reported(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "garbage-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match) as error:
        read_idx(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path: Path, dtype: type, compress: bool) -> None:
    array = (np.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    result = read_idx(write_idx(tmp_path / "array.idx", array, compress))
    np.testing.assert_array_equal(result, array)
    assert result.dtype.isnative and result.flags.writeable


# --- folders -------------------------------------------------------------------------------


def test_missing_registered_folder_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    monkeypatch.setenv("JLML_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as error:
        load_split("mnist", "test")
    message = str(error.value)
    assert str(tmp_path / "mnist") in message
    assert "train-images-idx3-ubyte" in message
    assert "python -m jlml_core download mnist" in message


def test_unknown_name_or_missing_user_folder(tmp_path: Path) -> None:
    missing = tmp_path / "my-digits"
    with pytest.raises(DataError, match="not a registered name") as error:
        resolve_dataset_dir(str(missing))
    assert str(missing) in str(error.value)


def test_folder_without_idx_files(tmp_path: Path, fresh_cache: None) -> None:
    with pytest.raises(DataError, match="expected t10k-images-idx3-ubyte or"):
        load_split(str(tmp_path), "test")


@pytest.mark.parametrize("compress", [False, True])
def test_user_folder_loads(tmp_path: Path, compress: bool, fresh_cache: None) -> None:
    folder = tmp_path / "my-digits"
    write_split(folder, "test", n=6, compress=compress)
    dataset = load_split(str(folder), "test")
    assert dataset.name == str(folder.resolve())
    assert dataset.images.shape == (6, 4, 5)
    assert dataset.image_shape == (1, 4, 5)
    assert dataset.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert dataset.class_names == ("0", "1", "2")
    with pytest.raises(DataError, match="No train images file"):
        load_split(str(folder), "train")


def test_counts_must_agree(tmp_path: Path, fresh_cache: None) -> None:
    write_split(tmp_path, "test", n=6, labels=np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="6 images but .* 5 labels"):
        load_split(str(tmp_path), "test")


def test_labels_must_fit_registered_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    write_split(tmp_path / "mnist", "test", n=3, labels=np.array([0, 10, 3], np.uint8))
    monkeypatch.setenv("JLML_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="labels from 0 to 10"):
        load_split("mnist", "test")


def test_images_must_be_3d_uint8(tmp_path: Path, fresh_cache: None) -> None:
    write_split(tmp_path, "test", n=2)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 4, 5), np.float32))
    with pytest.raises(DataError, match="should hold uint8 images"):
        load_split(str(tmp_path), "test")


def test_bad_split_name() -> None:
    with pytest.raises(DataError, match="'train' or 'test'"):
        load_split("mnist", "validation")  # type: ignore[arg-type]


# --- ImageDataset and batches --------------------------------------------------------------


def test_subset_takes_a_prefix_sharing_memory() -> None:
    full = load_split("mnist", "test")
    small = full.subset(100)
    assert len(small) == 100
    assert torch.equal(small.images, full.images[:100])
    assert small.images.data_ptr() == full.images.data_ptr()
    assert (small.name, small.split, small.class_names) == (full.name, "test", full.class_names)
    assert full.subset(None) is full
    assert full.subset(10**9) is full
    with pytest.raises(ValueError, match="at least 1"):
        full.subset(0)


def test_image_dataset_rejects_wrong_types() -> None:
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(torch.zeros(2, 4, 4), torch.zeros(2, dtype=torch.int64), "x", "test", ())


def test_to_float_batch_range_and_shape() -> None:
    images = torch.tensor([[[0, 255], [128, 1]]], dtype=torch.uint8)  # (1, 2, 2)
    batch = to_float_batch(images)
    assert batch.shape == (1, 1, 2, 2)
    assert batch.dtype == torch.float32
    assert batch.min() == 0.0 and batch.max() == 1.0
    assert batch[0, 0, 1, 0] == pytest.approx(128 / 255)
    real = to_float_batch(load_split("mnist", "test").images[:64])
    assert real.shape == (64, 1, 28, 28)
    assert float(real.min()) >= 0.0 and float(real.max()) <= 1.0
    assert images[0, 0, 1] == 255  # input left untouched


def test_to_float_batch_rejects_float_input() -> None:
    with pytest.raises(ValueError, match="uint8"):
        to_float_batch(torch.zeros(2, 28, 28))


# --- download (no network: a stand-in for torchvision.datasets) ----------------------------


def install_fake_torchvision(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> None:
    """Puts a fake ``torchvision.datasets`` in sys.modules that 'downloads' the project files."""

    class FakeMNIST:
        source = REPO_DATA / "mnist"

        def __init__(self, root: str, train: bool, download: bool) -> None:
            if fail:
                raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")
            self.raw_folder = str(Path(root) / type(self).__name__ / "raw")
            Path(self.raw_folder).mkdir(parents=True)
            for path in self.source.glob("*.gz"):
                shutil.copyfile(path, Path(self.raw_folder) / path.name)

    class FakeFashionMNIST(FakeMNIST):
        source = REPO_DATA / "fashion-mnist"

    datasets = types.ModuleType("torchvision.datasets")
    datasets.MNIST = FakeMNIST  # type: ignore[attr-defined]
    datasets.FashionMNIST = FakeFashionMNIST  # type: ignore[attr-defined]
    package = types.ModuleType("torchvision")
    package.datasets = datasets  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)


def test_download_writes_files_and_checksums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    install_fake_torchvision(monkeypatch)
    target = download_with_torchvision("mnist", root=tmp_path)
    assert target == tmp_path / "mnist"
    written = set((target / "SHA256SUMS").read_text().splitlines())
    assert written == set((REPO_DATA / "mnist" / "SHA256SUMS").read_text().splitlines())
    verify_checksums(target)
    monkeypatch.setenv("JLML_DATA_DIR", str(tmp_path))
    assert len(load_split("mnist", "test")) == 10000


def test_download_without_network_is_friendly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_torchvision(monkeypatch, fail=True)
    with pytest.raises(DataError, match="network connection"):
        download_with_torchvision("fashion-mnist", root=tmp_path)
    assert not (tmp_path / "fashion-mnist").exists()


def test_download_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="only fashion-mnist, mnist"):
        download_with_torchvision("cifar10", root=tmp_path)
