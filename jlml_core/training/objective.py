"""The training objective as configured (`compute_loss`) and its value on a test set
(`evaluate`), shared by single-process training, data-parallel training, calibration and the
latent-space recordings.

`compute_loss` is the loss the optimiser sees when given the training progress (KL warm-up and
free bits shape it then) and the plain weighted loss otherwise; `evaluate` reports test-set
terms per image in nats.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from jlml_core.config import TrainConfig
from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.data.datasets import ImageDataset
from jlml_core.nn import latent_stats, losses
from jlml_core.nn.models import Autoencoder, ModelOutput
from jlml_core.training.history import EvalResult


class LossTerms(NamedTuple):
    """Batch-mean loss terms in the units the optimiser sees."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def to_fp32(output: ModelOutput) -> ModelOutput:
    """The model's outputs in fp32 (bf16 under autocast), so the loss is summed in fp32.

    fp32 tensors are returned as they are: the fp32 path is unchanged.
    """
    # type(output): a VQ-VAE's `VQOutput` has more fields; its int64 indices stay integers.
    return type(output)(
        *(t if t is None or not t.is_floating_point() else t.float() for t in output)
    )


def kl_scale(config: TrainConfig, epochs_done: float) -> float:
    """KL warm-up: the share of `kl_weight` in force after `epochs_done` (fractional) epochs.

    Rises linearly from 0 to 1 over `config.kl_warmup_epochs` (Bowman et al. 2016, "Generating
    Sentences from a Continuous Space"); 1 throughout without warm-up.
    """
    if config.kl_warmup_epochs <= 0:
        return 1.0
    return min(1.0, max(0.0, epochs_done) / config.kl_warmup_epochs)


def compute_loss(
    output: ModelOutput,
    x: torch.Tensor,
    config: TrainConfig,
    *,
    epochs_done: float | None = None,
) -> LossTerms:
    """Weighted reconstruction + KL, as the config asks.

    With ``loss_reduction="sum"`` the terms are per-image sums (the negative ELBO when both
    weights are 1); with "mean" they are averaged over pixels and latent dimensions, as the
    original project did.

    Args:
        output: the model's forward pass.
        x: the clean images the output is scored against.
        config: loss choice and weights.
        epochs_done: training progress in (fractional) epochs when this is the training
            objective: KL warm-up (`kl_scale`) and free bits then shape the `total` the
            optimiser sees. None (evaluation, reporting): the plain weighted loss. The `kl`
            term is the model's true KL either way.
    """
    if config.linear:
        reconstruction = losses.squared_error(output.logits, x)
    else:
        reconstruction = losses.reconstruction_loss(config.loss, output.logits, x)
    if output.logvar is not None:
        kl = losses.kl_standard_normal(output.mu, output.logvar)
    else:
        kl = reconstruction.new_zeros(())
    objective_kl = kl
    if epochs_done is not None and output.logvar is not None:
        if config.free_bits > 0:
            objective_kl = losses.free_bits_kl(output.mu, output.logvar, config.free_bits)
        if config.kl_warmup_epochs > 0:
            objective_kl = objective_kl * kl_scale(config, epochs_done)
    if config.loss_reduction == "mean":
        reconstruction = reconstruction / x[0].numel()
        kl = kl / output.mu.shape[1]
        objective_kl = objective_kl / output.mu.shape[1]
    total = config.reconstruction_weight * reconstruction + config.kl_weight * objective_kl
    # --- VQ-VAE (issue #18, family 4): van den Oord et al. (2017), eq. 3, with the EMA
    # codebook (its appendix A.1), so only the commitment term reaches the objective.
    if config.kind == "vq":
        grid_size = output.mu.shape[1] if config.loss_reduction == "mean" else 1
        total = total + config.commitment_weight * output.commitment_loss / grid_size
    # --- end VQ-VAE -------------------------------------------------------------------------
    return LossTerms(total, reconstruction, kl)


@torch.no_grad()
def evaluate(
    model: Autoencoder,
    dataset: ImageDataset,
    config: TrainConfig,
    batch_size: int = 1000,
    seed: int = 0,
) -> EvalResult:
    """Test-set loss terms per image, in nats, and for a VAE the posterior-collapse numbers.

    `reconstruction` and `loss` decode the posterior mean (the reconstruction a user sees);
    `neg_elbo` decodes one z ~ q(z|x) per image, an unbiased estimate of the negative ELBO
    (decoding the mean instead would not be a bound on -log p(x)); the same samples give
    I(x; z) beside the KL per dimension and active units (`latent_stats.collapse_numbers`).

    Args:
        model: the trained model (switched to eval mode here).
        dataset: images to evaluate on.
        config: the model's config (loss choice and weights).
        batch_size: images per forward pass; does not change the result.
        seed: seeds the posterior samples, so the estimate is repeatable.
    """
    model.eval()
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    summed_config = config.replace(loss_reduction="sum")
    # All noise drawn up front from a local generator: the estimate does not depend on the
    # batch size, and training's random stream is left alone.
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((len(dataset), model.latent_dim), generator=generator)  # (N, D)
    sums = torch.zeros(4, dtype=torch.float64)
    posteriors: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (mu, logvar, z)
    for start in range(0, len(dataset), batch_size):
        x = prepare_batch(dataset.images[start : start + batch_size], device, channels_last)
        # eval mode: decodes the posterior mean (a conditional model's given the image's label)
        y = dataset.labels[start : start + batch_size].to(device) if config.conditional else None
        at_mean = model(x) if y is None else model(x, labels=y)
        mu, logvar = at_mean.mu, at_mean.logvar
        terms = compute_loss(at_mean, x, summed_config)
        loss = compute_loss(at_mean, x, config).total
        logits = at_mean.logits
        if logvar is not None:
            eps = noise[start : start + len(x)].to(device=device, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps  # (B, D)
            logits = model.decode(z) if y is None else model.decode(z, y)
            posteriors.append((mu.float().cpu(), logvar.float().cpu(), z.float().cpu()))
        nll = -losses.log_likelihood(config.loss, logits, x).mean()
        values = torch.stack([terms.reconstruction, terms.kl, nll + terms.kl, loss])
        sums += values.double().cpu() * len(x)
    reconstruction, kl, neg_elbo, loss = (sums / len(dataset)).tolist()
    if not posteriors:
        return EvalResult(reconstruction, kl, None, loss)
    mu, logvar, z = (torch.cat(parts) for parts in zip(*posteriors, strict=True))  # (N, D) each
    return EvalResult(
        reconstruction, kl, neg_elbo, loss, **latent_stats.collapse_numbers(mu, logvar, z)
    )
