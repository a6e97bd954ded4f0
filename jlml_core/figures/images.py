"""Turning float image arrays into crisp PNGs (nearest-neighbour upscaling, no blur)."""

from __future__ import annotations

import base64
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] -> uint8 0..255 (clipped)."""
    return (np.clip(np.asarray(image, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_pil(image: np.ndarray, scale: int = 1, invert: bool = False) -> Image.Image:
    """A 2-D float image as a greyscale PIL image, enlarged `scale` times without smoothing."""
    pixels = to_uint8(1.0 - image if invert else image)
    picture = Image.fromarray(pixels)  # 2-D uint8 -> mode "L"
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def png_bytes(image: np.ndarray, scale: int = 1, compress_level: int = 6) -> bytes:
    """A 2-D float image encoded as PNG (zlib `compress_level` 0-9: 1 is fastest, 6 PIL's)."""
    buffer = io.BytesIO()
    to_pil(image, scale).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def png_data_url(image: np.ndarray, scale: int = 1, compress_level: int = 6) -> str:
    """A 2-D float image as an inline PNG `data:` URL."""
    encoded = base64.b64encode(png_bytes(image, scale, compress_level)).decode("ascii")
    return "data:image/png;base64," + encoded


def save_png(image: np.ndarray, path: Path | str, scale: int = 1) -> Path:
    """Write a 2-D float image to `path` atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(png_bytes(image, scale))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
