"""The test digits whose codes lie nearest a point: one picture strip under a page's panel.

Shared by the Latent Explorer (a clicked digit or place) and Your digit (a drawn one).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from jlml_core.inference import latent
from jlml_core.store.checkpoints import Entry

from . import cache
from .images import show_images


def show_nearest_test_digits(
    entry: Entry, point: np.ndarray, count: int, heading: str, skip: int | None = None
) -> None:
    """The `count` test digits nearest `point` (D,) by their codes under `entry`, with distances.

    One image element for all of them (the browser wraps it into rows): a Latent Explorer
    click redraws this strip, and each element costs the server its own message.

    Args:
        entry: the model whose codes are searched.
        point: a code (D,) of the model's latent space.
        count: how many digits to show.
        heading: the markdown line above the strip.
        skip: a test row to leave out (the clicked digit itself).
    """
    test = cache.test_set(entry.config.dataset)
    codes = cache.encodings_for(entry).mu
    rows, distances = latent.nearest(codes, point, count + (skip is not None))
    keep = rows != skip
    rows, distances = rows[keep][:count], distances[keep][:count]
    names = [test.class_names[int(test.labels[row])] for row in rows]
    st.markdown(heading)
    show_images(
        [test.images[row].numpy() / 255.0 for row in rows],
        [f"{name} · d={d:.2f}" for name, d in zip(names, distances, strict=True)],  # short: 4 a row
        scale=3,
        alts=[
            f"test digit #{row}, a {name}, at distance {d:.2f}"
            for name, row, d in zip(names, rows, distances, strict=True)
        ],
    )
