"""IDX files on disk: reading them, checking them against ``SHA256SUMS``, finding a split's files.

IDX format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a dtype code, the number of
dimensions, one big-endian uint32 per dimension, then the values in row-major order. Files may
be gzipped; a folder may hold a ``SHA256SUMS`` file in ``sha256sum`` format.

Every error is a :class:`DataError` whose message names the file and says what to do.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path
from typing import Literal

import numpy as np


class DataError(Exception):
    """Raised with a message a student can act on (names the file and what to do)."""


# File name prefixes used by the original distribution for each split.
SPLIT_PREFIX: dict[str, str] = {"train": "train", "test": "t10k"}
CHECKSUM_FILE = "SHA256SUMS"
EXPECTED_FILES = (
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
    "t10k-labels-idx1-ubyte (each optionally ending in .gz)"
)
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
_HASH_CHUNK = 1 << 20

# (resolved path, size, mtime_ns) -> sha256 hex digest. Only facts about files on disk are
# stored, so sharing it between Streamlit sessions is safe; the key changes when a file does.
_CHECKSUM_CACHE: dict[tuple[str, int, int], str] = {}


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


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _cached_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKSUM_CACHE:
        _CHECKSUM_CACHE[key] = sha256_file(path)
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


def verify_checksums(folder: Path, download_name: str | None = None) -> None:
    """Checks the files listed in ``folder/SHA256SUMS`` that exist against their sha256.

    Does nothing when there is no ``SHA256SUMS`` (e.g. a user's own folder). Digests are cached
    per (path, size, mtime), so repeated loads and app reruns do not hash the files again.

    Args:
        folder: A dataset folder.
        download_name: The registered dataset the folder holds, if any: a mismatch then also
            suggests ``python -m jlml_core download <name>``.

    Raises:
        DataError: If ``SHA256SUMS`` is malformed or a listed file does not match it.
    """
    folder = Path(folder)
    sums_path = folder / CHECKSUM_FILE
    if not sums_path.is_file():
        return
    for file_name, expected in _read_checksum_list(sums_path).items():
        path = folder / file_name
        if not path.is_file():
            continue
        actual = _cached_sha256(path)
        if actual != expected:
            redownload = (
                f", or delete it and run `python -m jlml_core download {download_name}`"
                if download_name
                else ""
            )
            raise DataError(
                f"{path} does not match its checksum in {sums_path} (expected sha256 "
                f"{expected[:12]}..., got {actual[:12]}...), so it is corrupt or incomplete. "
                f"Re-copy it from where you got it (a fresh clone of the repository has intact "
                f"copies){redownload}."
            )


def find_split_file(folder: Path, split: str, kind: Literal["images", "labels"]) -> Path:
    """The images or labels file of a split in `folder`, gzipped or not.

    Raises:
        DataError: If there is none.
    """
    stem = f"{SPLIT_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    # The dotted variant ("train-images.idx3-ubyte") is how some mirrors (e.g. Kaggle) name them.
    dotted = stem.replace("-idx", ".idx")
    candidates = [folder / f"{base}{ext}" for base in (stem, dotted) for ext in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataError(
        f"No {split} {kind} file in {folder}: expected {stem} or {stem}.gz. A dataset folder "
        f"should contain {EXPECTED_FILES}."
    )


def clear_checksum_cache() -> None:
    """Forget every cached digest (`load_split.cache_clear` calls this)."""
    _CHECKSUM_CACHE.clear()
