"""Tests for the training objectives of issue #18 in training.train: KL warm-up, free bits,
denoising inputs and the linear autoencoder's loss."""

from __future__ import annotations

import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.nn import losses
from jlml_core.nn.models import ModelOutput, build_model
from jlml_core.training import train as train_module
from jlml_core.training.objective import compute_loss, evaluate, kl_scale
from jlml_core.training.train import fit

CPU = torch.device("cpu")


def _output(latent_dim: int = 4) -> tuple[ModelOutput, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 1, 28, 28, generator=generator)
    mu = torch.randn(6, latent_dim, generator=generator) * 0.1
    logvar = torch.randn(6, latent_dim, generator=generator) * 0.1
    x = torch.rand(6, 1, 28, 28, generator=generator)
    return ModelOutput(logits, mu, logvar, mu), x


@pytest.mark.parametrize(("done", "scale"), [(0.0, 0.0), (0.5, 0.25), (2.0, 1.0), (9.0, 1.0)])
def test_kl_warm_up_rises_linearly_over_its_epochs(done: float, scale: float) -> None:
    assert kl_scale(TrainConfig(kl_warmup_epochs=2.0), done) == pytest.approx(scale)
    assert kl_scale(TrainConfig(), done) == 1.0


def test_warm_up_and_free_bits_shape_the_objective_not_the_reported_kl() -> None:
    output, x = _output()
    plain = compute_loss(output, x, TrainConfig())
    warm = compute_loss(output, x, TrainConfig(kl_warmup_epochs=4.0), epochs_done=1.0)
    assert warm.kl == plain.kl  # the model's true KL, as evaluation reports it
    assert warm.total.item() == pytest.approx((plain.reconstruction + 0.25 * plain.kl).item())
    freed = compute_loss(output, x, TrainConfig(free_bits=1.0), epochs_done=3.0)
    # Every dimension's KL is far below 1 nat here, so each costs exactly the floor.
    assert freed.total.item() == pytest.approx(plain.reconstruction.item() + 4 * 1.0)
    # Outside training (epochs_done=None) the loss is the plain one.
    reported = compute_loss(output, x, TrainConfig(free_bits=1.0, kl_warmup_epochs=4.0))
    assert reported.total.item() == pytest.approx(plain.total.item())


def test_linear_model_is_scored_on_its_raw_pixel_values_and_decodes_clipped() -> None:
    config = TrainConfig(kind="ae", arch="dense", loss="mse", linear=True, latent_dim=3)
    model = build_model(config).eval()
    assert not any(isinstance(m, torch.nn.ReLU) for m in model.modules())
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    output = model(x)
    values = model.decoder[:-1](model.encode(x)[0])
    torch.testing.assert_close(output.logits, values)  # no sigmoid, no clipping
    expected = losses.squared_error(values, x)
    torch.testing.assert_close(compute_loss(output, x, config).reconstruction, expected)
    # What the pages show: sigmoid of decode()'s logits is the value clipped to [0, 1].
    shown = torch.sigmoid(model.decode(model.encode(x)[0]))
    torch.testing.assert_close(shown, values.clamp(0, 1), atol=2e-6, rtol=0)


@pytest.fixture(scope="module")
def small_mnist():
    return load_split("mnist", "train").subset(2000), load_split("mnist", "test").subset(200)


def test_denoising_training_corrupts_the_input_and_scores_the_clean_image(
    small_mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    real_corrupt = train_module.corrupt

    def spy(x, noise_std, mask_fraction, generator):
        corrupted = real_corrupt(x, noise_std, mask_fraction, generator)
        seen.append((x, corrupted))
        return corrupted

    monkeypatch.setattr(train_module, "corrupt", spy)
    train, test = small_mnist
    config = TrainConfig(
        arch="dense",
        hidden_dim=32,
        epochs=1,
        noise_std=0.5,
        mask_fraction=0.2,
        batch_size=500,
        train_subset=1000,
    )
    result = fit(config, train, test, device=CPU, record_latents=False)
    assert len(seen) == 2
    clean, corrupted = seen[0]
    assert not torch.equal(clean, corrupted) and corrupted.eq(0).float().mean() > 0.2
    assert result.metrics["test_neg_elbo"] < 550


@pytest.mark.parametrize(
    "changes", [{"kl_warmup_epochs": 1.0}, {"free_bits": 0.25}, {"noise_std": 0.3}]
)
def test_each_option_changes_the_trained_weights_and_is_repeatable(small_mnist, changes) -> None:
    train, test = small_mnist
    base = TrainConfig(arch="dense", hidden_dim=32, epochs=1, batch_size=200, train_subset=1000)
    plain = fit(base, train, test, device=CPU, record_latents=False).model
    first = fit(base.replace(**changes), train, test, device=CPU, record_latents=False).model
    again = fit(base.replace(**changes), train, test, device=CPU, record_latents=False).model
    weights = [torch.cat([p.flatten() for p in m.parameters()]) for m in (plain, first, again)]
    assert not torch.equal(weights[0], weights[1])
    assert torch.equal(weights[1], weights[2])


def test_linear_autoencoder_trains_towards_pca(small_mnist) -> None:
    train, test = small_mnist
    config = TrainConfig(
        kind="ae",
        arch="dense",
        loss="mse",
        linear=True,
        latent_dim=2,
        epochs=5,
        batch_size=100,
        learning_rate=3e-2,
    )
    before = evaluate(build_model(config), test, config).reconstruction
    after = fit(config, train, test, device=CPU, record_latents=False).metrics
    # Better than the best constant picture (the mean training image): the code carries
    # what PCA's first two components do (the closed-form comparison: analysis/linear).
    pixels = lambda d: d.images.float().div(255).flatten(1)  # noqa: E731
    mean_image_error = (pixels(test) - pixels(train).mean(0)).square().sum(1).mean().item()
    assert after["test_reconstruction"] < mean_image_error < 0.3 * before
