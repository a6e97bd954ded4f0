"""A zoo model's test set, encoded once and shipped beside its weights (`TEST_CODES_FILE`).

The codes, per-image losses and pixel errors the pages show, keyed by the SHA-256 of the
weights and of the test images, so a stale file is ignored. Part of the store: like
`checkpoints`, only this layer reads or writes files in a checkpoint's folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from jlml_core.data.idx import sha256_file
from jlml_core.store.checkpoints import MODEL_FILE, CheckpointError, canonicalize_safetensors_header

TEST_CODES_FILE = "test_codes.safetensors"


@dataclasses.dataclass(frozen=True, eq=False)
class EncodedTestSet:
    """What a model makes of its test split, computed once (when the zoo is built) and shipped
    beside its weights, so no dashboard encodes the 10,000 test images again.

    Attributes:
        mu: posterior means (N, D) float32, stored as is (see `write_encoded_test_set`).
        logvar: posterior log-variances (N, D) float32 for a VAE (stored as float16), else None.
        losses: each image's reconstruction loss at z = mu, in nats (N,) float32, stored as is.
        pixel_errors: per way of showing the images ("sigmoid", "cb_mean"), the shown
            reconstructions' "mse", "mae" and "sharpness" over the whole test set (plain JSON).
        mutual_information: a VAE's I(x; z) estimate from these very codes
            (`latent_dims.latent_dimensions`: 2,000 x 10,000 float64 densities, about 0.4 s a
            model, the one slow part of the latent-dimension charts); None if not computed.
    """

    mu: np.ndarray
    logvar: np.ndarray | None
    losses: np.ndarray
    pixel_errors: dict[str, dict[str, float]]
    mutual_information: float | None = None


def images_digest(images: torch.Tensor) -> str:
    """SHA-256 of a uint8 image tensor (N, H, W): its shape and pixels.

    The key of the test set an `EncodedTestSet` was computed from; hashing the 7.8 MB of MNIST's
    test images takes ~20 ms.
    """
    pixels = np.ascontiguousarray(images.numpy())
    digest = hashlib.sha256(repr(tuple(pixels.shape)).encode())
    digest.update(pixels.data)
    return digest.hexdigest()


def stored_logvar(logvar: np.ndarray) -> np.ndarray:
    """Log-variances as `read_encoded_test_set` will return them (rounded through float16), so
    what is computed from them before writing matches what a reader computes."""
    return torch.from_numpy(np.asarray(logvar, np.float32)).half().float().numpy()


def write_encoded_test_set(folder: Path | str, encoded: EncodedTestSet, images_sha256: str) -> Path:
    """Store an entry's encoded test set, keyed by the weights and the images it came from.

    The means stay float32: a clicked test digit is decoded from its mean and its loss shown to
    0.1 nat, and in float16 (codes up to 30 in the continuous Bernoulli zoo model) that loss
    moved by up to 6 nats and its pixels by up to 0.04. The log-variances only draw ellipses
    and a KL to the prior: float16 (1/2048 of the value) halves the file. The per-image losses
    stay float32 (a -5,600 nat loss would round to 4 nats in float16). The key is the SHA-256 of
    the entry's model.safetensors and `images_digest` of the test images, so a retrained model
    or other test images make the file stale, and `read_encoded_test_set` ignores it.

    Returns:
        The file written (atomically: a temporary file renamed into place).
    """
    folder = Path(folder)
    tensors = {
        "mu": torch.from_numpy(encoded.mu).float(),
        "losses": torch.from_numpy(encoded.losses).float(),
    }
    if encoded.logvar is not None:
        tensors["logvar"] = torch.from_numpy(encoded.logvar).half()
    metadata = {
        "model_sha256": sha256_file(folder / MODEL_FILE),
        "images_sha256": images_sha256,
        "pixel_errors": json.dumps(encoded.pixel_errors, sort_keys=True),
    }
    if encoded.mutual_information is not None:
        metadata["mutual_information"] = repr(float(encoded.mutual_information))
    path = folder / TEST_CODES_FILE
    staging = folder / f".{path.stem}.partial.safetensors"
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(staging), metadata=metadata)
        canonicalize_safetensors_header(staging)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path


def read_encoded_test_set(folder: Path | str, images_sha256: str) -> EncodedTestSet | None:
    """The entry's shipped encoded test set, or None when it has none or it is stale.

    Stale means computed from other weights (model.safetensors' SHA-256 differs) or other
    test images (`images_digest` differs): the caller then computes what it needs itself.

    Raises:
        CheckpointError: the file is damaged or its arrays do not fit together.
    """
    folder = Path(folder)
    path = folder / TEST_CODES_FILE
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("images_sha256") != images_sha256:
                return None
            if metadata.get("model_sha256") != sha256_file(folder / MODEL_FILE):
                return None
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - no dict
        encoded = EncodedTestSet(
            mu=tensors["mu"].float().numpy(),
            logvar=tensors["logvar"].float().numpy() if "logvar" in tensors else None,
            losses=tensors["losses"].float().numpy(),
            pixel_errors=json.loads(metadata.get("pixel_errors", "{}")),
            mutual_information=(
                float(metadata["mutual_information"]) if "mutual_information" in metadata else None
            ),
        )
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        raise CheckpointError(
            f"{path} is damaged ({error}); delete it or run `python -m jlml_core zoo --codes`."
        ) from error
    rows = len(encoded.mu)
    if (
        encoded.mu.ndim != 2
        or encoded.losses.shape != (rows,)
        or (encoded.logvar is not None and encoded.logvar.shape != encoded.mu.shape)
    ):
        raise CheckpointError(f"{path}: its arrays do not fit together; delete that file.")
    return encoded
