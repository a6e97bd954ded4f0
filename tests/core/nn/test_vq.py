"""Tests for nn.vq (VQ-VAE): the quantiser against brute force, straight-through gradients, the
VQ loss terms against their formulas, dead-code restarts, and a short real-MNIST training."""

from __future__ import annotations

import pytest
import torch

from jlml_core.config import ConfigError, TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.nn import losses
from jlml_core.nn.models import build_model
from jlml_core.nn.vq import DEAD_AFTER_STEPS, VQVAE, Codebook, VQOutput, nearest_codes, quantize
from jlml_core.store.checkpoints import CheckpointStore, load_model
from jlml_core.training.objective import compute_loss, evaluate
from jlml_core.training.train import fit

VQ = TrainConfig(kind="vq", latent_dim=4, codebook_size=16, seed=3)


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dim", [1, 3, 16])
def test_nearest_codes_match_brute_force(dim: int) -> None:
    vectors = torch.randn(300, dim, generator=_generator(1))
    codebook = torch.randn(40, dim, generator=_generator(2))
    # Reference: every distance written out, the smallest taken.
    brute = torch.stack([((codebook - v) ** 2).sum(dim=1).argmin() for v in vectors])
    assert torch.equal(nearest_codes(vectors, codebook), brute)


def test_nearest_codes_tie_goes_to_lowest_index() -> None:
    codebook = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])
    assert nearest_codes(torch.tensor([[0.0, 0.0], [2.0, 0.0]]), codebook).tolist() == [0, 0]


def test_quantize_returns_the_codes_and_their_indices() -> None:
    z_e = torch.randn(2, 3, 5, 4, generator=_generator(3))  # (B, D, h, w)
    codebook = torch.randn(10, 3, generator=_generator(4))
    out = quantize(z_e, codebook)
    assert out.indices.shape == (2, 5, 4)
    # Each position's vector of z_q is exactly its code.
    expected = codebook[out.indices].permute(0, 3, 1, 2)  # (B, D, h, w)
    assert torch.allclose(out.z_q, expected, atol=1e-6)


def test_straight_through_gradient_is_the_identity() -> None:
    z_e = torch.randn(2, 3, 4, 4, generator=_generator(5), requires_grad=True)
    codebook = torch.randn(8, 3, generator=_generator(6), requires_grad=True)
    weights = torch.randn(2, 3, 4, 4, generator=_generator(7))
    (quantize(z_e, codebook).z_q * weights).sum().backward()
    # d/dz_e of sum(w * z_q) is w: the decoder's gradient passes the argmin unchanged...
    assert torch.equal(z_e.grad, weights)
    # ...and none of it reaches the codebook through z_q (only the codebook loss moves it).
    assert codebook.grad is None or torch.count_nonzero(codebook.grad) == 0


def test_vq_terms_match_their_formulas() -> None:
    z_e = torch.randn(3, 2, 4, 4, generator=_generator(8), requires_grad=True)
    codebook = torch.randn(6, 2, generator=_generator(9), requires_grad=True)
    out = quantize(z_e, codebook)
    chosen = codebook.detach()[out.indices].permute(0, 3, 1, 2)
    expected = ((z_e.detach() - chosen) ** 2).sum() / 3  # per image, summed over the grid
    assert torch.allclose(out.commitment_loss, expected)
    assert torch.allclose(out.codebook_loss, expected)
    # The commitment term moves only the encoder, the codebook term only the codebook:
    # d/dz_e ||z_e - sg[e]||^2 / B = 2 (z_e - e) / B.
    out.commitment_loss.backward(retain_graph=True)
    assert torch.allclose(z_e.grad, 2 * (z_e.detach() - chosen) / 3, atol=1e-6)
    assert codebook.grad is None
    out.codebook_loss.backward()
    assert codebook.grad is not None and torch.count_nonzero(codebook.grad) > 0


def test_compute_loss_adds_the_weighted_commitment_term() -> None:
    model = build_model(VQ.replace(commitment_weight=0.5))
    x = torch.rand(4, 1, 28, 28, generator=_generator(10))
    output = model(x)
    assert isinstance(output, VQOutput)
    terms = compute_loss(output, x, VQ.replace(commitment_weight=0.5))
    reconstruction = losses.reconstruction_loss("bce", output.logits, x)
    assert torch.allclose(terms.reconstruction, reconstruction)
    # The EMA moves the codebook: only the weighted commitment term joins the objective.
    expected = reconstruction + 0.5 * output.commitment_loss
    assert torch.allclose(terms.total, expected)
    assert float(terms.kl) == 0.0


