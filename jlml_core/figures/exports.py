"""What a visitor downloads from the dashboard: file names, and tables and codes as CSV text.

Pure functions (no Streamlit), so every export is tested on its own. A file name always says
which model it came from: the zoo's name for a shipped model (`vae-cnn-z2_latent_codes.csv`),
else the model's folder name (`mnist-vae-dense-z2-bce-3efbc4ab62c0_latent_codes.csv`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jlml_core.config import TrainConfig
from jlml_core.store.zoo import zoo_name

# The owner part of a file that holds many models (the Model Zoo's table).
NO_MODEL = "jlml"
# Significant digits of a code in the CSV: float32 reads back exactly from 9.
CODE_DIGITS = 9
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, limit: int = 100) -> str:
    """`text` as a portable part of a file name: each run of other characters becomes "-".

    >>> safe_name("metric −ELBO (nats)")
    'metric-ELBO-nats'
    """
    cleaned = _UNSAFE.sub("-", text).strip("-.")[:limit].rstrip("-.")
    return cleaned or NO_MODEL


def model_name(config: TrainConfig) -> str:
    """The zoo's name of a shipped model ("vae-cnn-z2"), else the model's folder name (slug)."""
    return safe_name(zoo_name(config.key()) or config.slug())


def file_stem(what: str, config: TrainConfig | None = None) -> str:
    """`vae-cnn-z2_latent_codes`: whose (the model, or "jlml" for many) and what, no extension.

    Plotly's camera button takes a name without extension; `file_name` adds one.
    """
    owner = NO_MODEL if config is None else model_name(config)
    return f"{owner}_{safe_name(what)}"


def file_name(what: str, extension: str, config: TrainConfig | None = None) -> str:
    """The name of every downloaded file: `file_stem(what, config)` and `.extension`."""
    return f"{file_stem(what, config)}.{extension.lstrip('.')}"


def _cell(value: Any) -> str:
    """One CSV cell: empty for a missing number, full precision for a float."""
    if value is None:
        return ""
    if isinstance(value, np.generic):
        value = value.item()  # numpy scalars as Python ones: 0.25, not np.float64(0.25)
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)  # repr: the shortest exact form
    return str(value)


def table_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A table's rows as CSV text, with a header line.

    Args:
        rows: one mapping per row, column title -> value.
        columns: the columns in order (default: the first row's keys); a row without one
            gets an empty cell.

    Returns:
        The CSV text; missing values and NaN as empty cells, floats at full precision.
    """
    columns = list(columns if columns is not None else (rows[0] if rows else []))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)
    return buffer.getvalue()


def codes_csv(mu: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None) -> str:
    """Latent codes as CSV: columns index, label, z1..zD, one line per digit.

    Args:
        mu: (N, D) codes, e.g. the posterior means of the test set.
        labels: (N,) class index of each digit.
        rows: (N,) each digit's index in its test set (default 0..N-1).

    Returns:
        The CSV text; codes with `CODE_DIGITS` significant digits, so float32 reads back exact.
    """
    mu = np.asarray(mu)
    if mu.ndim != 2 or len(labels) != len(mu):
        raise ValueError(f"Expected codes (N, D) and N labels, got {mu.shape} and {len(labels)}.")
    rows = np.arange(len(mu)) if rows is None else np.asarray(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "label", *(f"z{i + 1}" for i in range(mu.shape[1]))])
    codes = np.char.mod(f"%.{CODE_DIGITS}g", mu.astype(np.float64))  # (N, D) strings
    writer.writerows(
        [str(row), str(label), *code]
        for row, label, code in zip(
            rows.tolist(), np.asarray(labels).tolist(), codes.tolist(), strict=True
        )
    )
    return buffer.getvalue()
