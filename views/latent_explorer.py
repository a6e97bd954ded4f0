"""Latent Explorer: the 10,000 test codes in the plane; click a digit or any place to decode it."""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import streamlit as st

from dashboard import cache, conditional_view, figure_cache, inputs, links, vq_view
from dashboard.charts import download_button, show_chart
from dashboard.images import show_image, show_images
from dashboard.neighbours import show_nearest_test_digits
from dashboard.posterior_view import posterior_summary, show_posterior
from dashboard.settings import limits, public_error
from dashboard.sidebar import require_entry
from dashboard.snippets import show_code
from jlml_core.data.datasets import DataError
from jlml_core.figures import latent_scatter
from jlml_core.figures.exports import codes_csv, file_name
from jlml_core.inference import latent, plane, reconstruction
from jlml_core.nn.losses import LOSS_LABELS
from jlml_core.store.checkpoints import CheckpointError, Entry

NEIGHBOURS = 8
SCATTER_KEY = "latent_scatter"
ROW_KEY = "latent_row"
CLICK_KEY = "latent_click"
STARTED_KEY = "latent_click_started"
HOW_CLICKING_WORKS = """
Streamlit reports a Plotly selection only when a **point** is clicked, never a bare position.
So under the digits lies an invisible grid of 120 × 120 points covering the whole plot: a
click on empty space selects the nearest grid point (at most half a grid step away), and its
x, y come back to Python, which decodes exactly that position. A click on a digit selects the
digit instead; its row in the test set travels with it (Plotly numbers points per class trace).

The black mark is Plotly's own highlight of the selected point, drawn in the browser. Unselected
points keep their normal look, and the figure sent from Python is the same object on every
click, so the 10,000-point WebGL scatter is never redrawn; only the chart's fragment (the plot
and this panel) reruns on the server. Changing the model or the background draws a new figure,
which clears the mark; the panel keeps showing your last choice. Drag to pan, scroll to zoom,
double-click to reset the view, click a class in the legend to hide it.
"""


def _show_digit(entry: Entry, row: int, codes: np.ndarray, output: latent.ImageOutput) -> None:
    """A clicked test digit: original, reconstruction, class and reconstruction loss."""
    test = cache.test_set(entry.config.dataset)
    model = cache.model_for(entry)
    name = test.class_names[int(test.labels[row])]
    original = test.images[row].numpy() / 255.0  # (H, W)
    decoded, loss = reconstruction.decode_with_loss(
        model, codes[row], test.images[row], entry.config.loss, output
    )
    loss_name = LOSS_LABELS[entry.config.loss].nll
    logvar = cache.encodings_for(entry).logvar  # a VAE's q(z|x); None for an AE
    # One element for all lines: every element is one more message on every click.
    st.markdown(
        f"**Test digit #{row}** · class **{name}**  \n"
        f"Reconstruction loss ({loss_name}): **{loss:.1f}** nats"
        + (f"  \n{posterior_summary(codes[row], logvar[row])}" if logvar is not None else "")
    )
    show_images(
        [original, decoded], ["original", "reconstruction"], scale=5,
        alts=[f"test digit #{row}, a {name}",
              f"reconstruction of the {name} by {entry.label}, {loss_name} {loss:.1f} nats"],
    )  # fmt: skip
    if logvar is not None:
        show_posterior(entry, codes[row], logvar[row], with_summary=False)
        show_code("posterior_panel", entry.key, row=row)


def _show_position(entry: Entry, click: inputs.Click, output: latent.ImageOutput) -> np.ndarray:
    """A clicked place in the plane: its decoded image. Returns the code that was decoded."""
    model = cache.model_for(entry)
    code, image = plane.decode_position(
        model, cache.projection_for(entry), click.x, click.y, output
    )
    st.markdown(f"**Decoded position** ({click.x:.2f}, {click.y:.2f})")
    show_image(
        image, "decoded image", scale=5,
        alt=f"image decoded by {entry.label} at ({click.x:.2f}, {click.y:.2f}) in the plane",
    )  # fmt: skip
    show_code("decode_position", entry.key, x=round(click.x, 4), y=round(click.y, 4))
    return code


def _show_empty_panel(entry: Entry, output: latent.ImageOutput) -> None:
    """Before any click: what a click will do, shown with the plane's centre decoded."""
    st.info(
        "Click a digit to see it beside its reconstruction, or click anywhere in the plane to "
        "decode that exact position."
    )
    image = cache.decoded_centre_for(entry, output)
    show_image(
        image, "the plane's centre (0, 0), decoded", scale=4,
        alt=f"image decoded by {entry.label} at the centre (0, 0) of the plane",
    )  # fmt: skip


def _show_neighbours(entry: Entry, code: np.ndarray, skip: int | None) -> None:
    """The test digits whose codes lie nearest `code` (leaving out row `skip`)."""
    dims = len(code)
    where = "in the latent space" if dims <= 2 else f"in all {dims} dimensions"
    show_nearest_test_digits(entry, code, NEIGHBOURS, f"Nearest test digits {where}", skip)


def _remember_selection(entry_key: str) -> None:
    """on_select: keep what the plot click chose (a cleared selection keeps the last one)."""
    st.session_state[STARTED_KEY] = time.perf_counter()
    click = inputs.click_from_selection(st.session_state[SCATTER_KEY].selection)
    if click is not None:
        st.session_state[CLICK_KEY] = (entry_key, click)


