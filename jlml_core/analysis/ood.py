"""Out-of-distribution scores: how unlike its training data a model finds an image.

A digit model should give MNIST's test digits a low score and Fashion-MNIST's clothes a high
one. The score is what the model itself measures: the negative ELBO for a VAE (an upper bound
on -log p(x), Kingma & Welling 2014), the reconstruction loss for an autoencoder, both in
nats under the model's own likelihood. How well the score separates the two sets is the ROC
AUC, computed from ranks (the Mann-Whitney U statistic), so no thresholds are chosen.

A known caveat, measured in docs/families/ood.md: likelihood models can give *higher*
likelihood to simpler images from another dataset (Nalisnick et al. 2019, "Do deep generative
models know what they don't know?"); MNIST against Fashion-MNIST is the easy direction.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from jlml_core.config import TrainConfig
from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.inference import reconstruction
from jlml_core.nn import losses
from jlml_core.nn.models import Autoencoder

# The shipped dataset each shipped dataset is scored against.
OTHER_DATASET = {"mnist": "fashion-mnist", "fashion-mnist": "mnist"}


class OODScores(NamedTuple):
    """Scores of a model's own test split and another dataset's, and how well they separate.

    Attributes:
        inside: scores of the in-distribution images (the model's test split), (N,).
        outside: scores of the other dataset's test images, (M,).
        auc: ROC AUC of "score above a threshold means outside": 1 separates perfectly,
            0.5 is chance.
        score_name: what the score is ("negative ELBO" or "reconstruction loss").
    """

    inside: np.ndarray
    outside: np.ndarray
    auc: float
    score_name: str


def supports_ood(config: TrainConfig) -> str | None:
    """None when a model can be scored here, else one sentence saying why it cannot."""
    if config.conditional:
        return "A conditional model needs each image's class, which an unknown image lacks."
    if config.kind not in ("ae", "vae"):
        return f"Scores are defined here for an AE or a VAE, not kind {config.kind!r}."
    if config.dataset not in OTHER_DATASET:
        return "Scores compare a shipped dataset with the other one; this model's is custom."
    return None


def score_name(config: TrainConfig) -> str:
    """What `ood_scores` computes for this model."""
    return "negative ELBO" if config.is_variational else "reconstruction loss"


@torch.inference_mode()
def ood_scores(
    model: Autoencoder,
    images: torch.Tensor,
    config: TrainConfig,
    *,
    samples: int = 4,
    seed: int = 0,
    batch_size: int = 1000,
) -> np.ndarray:
    """Each image's out-of-distribution score under a model, in nats: (N,).

    For a VAE, the negative ELBO: KL(q(z|x) || N(0, I)) in closed form plus -log p(x|z)
    averaged over `samples` draws z ~ q(z|x) (the noise comes from its own seeded generator,
    so the scores repeat). For an autoencoder, the reconstruction loss of the decoded code.

    Args:
        model: a trained AE or VAE (not conditional).
        images: (N, H, W) uint8 images.
        config: the model's config (its likelihood).
        samples: posterior draws per image for the VAE's expected log-likelihood.
        seed: seeds those draws.
        batch_size: images per forward pass; does not change the result.
    """
    if not config.is_variational:
        return reconstruction.per_image_loss(model, images, config.loss, batch_size).astype(
            np.float64
        )
    model.eval()
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((samples, len(images), model.latent_dim), generator=generator)
    scores = []
    for start in range(0, len(images), batch_size):
        x = prepare_batch(images[start : start + batch_size], device, channels_last)
        mu, logvar = model.encode(x)  # (B, D) each
        kl = losses.kl_standard_normal(mu, logvar, reduction="none")  # (B,)
        nll = torch.zeros_like(kl)
        for draw in noise[:, start : start + len(x)]:  # (B, D) per draw
            z = mu + torch.exp(0.5 * logvar) * draw.to(device=device, dtype=mu.dtype)
            nll -= losses.log_likelihood(config.loss, model.decode(z), x) / samples
        scores.append((nll + kl).double().cpu())
    return torch.cat(scores).numpy() if scores else np.zeros(0)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of `values`, ties sharing their average rank: (N,)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    # Start and end (exclusive) of each run of equal values in sorted order.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0  # the mean of ranks start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(inside: np.ndarray, outside: np.ndarray) -> float:
    """ROC AUC of telling `outside` from `inside` by a higher score, from ranks.

    Equals P(a random outside score > a random inside score) + P(tie) / 2, the Mann-Whitney
    U statistic over n_in * n_out (Hanley & McNeil 1982).

    Raises:
        ValueError: if either set is empty or a score is not finite.
    """
    inside, outside = np.asarray(inside, np.float64), np.asarray(outside, np.float64)
    if len(inside) == 0 or len(outside) == 0:
        raise ValueError("ROC AUC needs at least one score on each side.")
    pooled = np.concatenate([inside, outside])
    if not np.all(np.isfinite(pooled)):
        raise ValueError("ROC AUC needs finite scores.")
    ranks = _average_ranks(pooled)
    n_out = len(outside)
    u = ranks[len(inside) :].sum() - n_out * (n_out + 1) / 2.0
    return float(u / (len(inside) * n_out))


def share_below(score: float, scores: np.ndarray) -> float:
    """The share of `scores` below `score` (ties count half): 0.97 = higher than 97 %."""
    scores = np.asarray(scores)
    return float(((scores < score).sum() + 0.5 * (scores == score).sum()) / len(scores))


def ood_evaluation(
    model: Autoencoder,
    config: TrainConfig,
    inside: torch.Tensor,
    outside: torch.Tensor,
    *,
    samples: int = 4,
    seed: int = 0,
) -> OODScores:
    """Score both image sets under a model and the ROC AUC between them.

    Args:
        model: a trained AE or VAE (`supports_ood` says which can be scored).
        config: its config.
        inside: (N, H, W) uint8 images like its training data (its test split).
        outside: (M, H, W) uint8 images of another dataset.
        samples: posterior draws per image for a VAE.
        seed: seeds those draws.
    """
    inside_scores = ood_scores(model, inside, config, samples=samples, seed=seed)
    outside_scores = ood_scores(model, outside, config, samples=samples, seed=seed + 1)
    auc = roc_auc(inside_scores, outside_scores)
    return OODScores(inside_scores, outside_scores, auc, score_name(config))
