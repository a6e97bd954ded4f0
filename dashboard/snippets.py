""" "Python" expanders: the few lines of `jlml_core` that reproduce a page's main figure.

Each snippet is a template filled with the shown model's key and the page's current choices, so
a student can paste it into a notebook and get the same picture. `tests/test_snippets.py`
executes every one of them against a real model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import streamlit as st

_LOAD = """\
from jlml_core.data import load_split
from jlml_core.store import checkpoints, model_cache

entry = model_cache.find_entry("{key}")  # the model shown on the page
model = checkpoints.load_model(entry.path)
test = load_split(entry.config.dataset, "test")
"""


@dataclass(frozen=True)
class Snippet:
    """Code that reproduces one figure.

    Attributes:
        code: the template; `{key}` is the model's config key, other fields come from `params`.
        result: the variable that holds the figure or images when the code has run.
        params: the template's other fields and their defaults.
    """

    code: str
    result: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, key: str, **values: Any) -> str:
        """The code for model `key` with `values` (unknown names are errors)."""
        unknown = set(values) - set(self.params)
        if unknown:
            raise KeyError(f"unknown snippet field(s): {', '.join(sorted(unknown))}")
        return self.code.format(key=key, **{**self.params, **values})


SNIPPETS: dict[str, Snippet] = {
    "latent_scatter": Snippet(
        _LOAD
        + """from jlml_core.figures import latent_scatter
from jlml_core.inference import latent, plane

codes = latent.encode_images(model, test.images).mu  # (N, D) posterior means
projection = latent.fit_projection(codes)  # PCA to a plane; the identity for D = 2
points = projection.project(codes)  # (N, 2)
x_range, y_range = plane.plane_extent(points)
figure = latent_scatter.latent_scatter(
    points, test.labels.numpy(), test.class_names, x_range, y_range
)
# figure.show()
""",
        "figure",
    ),
    "decode_position": Snippet(
        _LOAD
        + """from jlml_core.inference import latent, plane

projection = latent.fit_projection(latent.encode_images(model, test.images).mu)
code, image = plane.decode_position(model, projection, x={x}, y={y})
# image: (28, 28) in [0, 1]; plt.imshow(image, cmap="gray_r")
""",
        "image",
        {"x": 0.0, "y": 0.0},
    ),
    "reconstructions": Snippet(
        _LOAD
        + """from jlml_core.inference import latent, reconstruction

rows = {rows}
images = test.images[rows]  # uint8 (N, 28, 28)
decoded = latent.reconstruct(model, images)  # (N, 28, 28) in [0, 1]
losses = reconstruction.per_image_loss(model, images, entry.config.loss)  # nats per image
""",
        "decoded",
        {"rows": [0, 1, 2, 3, 4, 5, 6, 7]},
    ),
    "prior_samples": Snippet(
        _LOAD
        + """from jlml_core.inference import latent

z = latent.sample_prior({count}, model.latent_dim, seed={seed}, temperature={temperature})
images = latent.decode_points(model, z)  # ({count}, 28, 28) in [0, 1]
mosaic = latent.tile(images, columns={columns})
""",
        "mosaic",
        {"count": 64, "seed": 0, "temperature": 1.0, "columns": 8},
    ),
    "interpolation": Snippet(
        _LOAD
        + """from jlml_core.inference import latent

codes = latent.encode_images(model, test.images[[{start}, {end}]]).mu  # (2, D)
path = latent.interpolate(codes[0], codes[1], steps={steps}, method="{method}")
strip = latent.tile(latent.decode_points(model, path), columns={steps})
""",
        "strip",
        {"start": 0, "end": 1, "steps": 10, "method": "linear"},
    ),
    "training_curves": Snippet(
        _LOAD
        + """from jlml_core.figures import loss_curves

history = checkpoints.read_history(entry.path)  # one record per epoch
figure = loss_curves.training_curves_figure({{entry.label: history}})
""",
        "figure",
    ),
    "architecture": Snippet(
        _LOAD
        + """from jlml_core.figures import diagram

config = entry.config
stages = diagram.architecture_stages(
    config.arch, config.latent_dim, config.hidden_dim, tuple(model.image_shape)
)
figure = diagram.autoencoder_diagram(stages, config.latent_dim, config.is_variational)
""",
        "figure",
    ),
    "your_digit": Snippet(
        _LOAD
        + """import io

import torch
from PIL import Image

from jlml_core.data import digit_input
from jlml_core.inference import latent, reconstruction