def _remember_row(entry_key: str, points: np.ndarray) -> None:
    """on_change of the index box: choose that test digit as if it had been clicked."""
    st.session_state[STARTED_KEY] = time.perf_counter()
    row = st.session_state[ROW_KEY]
    if row is not None and 0 <= row < len(points):
        x, y = points[int(row)]
        click = inputs.Click("digit", int(row), float(x), float(y))
        st.session_state[CLICK_KEY] = (entry_key, click)


def _current_click(entry_key: str) -> inputs.Click | None:
    """The last choice; a test digit carries over to another model, a place does not."""
    entry_key_then, click = st.session_state.get(CLICK_KEY, (None, None))
    return click if click is None or click.kind == "digit" or entry_key_then == entry_key else None


@st.fragment
def explorer(entry: Entry, background_digits: int, posteriors: bool = False) -> None:
    """The scatter and the panel a click changes; reruns alone when the selection changes."""
    # A click's server time starts in its callback, before this function reruns.
    started = st.session_state.pop(STARTED_KEY, None) or time.perf_counter()
    codes = cache.encodings_for(entry).mu  # (N, D)
    plot, panel = st.columns([3, 2], gap="medium")
    figure_for = figure_cache.posterior_figure_for if posteriors else figure_cache.latent_figure_for
    with plot:
        show_chart(
            figure_for(entry, background_digits),
            name="latent_scatter",
            model=entry.config,
            key=SCATTER_KEY,
            on_select=partial(_remember_selection, entry.key),  # plotly_chart takes no args=
            selection_mode="points",
            config={"scrollZoom": True, "displaylogo": False},
            alt=f"Scatter of {len(codes):,} test digits' codes in the latent plane under "
            f"{entry.label}, coloured by class; click a point or a place to decode it",
        )
    with panel:
        st.number_input(
            "Or pick a test digit by index", 0, len(codes) - 1, None, step=1, key=ROW_KEY,
            placeholder=f"0 to {len(codes) - 1}", on_change=_remember_row,
            args=(entry.key, cache.projected_codes_for(entry)),
        )  # fmt: skip
    click = _current_click(entry.key)
    links.publish_click(click)
    output = plane.image_output_for(entry.config.loss)
    with panel, st.container(key="latent_detail"):
        if click is None:
            _show_empty_panel(entry, output)
            return
        if click.kind == "digit" and click.row is not None and 0 <= click.row < len(codes):
            _show_digit(entry, click.row, codes, output)
            _show_neighbours(entry, codes[click.row], skip=click.row)
        else:
            code = _show_position(entry, click, output)
            _show_neighbours(entry, code, skip=None)
        elapsed = 1000 * (time.perf_counter() - started)
        st.caption(f"Updated in {elapsed:.0f} ms on the server.", help="Time for this rerun.")


st.title("Latent Explorer")
entry = require_entry()
conditional_view.stop_if_conditional(entry, "the Latent Explorer")
intro = st.container()  # filled once the codes are loaded
left, right, third = st.columns([2, 2, 3], vertical_alignment="bottom")
background = left.checkbox(
    "Show decoded digits underneath",
    key="latent_background",
    help="Tile the plane with the digits its positions decode to: the learned manifold.",
    bind=links.BIND,
)
most = limits().manifold_digits
links.clamp_param("latent_background_size", 8, most)
digits = right.slider(
    "Digits per side", 8, most, min(16, most), key="latent_background_size",
    disabled=not background, bind=links.BIND,
)  # fmt: skip
background_digits = digits if background else 0
posteriors = third.checkbox(
    f"Show posteriors of {figure_cache.POSTERIOR_DIGITS} test digits",
    key="latent_posteriors",
    bind=links.BIND,
    help="The 1σ ellipse of q(z|x) for a fixed sample of test digits: overlapping clouds "
    "under a VAE, single points under an AE, prior-sized rings when the posterior collapsed.",
)
try:
    projection = cache.projection_for(entry)
    count = len(cache.encodings_for(entry).mu)
    (figure_cache.posterior_figure_for if posteriors else figure_cache.latent_figure_for)(
        entry, background_digits
    )  # built here, with its spinner
except (CheckpointError, DataError, OSError) as error:
    st.error(
        f"Could not load {entry.label} or its test set: {public_error(error)}. Pick another model."
    )
    st.stop()

intro.caption(
    f"Where {entry.label} puts the {count:,} test digits, one colour per class. Click a "
    "digit, or anywhere in the plane, to decode it."
)
if note := latent_scatter.projection_note(projection):
    intro.info(note)
if (linked := links.linked_click(cache.projected_codes_for(entry))) is not None:
    st.session_state[CLICK_KEY] = (entry.key, linked)
with st.expander("How clicking works"):
    st.markdown(HOW_CLICKING_WORKS)
explorer(entry, background_digits, posteriors)
vq_view.show_digit_code_map(entry)  # VQ-VAE only: its grid of codebook indices
labels = cache.test_set(entry.config.dataset).labels.numpy()
download_button(
    "Download the latent codes (CSV)",
    partial(codes_csv, cache.encodings_for(entry).mu, labels),
    file_name("latent_codes", "csv", entry.config),
    key="latent_codes_csv",
)
show_code("latent_scatter", entry.key)  # outside the fragment: a click need not resend it
