"""Tests for figures.diagram: stages read off the real layers, and the figure drawn from them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from jlml_core.figures.diagram import Stage, Stages, architecture_stages, autoencoder_diagram
from jlml_core.nn.architectures import ARCHITECTURES, Architecture, register_architecture


def _texts(figure) -> list[str]:
    return [annotation.text for annotation in figure.layout.annotations]


def test_cnn_shallow_stages_match_its_layers() -> None:
    stages = architecture_stages("cnn_shallow", latent_dim=2)
    assert [s.size_text for s in stages.encoder] == ["28×28", "32×14×14", "64×7×7", "16"]
    assert [s.kind for s in stages.decoder] == ["dense", "deconv", "deconv", "output"]
    assert [s.size_text for s in stages.decoder] == ["1568", "64×14×14", "32×28×28", "28×28"]


@pytest.mark.parametrize("arch", ["dense", "cnn_shallow", "cnn_deep"])
@pytest.mark.parametrize("latent_dim", [1, 16])
def test_stages_start_and_end_with_the_image(arch: str, latent_dim: int) -> None:
    stages = architecture_stages(arch, latent_dim)
    assert stages.encoder[0] == Stage("input", (1, 28, 28))
    assert stages.decoder[-1] == Stage("output", (1, 28, 28))


def test_hidden_dim_and_image_shape_follow_the_arguments() -> None:
    stages = architecture_stages("dense", 4, hidden_dim=33, image_shape=(1, 12, 8))
    assert stages.encoder == [Stage("input", (1, 12, 8)), Stage("dense", (33,))]
    assert stages.decoder == [Stage("dense", (33,)), Stage("output", (1, 12, 8))]


def test_building_stages_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    architecture_stages("cnn_shallow", 2)
    assert torch.equal(torch.rand(3), expected)


def test_a_registered_user_architecture_is_drawn() -> None:
    def encoder(shape, hidden):
        return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 7)), 7

    def decoder(shape, latent, hidden):
        return nn.Sequential(nn.Linear(latent, 28 * 28), nn.Unflatten(1, shape))

    register_architecture(Architecture("tiny_test_arch", encoder, decoder, 7, "test only"))
    try:
        stages = architecture_stages("tiny_test_arch", 3)
    finally:
        del ARCHITECTURES["tiny_test_arch"]
    assert [s.size_text for s in stages.encoder] == ["28×28", "7"]


def test_unknown_architecture_raises_key_error() -> None:
    with pytest.raises(KeyError, match="Known architectures"):
        architecture_stages("no_such_arch", 2)


def test_vae_figure_shows_mu_sigma_and_sampling_an_ae_figure_does_not() -> None:
    stages = architecture_stages("cnn_shallow", 2)
    vae, ae = autoencoder_diagram(stages, 2, True), autoencoder_diagram(stages, 2, False)
    vae_text, ae_text = " ".join(_texts(vae)), " ".join(_texts(ae))
    for symbol in ("μ", "σ", "ε ~ N(0, I)"):
        assert symbol in vae_text and symbol not in ae_text
    for text in (ae_text, vae_text):
        assert "encoder" in text and "decoder" in text and "32×14×14" in text
    assert len(vae.layout.shapes) > len(ae.layout.shapes)


def test_figure_shows_the_latent_size_and_grows_with_depth() -> None:
    shallow = autoencoder_diagram(architecture_stages("dense", 7), 7, False)
    deep = autoencoder_diagram(architecture_stages("cnn_deep", 7), 7, False)
    assert "7" in _texts(shallow)
    assert len(deep.layout.shapes) > len(shallow.layout.shapes)
    assert shallow.layout.xaxis.visible is False and shallow.layout.height == 320


def test_stage_size_text() -> None:
    assert Stage("conv", (32, 14, 14)).size_text == "32×14×14"
    assert Stage("input", (3, 28, 28)).size_text == "3×28×28"
    assert Stage("dense", (16,)).units == 16
    assert Stages([], []).encoder == []