# Stand-in for your picture: test digit 0 drawn dark on light, as on paper.
buffer = io.BytesIO()
Image.fromarray(255 - test.images[0].numpy()).resize((224, 224)).save(buffer, "PNG")
png = buffer.getvalue()  # or: open("my_digit.png", "rb").read()
image = digit_input.mnist_style(digit_input.decode_upload(png))  # (28, 28) uint8, as MNIST
batch = torch.from_numpy(image)[None]
decoded = latent.reconstruct(model, batch)[0]  # (28, 28) in [0, 1]
loss = reconstruction.per_image_loss(model, batch, entry.config.loss)[0]  # nats
""",
        "decoded",
    ),
    "posterior_panel": Snippet(
        _LOAD
        + """from jlml_core.figures import posterior_picture
from jlml_core.inference import latent, plane, posterior

encoding = latent.encode_images(model, test.images[[{row}]])  # a VAE's q(z|x) of digit {row}
mu, logvar = encoding.mu[0], encoding.logvar[0]
projection = latent.fit_projection(latent.encode_images(model, test.images).mu)
samples = posterior.sample_posterior(mu, logvar, 8, seed=0)  # (8, D)
output = plane.image_output_for(entry.config.loss)  # what the page shows
decoded = latent.decode_points(model, samples, output)  # (8, 28, 28)
picture = posterior_picture.posterior_svg(mu, logvar, projection, samples, decoded)
kl = posterior.kl_to_prior(mu, logvar)  # nats
# from IPython.display import SVG; SVG(picture)
""",
        "picture",
        {"row": 0},
    ),
    "likelihood_scores": Snippet(
        _LOAD
        + """from jlml_core.analysis import likelihood as lc

outputs = lc.outputs_for(entry.config.loss)  # λ, and the mean for a continuous Bernoulli
errors = lc.shown_image_errors(model, test.images, outputs)
table = lc.scores_table(lc.shown_scores(entry, errors))  # one row per way of showing
# import pandas as pd; pd.DataFrame(table)
""",
        "table",
    ),
    "latent_replay": Snippet(
        _LOAD
        + """from jlml_core.figures import replay

history = checkpoints.read_latent_history(entry.path)  # codes recorded while it trained
plane = replay.replay_plane(history)
figure = replay.snapshot_figure(history, plane, {index}, test.class_names)
# animation = replay.history_animation(history, test.class_names)
""",
        "figure",
        {"index": -1},
    ),
    "loss_curves": Snippet(
        """from jlml_core.figures import loss_curves

# BCE and continuous-Bernoulli loss of each pixel value x against the prediction
figure = loss_curves.loss_curves_figure({pixels})
""",
        "figure",
        {"pixels": [0.0, 0.5, 1.0]},
    ),
    "train": Snippet(
        """from jlml_core.config import TrainConfig
from jlml_core.figures import loss_curves
from jlml_core.store import checkpoints, model_cache
from jlml_core.training.train import fit

config = TrainConfig({arguments})
result = fit(config)  # result.model, result.history, result.metrics
checkpoints.CheckpointStore({store}).save(config, result)
figure = loss_curves.training_curves_figure({{"new model": result.history}})
""",
        "figure",
        {
            "arguments": "latent_dim=2, hidden_dim=64, epochs=1, train_subset=1000",
            "store": "model_cache.default_cache_dir()",
        },
    ),
}


def config_arguments(config: Any) -> str:
    """A dataclass config's fields that differ from their defaults, as keyword arguments."""
    defaults = type(config)()
    return ", ".join(
        f"{f.name}={getattr(config, f.name)!r}"
        for f in fields(config)
        if getattr(config, f.name) != getattr(defaults, f.name)
    )


def render(name: str, key: str, **values: Any) -> str:
    """The code of snippet `name` for model `key`."""
    return SNIPPETS[name].render(key, **values)


def show_code(name: str, key: str, **values: Any) -> None:
    """A collapsed "Python" expander with the code that reproduces a figure.

    Lazy: the code is rendered and sent only while the expander is open (opening it reruns the
    page). Sent closed, as before, every page's first open loaded the browser's syntax
    highlighter (1.5 MB of JavaScript, ~0.4 s of a 2-core machine's main thread) for code
    nobody had asked to see, and each Latent Explorer click re-sent it.
    """
    expander = st.expander(
        "Python", icon=":material/code:", key=f"code_{name}_{key}", on_change="rerun"
    )
    if expander.open:
        # The note is the code's first line, not a caption of its own: one element fewer to send.
        code = render(name, key, **values)
        expander.code(
            f"# The same figure from your own Python (e.g. a notebook)\n{code}", language="python"
        )
