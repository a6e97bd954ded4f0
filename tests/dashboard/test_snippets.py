"""Every "Python" expander's code runs as printed and gives the figure or images it promises."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.snippets import SNIPPETS, config_arguments, render
from jlml_core.config import TrainConfig
from jlml_core.store.checkpoints import CheckpointStore

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def vae_key(app_env: Path) -> str:
    return next(e.key for e in CheckpointStore(app_env).entries() if e.config.kind == "vae")


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_runs_and_gives_its_result(name: str, vae_key: str, tmp_path: Path) -> None:
    # The training snippet saves its model: into this test's folder, not the shared tiny cache.
    values = {"store": repr(str(tmp_path))} if name == "train" else {}
    code = render(name, vae_key, **values)
    namespace: dict = {}
    exec(compile(code, f"<snippet {name}>", "exec"), namespace)  # noqa: S102 - our own code
    result = namespace[SNIPPETS[name].result]
    if isinstance(result, go.Figure):
        assert result.data, f"{name} drew an empty figure"
    elif isinstance(result, str):  # a picture: a standalone SVG with its images inline
        picture = ElementTree.fromstring(result)
        assert picture.tag == f"{SVG}svg" and picture.find(f".//{SVG}image") is not None
    elif isinstance(result, list):  # a table: one dict per row
        assert result and all(isinstance(row, dict) and row for row in result)
    else:
        images = np.asarray(result)
        assert images.ndim in (2, 3) and images.size > 0
        assert np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0


def test_snippet_takes_the_pages_choices(vae_key: str) -> None:
    code = render("prior_samples", vae_key, count=9, seed=4, temperature=0.5, columns=3)
    assert "sample_prior(9, model.latent_dim, seed=4, temperature=0.5)" in code
    assert f'find_entry("{vae_key}")' in code
    with pytest.raises(KeyError, match="unknown snippet field"):
        render("prior_samples", vae_key, colour="red")


def test_the_training_snippet_saves_a_model_that_loads(vae_key: str, tmp_path: Path) -> None:
    code = render("train", vae_key, store=repr(str(tmp_path)))
    exec(compile(code, "<snippet train>", "exec"), {})  # noqa: S102 - our own code
    (entry,) = CheckpointStore(tmp_path).entries()
    assert (entry.config.latent_dim, entry.config.epochs) == (2, 1)


def test_config_arguments_name_only_what_differs_from_the_defaults() -> None:
    config = TrainConfig(latent_dim=3, epochs=1)
    arguments = config_arguments(config)
    assert arguments == "latent_dim=3, epochs=1" or set(arguments.split(", ")) == {
        "latent_dim=3",
        "epochs=1",
    }
    assert eval(f"TrainConfig({arguments})") == config  # noqa: S307 - our own text
    assert config_arguments(TrainConfig()) == ""