def test_vq_model_keeps_the_autoencoder_interface() -> None:
    model = build_model(VQ).eval()
    assert isinstance(model, VQVAE) and not model.variational
    x = torch.rand(5, 1, 28, 28, generator=_generator(11))
    mu, logvar = model.encode(x)
    assert logvar is None and mu.shape == (5, 4 * 7 * 7) == (5, model.latent_dim)
    output = model(x)
    # decode() snaps a flattened grid to the codebook: decoding z_e gives the reconstruction.
    assert torch.allclose(model.decode(mu), output.logits, atol=1e-5)
    assert torch.allclose(model.decode(output.z), output.logits, atol=1e-5)
    assert torch.equal(model.code_indices(x), output.indices)
    assert torch.allclose(model.decode_indices(output.indices), output.logits, atol=1e-5)


def test_build_model_is_seeded() -> None:
    first, again = build_model(VQ), build_model(VQ)
    other = build_model(VQ.replace(seed=4))
    assert torch.equal(first.codebook.vectors, again.codebook.vectors)
    assert not torch.equal(first.codebook.vectors, other.codebook.vectors)


def test_dead_codes_restart_on_batch_encodings() -> None:
    codebook = Codebook(4, 2)
    codebook.steps_unused.zero_()
    codebook.steps_unused[:] = torch.tensor([0, DEAD_AFTER_STEPS, 3, DEAD_AFTER_STEPS + 7])
    rows = torch.tensor([[5.0, 5.0], [6.0, 6.0], [7.0, 7.0]])
    before = codebook.vectors.detach().clone()
    assert codebook.restart_dead(rows, _generator(12)) == 2
    after = codebook.vectors.detach()
    assert torch.equal(after[[0, 2]], before[[0, 2]])
    for k in (1, 3):
        assert any(torch.equal(after[k], row) for row in rows)
    assert codebook.steps_unused.tolist() == [0, 0, 3, 0]
    codebook.update(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([2, 2]))
    assert codebook.steps_unused.tolist() == [1, 1, 0, 1]


def test_ema_update_moves_a_code_to_its_encodings_mean() -> None:
    codebook = Codebook(3, 2)
    codebook.steps_unused.zero_()
    encodings = torch.tensor([[1.0, 2.0], [3.0, 6.0]])  # both choose code 1: mean (2, 4)
    for _ in range(2000):  # 0.99 ** 2000 ~ 2e-9 of the start is left
        codebook.update(encodings, torch.tensor([1, 1]))
    assert torch.allclose(codebook.vectors[1], torch.tensor([2.0, 4.0]), atol=1e-3)
    # Reference: one step by hand from counts/sums, with Laplace smoothing (Sonnet's formula).
    counts, sums = codebook.counts.clone(), codebook.sums.clone()
    codebook.update(torch.tensor([[10.0, 0.0]]), torch.tensor([0]))
    counts = 0.99 * counts + 0.01 * torch.tensor([1.0, 0.0, 0.0])
    sums = 0.99 * sums + 0.01 * torch.tensor([[10.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    total = counts.sum()
    smoothed = (counts + 1e-5) / (total + 3e-5) * total
    assert torch.allclose(codebook.vectors, sums / smoothed.unsqueeze(1))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"codebook_size": 0}, "codebook_size"),
        ({"arch": "dense"}, "arch"),
        ({"commitment_weight": -1.0}, "commitment_weight"),
    ],
)
def test_impossible_vq_configs_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"^{field}"):
        VQ.replace(**changes)


def test_short_mnist_training_learns_and_round_trips(tmp_path) -> None:
    config = TrainConfig(
        kind="vq", latent_dim=8, codebook_size=32, epochs=2, train_subset=3000, seed=1
    )
    test = load_split("mnist", "test").subset(500)
    result = fit(config, test=test, record_latents=False)
    untrained = evaluate(build_model(config), test, config)
    trained = evaluate(result.model, test, config)
    # Far below an untrained model's ~545 nats of BCE (real digits, 2 epochs of 3,000).
    assert trained.reconstruction < 0.5 * untrained.reconstruction
    assert trained.neg_elbo is None  # no prior, no ELBO (docs/families/vq.md)
    folder = CheckpointStore(tmp_path).save(config, result)
    loaded = load_model(folder)
    assert isinstance(loaded, VQVAE)
    x = torch.rand(3, 1, 28, 28, generator=_generator(13))
    assert torch.equal(loaded.codebook.vectors, result.model.codebook.vectors)
    assert torch.equal(loaded(x).indices, result.model(x).indices)
    assert torch.allclose(loaded(x).logits, result.model(x).logits, atol=1e-5)
