"""Every "Python" expander's code runs as printed and gives the figure or images it promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.snippets import SNIPPETS, render
from jlml_core.checkpoints import CheckpointStore


@pytest.fixture
def vae_key(app_env: Path) -> str:
    return next(e.key for e in CheckpointStore(app_env).entries() if e.config.kind == "vae")


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_runs_and_gives_its_result(name: str, vae_key: str) -> None:
    code = render(name, vae_key)
    namespace: dict = {}
    exec(compile(code, f"<snippet {name}>", "exec"), namespace)  # noqa: S102 - our own code
    result = namespace[SNIPPETS[name].result]
    if isinstance(result, go.Figure):
        assert result.data, f"{name} drew an empty figure"
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
