"""The VQ-VAE's page sections (issue #18, family 4): code-index maps, codebook usage, and the
Generation page's plain word that a VQ-VAE has no prior to sample.

Each view calls one function here in a line or two; the numbers come from
`jlml_core.analysis.codebook`, the figures from `jlml_core.figures.codebook`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from jlml_core.analysis import codebook
from jlml_core.figures import codebook as codebook_figures
from jlml_core.inference import latent
from jlml_core.store.checkpoints import Entry

from . import cache
from .charts import show_chart
from .images import show_image
from .server import heavy_compute

# Code maps drawn side by side on Reconstructions; more would make each map unreadable.
MAX_MAPS = 10

NO_PRIOR = (
    "**{label} is a VQ-VAE: it has no prior to sample from.** Its code is a 7 × 7 grid of "
    "indices into a codebook of {size} vectors, and the training objective says nothing about "
    "which grids are likely. Van den Oord et al. (2017) sample by fitting a second model, a "
    "PixelCNN, over the index grids of the training set; this lab does not train one, so this "
    "page has nothing honest to show for this model. Its codes are on the **Reconstructions** "
    "and **Latent Explorer** pages; pick a VAE here to sample."
)


def is_vq(entry: Entry) -> bool:
    """True for a VQ-VAE's entry."""
    return entry.config.kind == "vq"


def stop_without_prior(entry: Entry) -> None:
    """On a sampling page: for a VQ-VAE, say plainly that it has no prior, and stop the page."""
    if is_vq(entry):
        st.info(NO_PRIOR.format(label=entry.label, size=entry.config.codebook_size))
        st.stop()


# Dashboard glue cached beside the sections that use it (cache.py keeps the shared caches);
# `_model` is not hashed: path and version name it.
@st.cache_data(show_spinner="Counting the codes of every test digit…", max_entries=16)
def _test_usage(
    path: str, version: float, dataset: str, _model: torch.nn.Module
) -> codebook.CodebookUsage:
    del path, version  # the cache key
    images = cache.test_set(dataset).images
    with heavy_compute():
        return codebook.codebook_usage(_model, images)


def usage_for(entry: Entry) -> codebook.CodebookUsage:
    """The entry's codebook usage over its whole test set (cached per model)."""
    model = cache.model_for(entry)
    version = cache.entry_version(entry.path)
    return _test_usage(str(entry.path), version, entry.config.dataset, model)


def show_codebook(entry: Entry) -> None:
    """Perplexity, used and dead codes, and the usage bar chart over the test set."""
    usage = usage_for(entry)
    size = entry.config.codebook_size
    left, middle, right = st.columns(3)
    left.metric(
        "Perplexity",
        f"{usage.perplexity:.1f}",
        help="exp of the entropy of the codes' usage: how many equally used codes it equals. "
        f"{size} would use every code equally; 1 would use one code everywhere.",
    )
    middle.metric("Codes used", f"{usage.used} of {size}")
    right.metric("Dead codes", usage.dead, help="Codes no position of any test digit chose.")
    figure = codebook_figures.codebook_usage_figure(usage.counts, usage.perplexity)
    show_chart(figure, name="codebook_usage", model=entry.config, key=f"vq_usage_{entry.key}")


def show_code_maps(entry: Entry, images: torch.Tensor, captions: list[str]) -> None:
    """Reconstructions: the shown digits' 7 × 7 code-index maps, then the codebook's usage.

    Args:
        entry: the VQ-VAE's entry (other kinds show nothing).
        images: uint8 (N, H, W), the digits shown above.
        captions: one title per digit.
    """
    if not is_vq(entry):
        return
    model = cache.model_for(entry)
    with heavy_compute():
        maps = codebook.code_index_maps(model, images[:MAX_MAPS])  # (N, 7, 7)
    st.markdown(f"**Codes — {entry.label}**")
    st.caption(
        "What the decoder was given for each digit above: a 7 × 7 grid, each cell one of "
        f"{entry.config.codebook_size} codebook vectors (its index in the cell; equal colours, "
        "equal codes). Background cells share a few codes; the strokes use the rest."
    )
    figure = codebook_figures.code_maps_figure(maps, captions[:MAX_MAPS])
    show_chart(figure, name="code_maps", model=entry.config, key=f"vq_maps_{entry.key}")
    show_codebook(entry)


def show_digit_code_map(entry: Entry) -> None:
    """Latent Explorer: one test digit's code map beside the digit and its reconstruction.

    The plane above is a PCA view of the encoder's grids (7 × 7 × D numbers); a clicked point
    decodes after each position snaps to its nearest code. This section shows the discrete
    code itself.
    """
    if not is_vq(entry):
        return
    st.subheader("The code: a grid of codebook indices")
    model = cache.model_for(entry)
    test = cache.test_set(entry.config.dataset)
    index = int(
        st.number_input("Test digit", 0, len(test) - 1, 0, key="vq_digit", help="Its index.")
    )
    images = test.images[index : index + 1]  # uint8 (1, H, W)
    with heavy_compute():
        maps = codebook.code_index_maps(model, images)  # (1, 7, 7)
        decoded = latent.decode_points(model, latent.encode_images(model, images).mu)
    original = images.numpy().astype(np.float32) / 255.0
    name = test.class_names[int(test.labels[index])]
    first, second, grid = st.columns([1, 1, 3], gap="small")
    with first:
        show_image(original[0], f"#{index} · {name}", alt=f"test digit #{index}, a {name}")
    with second:
        show_image(decoded[0], "decoded from its codes", alt=f"its reconstruction by {entry.label}")
    with grid:
        figure = codebook_figures.code_maps_figure(maps)
        show_chart(figure, name="code_map", model=entry.config, key=f"vq_map_{entry.key}")
    show_codebook(entry)


def kind_phrase(entry: Entry) -> str | None:
    """Home page: how a VQ-VAE is named in "A ... with a D-D code" (None for other kinds)."""
    if not is_vq(entry):
        return None
    return f"VQ-VAE (a 7 × 7 grid of codes, each one of {entry.config.codebook_size} vectors)"


def diagram_replaced(entry: Entry | None) -> bool:
    """Home page: for a VQ-VAE, say in words what the layer diagram (drawn for a dense code)
    would get wrong, and return True so the page draws none."""
    if entry is None or not is_vq(entry):
        return False
    size, dim = entry.config.codebook_size, entry.config.latent_dim
    st.info(
        f"**The layers of {entry.label}:** two stride-2 convolutions (32 and 64 channels) and a "
        f"1 × 1 convolution turn a 28 × 28 digit into a 7 × 7 grid of {dim}-D vectors; each is "
        f"replaced by the nearest of {size} codebook vectors; a 1 × 1 convolution and two "
        "transposed convolutions draw the digit back from that grid. (The layer diagram here "
        "draws models with one code vector, so it is not drawn for this one.)"
    )
    return True
