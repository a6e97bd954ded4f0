"""Generation: decode codes nobody encoded — prior samples, interpolations, grids over planes."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from dashboard import cache, conditional_view, links, vq_view
from dashboard.charts import download_button
from dashboard.generation_links import clamp_links, default_value, random_pair
from dashboard.images import show_wide_image
from dashboard.settings import limits, public_error
from dashboard.sidebar import require_entry
from dashboard.snippets import show_code
from dashboard.traversal_view import show_traversals
from jlml_core.data.datasets import DataError
from jlml_core.figures.exports import file_name
from jlml_core.figures.images import png_bytes
from jlml_core.inference import latent
from jlml_core.store.checkpoints import CheckpointError

# Pictures are enlarged by whole multiples (crisp) to at least this many px; the browser fits them.
MOSAIC_WIDTH = 720
STRIP_WIDTH = 1000
AE_WARNING = (
    "**This is a plain autoencoder.** Nothing in its training asked its codes to follow "
    "N(0, I), so draws from that prior can land where no digit was ever encoded, and the "
    "samples may be poor. Compare with a VAE: its KL term is exactly what makes this work."
)


def _show_mosaic(
    images: np.ndarray,
    columns: int,
    caption: str,
    alt: str,
    width: int = MOSAIC_WIDTH,
    download: str | None = None,
) -> None:
    """A mosaic of images; with `download` (what it shows), a button saving it as PNG."""
    save = None if download is None else partial(_download_png, what=download)
    show_wide_image(latent.tile(images, columns), caption, alt=alt, width=width, download=save)


def _download_png(image: np.ndarray, scale: int, what: str) -> None:
    download_button(
        "Download the picture (PNG)",
        partial(png_bytes, image, scale),
        file_name(what, "png", config),
        key=f"gen_{what}_png",
    )


st.title("Generation")
st.markdown(
    "A decoder turns *any* code into an image, not only the codes of real digits. Here you "
    "decode codes drawn from the prior, codes on the way from one digit to another, and codes "
    "on a grid over the latent plane."
)
entry = require_entry()
config = entry.config
vq_view.stop_without_prior(entry)  # a VQ-VAE has no prior to sample
try:
    model = cache.model_for(entry)
    test = cache.test_set(config.dataset)
except (CheckpointError, DataError) as error:
    st.error(f"Could not load {entry.label} or its test images: {public_error(error)}")
    st.stop()
output = "sigmoid"
if config.loss == "cb":
    output = st.radio(
        "Show",
        ["sigmoid", "cb_mean"],
        horizontal=True,
        key="gen_cb_output",
        format_func={"sigmoid": "λ", "cb_mean": "the CB mean"}.get,
        help="A continuous-Bernoulli decoder's λ is not its expected pixel value; the CB mean is.",
        bind=links.BIND,
    )
size, names, bounds = len(test), test.class_names, limits()
clamp_links(size, bounds)  # a link's numbers, clamped into their widgets' ranges
if config.conditional:  # a class picker instead of the tabs below (stops the page)
    conditional_view.show_generation(entry, output)
codes = cache.encodings_for(entry).mu  # (N, D) posterior means of the test set


def _label(index: int) -> str:
    return f"#{index} (a {names[int(test.labels[index])]})"


prior_tab, path_tab, rectangle_tab, plane_tab, traversal_tab = st.tabs(
    [
        "Samples from the prior",
        "Interpolation",
        "Grid over the latent plane",
        "Plane through three digits",
        "Latent traversals",
    ],
    key="gen_tab",
    bind=links.BIND,
    on_change="rerun",  # tells which tab is open: the traversals run only in theirs
)

with prior_tab:
    if not config.is_variational:
        st.warning(AE_WARNING)
    controls, picture = st.columns([1, 2], gap="large")
    with controls:
        n = st.slider("Grid size (n × n)", 2, bounds.prior_grid, 8, key="gen_grid", bind=links.BIND)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed", bind=links.BIND)
        temperature = st.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="gen_temperature",
                                help="Scales the prior's spread.", bind=links.BIND)  # fmt: skip
        st.caption(
            "Each image decodes z ~ N(0, T² I). Below T = 1 the codes stay near the centre, "
            "where the model is most confident: cleaner but more alike digits; above 1 they "
            "wander to the edges, where strange shapes appear."
        )
    z = latent.sample_prior(n * n, config.latent_dim, int(seed), temperature)  # (n², D)
    with picture:
        _show_mosaic(
            cache.decoded_for(entry, z, output),
            n,
            f"{n * n} samples, seed {seed}, temperature {temperature:g}",
            f"{n} by {n} mosaic of digits {entry.label} decodes from {n * n} prior samples, "
            f"seed {seed}, temperature {temperature:g}",
            download="prior_samples",
        )
        show_code("prior_samples", entry.key, count=n * n, seed=int(seed),
                  temperature=float(temperature), columns=n)  # fmt: skip

with path_tab:
    default_value("gen_start", 0)
    default_value("gen_end", 1)
    first, last, steps_column, method_column = st.columns([1, 1, 2, 2])
    start = first.number_input("From test digit", 0, size - 1, key="gen_start", bind=links.BIND)
    end = last.number_input("To test digit", 0, size - 1, key="gen_end", bind=links.BIND)
    steps = steps_column.slider(
        "Steps", 3, bounds.interpolation_steps, 8, key="gen_steps", bind=links.BIND
    )
    method = method_column.radio(
        "Path", ["linear", "spherical"], horizontal=True, key="gen_method", bind=links.BIND
    )
    first.button("Random pair", on_click=random_pair, args=(size,), icon="🎲")
    path = latent.interpolate(codes[start], codes[end], steps, method)  # (steps, D)
    decoded = cache.decoded_for(entry, path, output)
    ends = test.images[[start, end]].numpy().astype(np.float32) / 255.0  # (2, H, W)
    gap = np.ones((ends.shape[1], 6), np.float32)  # white: sets the originals apart
    strip = np.hstack([ends[0], gap, latent.tile(decoded, steps), gap, ends[1]])  # (H, W)
    show_wide_image(
        strip,
        f"Left: test digit {_label(start)}; right: {_label(end)}. Between them, {steps} codes "
        f"on the {method} path from one encoding to the other, decoded.",
        alt=f"Strip from test digit {_label(start)} to {_label(end)}: {steps} images "
        f"{entry.label} decodes along the {method} path between their codes",
        width=STRIP_WIDTH,
        download=partial(_download_png, what="interpolation"),
    )
    show_code(
        "interpolation", entry.key, start=int(start), end=int(end), steps=steps, method=method
    )
    st.caption(
        "Linear steps cut straight across latent space. Spherical interpolation (slerp) "
        "swings around the origin instead, keeping the codes at the distance from the centre "
        "where a Gaussian prior puts most of its mass — in many dimensions, the middle of a "
        "straight line is a place no training code ever sat."
    )

with rectangle_tab:
    projection = cache.projection_for(entry)
    plane = cache.projected_codes_for(entry)  # (N, 2) test codes in the shown plane
    if config.latent_dim > 2:
        shares = projection.explained_variance_ratio
        st.info(
            f"This model's code has {config.latent_dim} dimensions. The grid lies on the plane "
            f"of the first two principal components of the test codes ({shares[0]:.0%} and "
            f"{shares[1]:.0%} of their variance), through their mean: every other direction "
            "is held at the average code."
        )
    if config.is_variational:
        ranges = [(-3.0, 3.0), (-3.0, 3.0)]
        note = "The default ranges span ±3, where the prior N(0, I) puts nearly all its mass."
    else:  # an AE's codes have no fixed scale: start from where the test codes are
        low, high = np.percentile(plane, [1, 99], axis=0)  # (2,) each
        ranges = [(round(float(a), 1), round(float(b), 1)) for a, b in zip(low, high, strict=True)]
        note = "The default ranges cover the middle 98% of the test codes along each axis."
    reach = float(max(4.0, np.ceil(np.abs(plane).max() * 1.2 + 0.5)))
    controls, picture = st.columns([1, 2], gap="large")
    with controls:
        x_range = st.slider("Horizontal range", -reach, reach, ranges[0], key=f"gen_x_{entry.key}")
        y_range = st.slider("Vertical range", -reach, reach, ranges[1], key=f"gen_y_{entry.key}")
        grid = st.slider(
            "Grid size", 5, bounds.plane_grid, min(15, bounds.plane_grid), key="gen_plane_grid",
            bind=links.BIND,
        )  # fmt: skip
        st.caption(note)
    points = latent.grid_points(x_range, y_range, grid)  # (grid², 2), top row = high y
    with picture:
        _show_mosaic(
            cache.decoded_for(entry, projection.lift(points), output),
            grid,
            f"Decoded {grid} × {grid} grid over x ∈ [{x_range[0]:g}, {x_range[1]:g}], "
            f"y ∈ [{y_range[0]:g}, {y_range[1]:g}]",
            f"{grid} by {grid} mosaic of the images {entry.label} decodes on a grid over "
            f"x from {x_range[0]:g} to {x_range[1]:g}, y from {y_range[0]:g} to {y_range[1]:g}",
            download="latent_grid",
        )

with plane_tab:
    for key, value in (("gen_a", 0), ("gen_b", 1), ("gen_c", 2)):
        default_value(key, value)
    controls, picture = st.columns([1, 2], gap="large")
    with controls:
        a_column, b_column, c_column = st.columns(3)
        a = a_column.number_input("Top-left", 0, size - 1, key="gen_a", bind=links.BIND)
        b = b_column.number_input("Top-right", 0, size - 1, key="gen_b", bind=links.BIND)
        c = c_column.number_input("Bottom-left", 0, size - 1, key="gen_c", bind=links.BIND)
        cells = st.slider(
            "Grid size", 3, bounds.mosaic_grid, min(9, bounds.mosaic_grid), key="gen_mosaic_grid",
            bind=links.BIND,
        )  # fmt: skip
        margin = st.slider(
            "Extend beyond the three digits", 0.0, 0.5, 0.0, 0.05, key="gen_margin", bind=links.BIND
        )
        corners = test.images[[a, b, c]].numpy().astype(np.float32) / 255.0
        corner_names = f"{_label(a)}, {_label(b)}, {_label(c)}"
        _show_mosaic(corners, 3, corner_names, f"the three test digits {corner_names}", 360)
        st.caption(
            "Point (s, t) of the mosaic decodes z_a + s (z_b − z_a) + t (z_c − z_a): the plane "
            "through the three encodings, as in the original project's interpolation mosaic."
        )
    mosaic_codes = latent.plane_grid(codes[a], codes[b], codes[c], cells, margin)  # (n, n, D)
    with picture:
        _show_mosaic(
            cache.decoded_for(entry, mosaic_codes.reshape(-1, config.latent_dim), output),
            cells,
            "The plane through the three encodings, decoded",
            f"{cells} by {cells} mosaic {entry.label} decodes on the plane through the codes of "
            f"test digits {_label(a)} (top left), {_label(b)} (top right), {_label(c)} "
            "(bottom left)",
            download="plane_mosaic",
        )

# The other tabs run whatever is open (their pictures are cheap, and their widgets keep their
# values); the traversals' two Plotly charts would make a first open load Plotly (~0.8 s).
if traversal_tab.open:
    with traversal_tab:
        show_traversals(entry, output)
