"""The conditional VAE (Sohn et al. 2015): the one-hot label joins the latent heads' input and
the decoder's, for every registered architecture; its ELBO is the VAE's with the label as input;
unconditional models are exactly what they were."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import distributions as dist
from torch.nn import functional as F

from jlml_core.config import NUM_CLASSES, TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.nn.models import build_model, class_labels, is_conditional
from jlml_core.store import checkpoints, test_codes
from jlml_core.store.model_cache import zoo_dir
from jlml_core.store.zoo import ZOO
from jlml_core.training.objective import compute_loss

ARCHS = ["dense", "cnn_shallow", "cnn_deep"]
BATCH = 6


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 1, 28, 28, generator=generator)
    return x, torch.tensor([0, 3, 9, 3, 7, 1])


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_the_label_joins_the_heads_and_the_decoder(kind: str, arch: str) -> None:
    model = build_model(TrainConfig(kind=kind, arch=arch, latent_dim=3, conditional=True)).eval()
    x, y = _batch()
    assert model.conditional and model.num_classes == NUM_CLASSES
    assert model.to_mu.in_features == model.encoder(x).shape[1] + NUM_CLASSES
    output = model(x, labels=y)
    assert output.logits.shape == (BATCH, 1, 28, 28) and output.mu.shape == (BATCH, 3)
    # The heads see [features, one-hot]: recomputed by hand from the encoder's features.
    joined = torch.cat([model.encoder(x), F.one_hot(y, NUM_CLASSES).float()], dim=1)
    torch.testing.assert_close(output.mu, model.to_mu(joined))
    # The decoder sees [z, one-hot]: the same code under another label decodes differently.
    z = output.mu
    torch.testing.assert_close(
        model.decode(z, y), model.decoder(torch.cat([z, F.one_hot(y, 10).float()], 1))
    )
    assert not torch.allclose(model.decode(z, y), model.decode(z, (y + 1) % 10))


@pytest.mark.parametrize("call", ["forward", "encode", "decode"])
def test_a_conditional_model_without_labels_says_so(call: str) -> None:
    model = build_model(TrainConfig(arch="dense", hidden_dim=16, conditional=True))
    x, _ = _batch()
    with pytest.raises(ValueError, match="conditional: pass the class labels"):
        if call == "forward":
            model(x)
        elif call == "encode":
            model.encode(x)
        else:
            model.decode(torch.zeros(BATCH, 2))


def test_an_unconditional_model_refuses_labels_and_wrong_counts_are_caught() -> None:
    plain = build_model(TrainConfig(arch="dense", hidden_dim=16))
    x, y = _batch()
    with pytest.raises(ValueError, match="not conditional"):
        plain(x, labels=y)
    conditional = build_model(TrainConfig(arch="dense", hidden_dim=16, conditional=True))
    with pytest.raises(ValueError, match="5 labels for 6"):
        conditional(x, labels=y[:5])
    assert not is_conditional(plain) and is_conditional(conditional)
    assert class_labels(plain, None, 4) is None
    assert class_labels(conditional, 7, 4).tolist() == [7, 7, 7, 7]  # one label for all


def test_cvae_negative_elbo_is_the_vae_formula_with_the_label_as_input() -> None:
    """-ELBO = -log Bernoulli(x | decoder([z, y])) + KL(N(mu, sigma^2) || N(0, I)), where
    (mu, log sigma^2) come from the heads on [encoder(x), y]: built from torch.distributions."""
    config = TrainConfig(arch="cnn_shallow", hidden_dim=16, conditional=True, loss_reduction="sum")
    model = build_model(config).train()
    x, y = _batch()
    x = (x > 0.5).float()  # binary pixels: Bernoulli's log-probability is defined
    output = model(x, torch.Generator().manual_seed(3), labels=y)
    terms = compute_loss(output, x, config)

    one_hot = F.one_hot(y, NUM_CLASSES).float()
    features = torch.cat([model.encoder(x), one_hot], dim=1)
    mu, logvar = model.to_mu(features), model.to_logvar(features)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(3))
    z = mu + torch.exp(0.5 * logvar) * eps
    logits = model.decoder(torch.cat([z, one_hot], dim=1))
    log_px = dist.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)  # (B,)
    posterior = dist.Normal(mu, torch.exp(0.5 * logvar))
    prior = dist.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = dist.kl_divergence(posterior, prior).sum(1)  # (B,)
    torch.testing.assert_close(terms.reconstruction, -log_px.mean(), rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(terms.kl, kl.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(terms.total, (kl - log_px).mean(), rtol=1e-5, atol=1e-3)


def test_unconditional_models_keep_their_parameters_and_shipped_weights() -> None:
    """The conditional parts add nothing to other models: the same parameter names and shapes
    as before, so the shipped weights load strictly and reproduce their shipped codes."""
    config = ZOO["vae-cnn-z2"]
    model = build_model(config)
    test = load_split("mnist", "test").subset(200)
    assert model.num_classes == 0
    assert model.to_mu.in_features == model.encoder(_batch()[0]).shape[1]
    store = checkpoints.CheckpointStore(zoo_dir())
    if not store.contains(config):
        pytest.skip("the default zoo model is not in checkpoints/")
    folder = store.path_for(config)
    shipped = checkpoints.load_model(folder)  # a strict load_state_dict
    assert set(shipped.state_dict()) == set(model.state_dict())
    digest = test_codes.images_digest(load_split("mnist", "test").images)
    codes = test_codes.read_encoded_test_set(folder, digest)
    assert codes is not None
    mu = latent.encode_images(shipped, test.images).mu
    np.testing.assert_allclose(mu, codes.mu[:200], rtol=0, atol=1e-5)
