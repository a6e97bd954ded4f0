"""A drawing of an autoencoder, read off the real architecture rather than typed by hand.

`architecture_stages` builds the encoder and decoder a config would train, pushes one blank
image through them and records the shape after every dense or convolutional layer;
`autoencoder_diagram` draws those stages as a funnel that narrows to the code z and widens
again, with the mean, spread and sampling step of a VAE (Kingma & Welling 2014).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import plotly.graph_objects as go
import torch
from torch import nn

from jlml_core.nn.architectures import ImageShape, get_architecture
from jlml_core.nn.models import DEFAULT_IMAGE_SHAPE

StageKind = Literal["input", "conv", "deconv", "dense", "output"]

ENCODER_COLOR = "#3a7ca5"
DECODER_COLOR = "#d1762f"
LATENT_COLOR = "#7b4ea3"
IMAGE_COLOR = "#8c8c8c"


class Stage(NamedTuple):
    """One drawn layer: what it is and the shape of its output (no batch dimension)."""

    kind: StageKind
    shape: tuple[int, ...]

    @property
    def units(self) -> int:
        return math.prod(self.shape)

    @property
    def size_text(self) -> str:
        """E.g. "32×14×14" for a conv stage, "16" for a dense one, "28×28" for a grey image."""
        shape = self.shape[1:] if len(self.shape) == 3 and self.shape[0] == 1 else self.shape
        return "×".join(map(str, shape))


class Stages(NamedTuple):
    """The drawn layers of an encoder (input first) and a decoder (output last)."""

    encoder: list[Stage]
    decoder: list[Stage]


def _trace(module: nn.Module, x: torch.Tensor) -> list[Stage]:
    """Output shapes of every dense and (transposed) conv layer of `module` on input `x`."""
    found: list[Stage] = []

    def record(layer: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        kind = "dense" if isinstance(layer, nn.Linear) else "conv"
        if isinstance(layer, nn.ConvTranspose2d):
            kind = "deconv"
        found.append(Stage(kind, tuple(output.shape[1:])))

    layers = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
    hooks = [m.register_forward_hook(record) for m in module.modules() if isinstance(m, layers)]
    try:
        with torch.inference_mode():
            module.eval()(x)
    finally:
        for hook in hooks:
            hook.remove()
    return found


def architecture_stages(
    arch: str,
    latent_dim: int,
    hidden_dim: int | None = None,
    image_shape: ImageShape = DEFAULT_IMAGE_SHAPE,
) -> Stages:
    """The layers of a registered architecture, with their real output shapes.

    Args:
        arch: architecture name (e.g. "cnn_shallow").
        latent_dim: size of the code z.
        hidden_dim: width of the dense hidden layer; None takes the architecture's default.
        image_shape: (C, H, W) of the images.

    Raises:
        KeyError: for an unknown architecture.
    """
    architecture = get_architecture(arch)
    hidden_dim = hidden_dim or architecture.default_hidden_dim
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the RNG alone
        encoder, _ = architecture.build_encoder(image_shape, hidden_dim)
        decoder = architecture.build_decoder(image_shape, latent_dim, hidden_dim)
    encoder_stages = _trace(encoder, torch.zeros(1, *image_shape))  # (1, C, H, W) in
    decoder_stages = _trace(decoder, torch.zeros(1, latent_dim))  # (1, D) in
    if decoder_stages:  # the last layer's output is the image, whatever shape it had inside
        decoder_stages[-1] = Stage("output", tuple(image_shape))
    return Stages([Stage("input", tuple(image_shape)), *encoder_stages], decoder_stages)


def _height(units: int, most: int) -> float:
    """Drawn height grows with log(units) so a 2-unit code and 6,272 features both fit."""
    return 0.18 + 0.82 * math.log(max(units, 1) + 1) / math.log(most + 1)


def _box(figure: go.Figure, x: float, height: float, width: float, color: str, y: float = 0.0):
    figure.add_shape(
        type="rect",
        x0=x - width / 2,
        x1=x + width / 2,
        y0=y - height / 2,
        y1=y + height / 2,
        fillcolor=color,
        opacity=0.85,
        line=dict(color="white", width=1),
    )


def _funnel(figure: go.Figure, left: tuple[float, float], right: tuple[float, float], color: str):
    """A pale trapezoid from the right edge of one box (x, height) to the left edge of the next."""
    (x0, h0), (x1, h1) = left, right
    path = f"M {x0},{-h0 / 2} L {x1},{-h1 / 2} L {x1},{h1 / 2} L {x0},{h0 / 2} Z"
    figure.add_shape(type="path", path=path, fillcolor=color, opacity=0.15, line_width=0)


def _label(figure: go.Figure, x: float, y: float, text: str, size: int = 13, **kwargs):
    figure.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(size=size), **kwargs)


def autoencoder_diagram(stages: Stages, latent_dim: int, variational: bool) -> go.Figure:
    """The autoencoder as a funnel: input -> encoder -> z (mu, sigma, sampling) -> decoder.

    Args:
        stages: the layers, from `architecture_stages`.
        latent_dim: size of the code z.
        variational: draw the VAE's mean and spread heads and the sampling step.

    Returns:
        A static figure (no axes, no hover) about 320 px high.
    """
    most = max(s.units for s in [*stages.encoder, *stages.decoder])
    figure = go.Figure()
    columns: list[tuple[float, float, str]] = []  # (x, height, colour) for the funnels
    x = 0.0

    def draw(stage: Stage, color: str, name: str) -> None:
        nonlocal x
        height = _height(stage.units, most)
        if stage.kind in ("input", "output"):
            _box(figure, x, height, height * 0.5, IMAGE_COLOR)  # an image: drawn square-ish
        elif stage.kind in ("conv", "deconv"):
            for offset in (0.08, 0.04, 0.0):  # a stack of feature maps
                _box(figure, x + offset, height, 0.32, color, y=offset)
        else:
            _box(figure, x, height, 0.22, color)
        _label(figure, x, height / 2 + 0.12, f"<b>{name}</b>")
        _label(figure, x, -height / 2 - 0.12, stage.size_text, size=12)
        columns.append((x, height, color))
        x += 1.0

    for stage in stages.encoder:
        draw(stage, ENCODER_COLOR, "input" if stage.kind == "input" else stage.kind)
    encoder_end = x - 1.0
    code = Stage("dense", (latent_dim,))
    code_height = _height(latent_dim, most)
    if variational:
        for sign, name in ((1, "μ"), (-1, "σ")):  # two heads, drawn one above the other
            _box(figure, x, code_height, 0.22, LATENT_COLOR, y=sign * (code_height / 2 + 0.08))
            _label(figure, x + 0.22, sign * (code_height / 2 + 0.08), f"<b>{name}</b>")
        _label(figure, x, -code_height - 0.28, str(latent_dim), size=12)
        columns.append((x, 2 * code_height + 0.16, LATENT_COLOR))
        x += 1.0
        figure.add_trace(  # a marker, not a shape, so it stays round at any aspect ratio
            go.Scatter(
                x=[x],
                y=[0],
                mode="markers+text",
                text=["ε"],
                hoverinfo="skip",
                marker=dict(size=34, color="white", line=dict(color=LATENT_COLOR, width=2)),
                textfont=dict(size=15, color=LATENT_COLOR),
            )
        )
        _label(figure, x, 0.34, "sample<br>z = μ + σ·ε", size=12)
        _label(figure, x, -0.34, "ε ~ N(0, I)", size=12)
        columns.append((x, 0.34, LATENT_COLOR))
        x += 1.0
    draw(code, LATENT_COLOR, "z")
    decoder_start = x
    for stage in stages.decoder:
        draw(stage, DECODER_COLOR, "output" if stage.kind == "output" else stage.kind)

    for (x0, h0, c0), (x1, h1, _) in zip(columns, columns[1:], strict=False):
        _funnel(figure, (x0 + 0.17, h0), (x1 - 0.17, h1), c0)
    _label(figure, encoder_end / 2, 0.8, "encoder", size=14, font_color=ENCODER_COLOR)
    _label(figure, (decoder_start + x - 1) / 2, 0.8, "decoder", size=14, font_color=DECODER_COLOR)
    _label(
        figure,
        (encoder_end + decoder_start) / 2,
        -0.82,
        "latent space",
        size=14,
        font_color=LATENT_COLOR,
    )
    figure.update_xaxes(visible=False, range=[-0.6, x - 0.4], fixedrange=True)
    figure.update_yaxes(visible=False, range=[-0.92, 0.92], fixedrange=True)
    figure.update_layout(
        height=320,
        margin=dict(l=10, r=10, t=10, b=10),
        showlegend=False,
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        dragmode=False,
    )
    return figure
