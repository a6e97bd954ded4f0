"""Your digit: draw or upload one; see it as MNIST would, encoded, decoded and in the plane."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from dashboard import cache, conditional_view, figure_cache
from dashboard.charts import show_chart
from dashboard.images import show_images
from dashboard.neighbours import show_nearest_test_digits
from dashboard.ood_view import show_where_it_falls
from dashboard.posterior_view import show_posterior
from dashboard.sidebar import require_entry
from dashboard.snippets import show_code
from jlml_core.data import DataError, digit_input
from jlml_core.figures import posterior_traces
from jlml_core.inference import latent, plane, reconstruction
from jlml_core.nn.losses import LOSS_LABELS
from jlml_core.store.checkpoints import CheckpointError, Entry

CANVAS_KEY = "your_digit_canvas"
UPLOAD_KEY = "your_digit_upload"
SOURCE_KEY = "your_digit_source"  # "draw" or "upload": whichever the user touched last
NEIGHBOURS = 8
HOW_IT_IS_PREPARED = """
MNIST's digits were scanned, then each one's ink was scaled to fit a **20 × 20** box (keeping
its shape, with anti-aliasing) and placed in a **28 × 28** field so that its **centre of
mass** sits in the middle. Your picture goes through the same steps: made greyscale (a
transparent background counts as white), inverted when its border is light (dark ink on
paper becomes MNIST's white ink on black), cropped to the ink (the border's own level and
noise count as background), scaled so the longer side is 20 px, and centred by its centre of
mass. The model only ever sees that small picture.
"""


def _use(source: str) -> None:
    """on_change of the canvas and the uploader: show whichever was touched last."""
    st.session_state[SOURCE_KEY] = source


def _picture(canvas, upload) -> np.ndarray | None:
    """The chosen picture as luminance (H, W); None when there is none yet.

    Raises:
        DigitInputError: for an upload that is not a usable image.
    """
    source = st.session_state.get(SOURCE_KEY, "draw")
    if source == "upload" and upload is not None:
        return digit_input.decode_upload(upload.getvalue())
    if canvas.image_data is not None:
        return digit_input.canvas_to_gray(canvas.image_data)
    return None


def _show_result(entry: Entry, image: np.ndarray) -> None:
    """The preprocessed digit, its reconstruction and loss, its place and its neighbours."""
    model = cache.model_for(entry)
    batch = torch.from_numpy(image)[None]  # (1, 28, 28) uint8
    encoding = latent.encode_images(model, batch)
    mu = encoding.mu[0]  # (D,)
    logvar = None if encoding.logvar is None else encoding.logvar[0]
    output = plane.image_output_for(entry.config.loss)
    decoded = latent.decode_points(model, mu[None], output)[0]
    loss = reconstruction.per_image_loss(model, batch, entry.config.loss)[0]

    left, right = st.columns([2, 3], gap="medium")
    with left, st.container(key="your_digit_result"):
        loss_name = LOSS_LABELS[entry.config.loss].nll
        show_images(
            [image / 255.0, decoded], ["your digit, as MNIST", "reconstruction"], 5,
            alts=["your digit, centred and scaled as MNIST",
                  f"its reconstruction by {entry.label}, {loss_name} {loss:.1f} nats"],
        )  # fmt: skip
        st.markdown(f"Reconstruction loss ({loss_name}): **{loss:.1f}** nats")
        if logvar is None:
            st.caption("An autoencoder encodes a digit to one point: there is no posterior.")
        else:
            show_posterior(entry, mu, logvar)
        show_code("your_digit", entry.key)
    with right:
        projection = cache.projection_for(entry)
        overlay = posterior_traces.posterior_traces(mu, logvar, projection)
        x, y = projection.project(mu[None])[0]
        show_chart(
            posterior_traces.with_traces(figure_cache.latent_figure_for(entry), overlay),
            name="your_digit_latent",
            model=entry.config,
            key="your_digit_scatter",
            config={"scrollZoom": True, "displaylogo": False},
            alt=f"Scatter of the test digits' codes under {entry.label}, coloured by class, "
            f"with a star at your digit's code ({x:.2f}, {y:.2f})",
        )
        st.caption(f"★ marks your digit at ({x:.2f}, {y:.2f}) among the test digits.")
    show_nearest_test_digits(entry, mu, NEIGHBOURS, "**Nearest test digits** (by their codes)")
    show_where_it_falls(entry, batch)


st.title("Your digit")
entry = require_entry()
st.caption(
    f"Draw a digit with the mouse, or upload a picture of one, and see what {entry.label} "
    "makes of it: the digit as MNIST would have it, its reconstruction, and where it lands "
    "among the test digits."
)
draw, upload_column, explain = st.columns([4, 3, 3], gap="medium")
with draw:
    st.markdown("**Draw**")  # short: the canvas's toolbar floats over this line's right end
    canvas = st_canvas(
        stroke_width=18, stroke_color="#000000", background_color="#ffffff",
        height=280, width=280, drawing_mode="freedraw", return_image_data=True,
        key=CANVAS_KEY, on_change=partial(_use, "draw"),
    )  # fmt: skip
    st.caption("Draw a digit with the mouse; it updates when you let go. The bin clears it.")
with upload_column:
    upload = st.file_uploader(
        f"**Or upload a picture** (at most {digit_input.MAX_UPLOAD_BYTES // 1_000_000} MB)",
        key=UPLOAD_KEY, on_change=partial(_use, "upload"),
        max_upload_size=digit_input.MAX_UPLOAD_BYTES // 1_000_000,
        help="PNG, JPEG, GIF, BMP or WebP of one digit; dark on light or light on dark.",
    )  # fmt: skip
with explain, st.expander("How your picture is prepared", expanded=False):
    st.markdown(HOW_IT_IS_PREPARED)

try:
    picture = _picture(canvas, upload)
    digit = None if picture is None else digit_input.mnist_style(picture)
except digit_input.EmptyPictureError as empty:
    st.info(str(empty))
    st.stop()
except digit_input.DigitInputError as problem:
    st.error(str(problem), icon=":material/error:")
    st.stop()
if digit is None:
    st.info("Draw a digit in the box, or upload a picture of one.")
    st.stop()
if entry.config.conditional:  # your drawing's style under every label (stops the page)
    conditional_view.show_your_digit(entry, digit)
try:
    _show_result(entry, digit)
except (CheckpointError, DataError, OSError) as error:
    st.error(f"Could not load {entry.label} or its test set: {error}. Pick another model.")
