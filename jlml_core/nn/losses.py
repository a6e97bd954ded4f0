"""Reconstruction losses, the continuous Bernoulli and the Gaussian KL term.

Decoders output logits of shape (B, 1, H, W); targets ``x`` are floats in [0, 1] of the same shape.
Every function is a pure tensor function. Per-image values are sums over pixels (or latent dims),
and ``reduction`` turns the (B,) per-image sums into a batch value: ``"mean"`` averages them,
``"sum"`` adds them, ``"none"`` returns them.

References:
    Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR, Appendix B (Gaussian KL).
    Loaiza-Ganem & Cunningham (2019), "The continuous Bernoulli: fixing a pervasive error in
    variational autoencoders", NeurIPS (normaliser and mean of the continuous Bernoulli).
"""

import math
from collections.abc import Callable
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from jlml_core.config import ReconstructionLoss

# The config names the loss; the functions here take the same names.
Reconstruction = ReconstructionLoss
Reduction = Literal["mean", "sum", "none"]


class LossLabels(NamedTuple):
    """How the pages name a reconstruction loss.

    Attributes:
        short: where room is tight, e.g. under a 112-px image ("CB").
        nll: a per-image loss value in nats ("Reconstruction loss (CB NLL): 97.3 nats").
        description: in help texts ("continuous Bernoulli").
        likelihood: the model a loss is the likelihood of, in the Loss Comparison's tables and
            verdict ("Gaussian (MSE)").
    """

    short: str
    nll: str
    description: str
    likelihood: str


# Every reconstruction loss, in the order the pages offer them: BCE, its fix, then MSE.
LOSS_LABELS: dict[Reconstruction, LossLabels] = {
    "bce": LossLabels("BCE", "BCE", "binary cross-entropy", "BCE"),
    "cb": LossLabels("CB", "CB NLL", "continuous Bernoulli", "continuous Bernoulli"),
    "mse": LossLabels("MSE", "MSE", "squared error (a Gaussian likelihood)", "Gaussian (MSE)"),
}

_REDUCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "mean": torch.mean,
    "sum": torch.sum,
    "none": lambda per_image: per_image,
}

# Inside |logits| < _TAYLOR_WINDOW (i.e. |lambda - 1/2| < 0.062) the closed forms of the
# continuous Bernoulli are 0/0 at logits = 0 and lose float32 precision through cancellation,
# so we use their Taylor series in the logits there. With four terms the truncation error at the
# window's edge is 2e-9 for log C and 4e-11 for the mean, far below float32 resolution.
_TAYLOR_WINDOW = 0.5
# log C = log 2 + eta^2/12 - 7 eta^4/1440 + 31 eta^6/90720 - 127 eta^8/4838400 + O(eta^10)
_LOG_NORMALIZER_SERIES = (1 / 12, -7 / 1440, 31 / 90720, -127 / 4838400)
# mean = 1/2 + eta/12 - eta^3/720 + eta^5/30240 - eta^7/1209600 + O(eta^9)
_MEAN_SERIES = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600)


def _reduce(per_element: Tensor, reduction: Reduction) -> Tensor:
    """Sum over every non-batch dim, then reduce the (B,) per-image sums over the batch."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {sorted(_REDUCTIONS)}, got {reduction!r}")
    per_image = per_element.flatten(start_dim=1).sum(dim=1)  # (B,)
    return _REDUCTIONS[reduction](per_image)


def _even_series(eta_squared: Tensor, coefficients: tuple[float, ...]) -> Tensor:
    """Evaluate ``sum_k c_k * eta^(2k)`` for k = 0, 1, ... by Horner's rule."""
    result = torch.full_like(eta_squared, coefficients[-1])
    for coefficient in reversed(coefficients[:-1]):
        result = result * eta_squared + coefficient
    return result


def bce(logits: Tensor, x: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Binary cross-entropy between Bernoulli(sigmoid(logits)) and targets, summed per image.

    Computed from logits (log-sum-exp trick) so it stays finite for saturated outputs.

    Args:
        logits: Decoder logits, shape (B, ...).
        x: Targets in [0, 1], same shape as ``logits``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for shape (B,).

    Returns:
        The per-image sums reduced as requested.
    """
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")  # (B, ...)
    return _reduce(per_pixel, reduction)


def mse(logits: Tensor, x: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Squared error between ``sigmoid(logits)`` and targets, summed per image.

    Args:
        logits: Decoder logits, shape (B, ...).
        x: Targets in [0, 1], same shape as ``logits``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for shape (B,).

    Returns:
        The per-image sums reduced as requested.
    """
    per_pixel = (torch.sigmoid(logits) - x).square()  # (B, ...)
    return _reduce(per_pixel, reduction)


def squared_error(values: Tensor, x: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Squared error between pixel values (no sigmoid: a linear model's output) and targets,
    summed per image.

    Args:
        values: Predicted pixel values, shape (B, ...), any real numbers.
        x: Targets in [0, 1], same shape as ``values``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for shape (B,).
    """
    return _reduce((values - x).square(), reduction)


def cb_log_normalizer(logits: Tensor) -> Tensor:
    """Log normalising constant ``log C(lambda)`` of the continuous Bernoulli, elementwise.

    Loaiza-Ganem & Cunningham (2019): ``C(l) = 2 artanh(1 - 2l) / (1 - 2l)`` for
    ``l != 1/2`` and ``C(1/2) = 2``. With ``l = sigmoid(eta)`` we have ``2 artanh(1 - 2l) = -eta``
    and ``1 - 2l = -tanh(eta / 2)``, so ``C = eta / tanh(eta / 2)``: no ``log(l)`` or
    ``log(1 - l)`` that would overflow for saturated logits. Near ``eta = 0`` (0/0) a Taylor
    series in ``eta`` is used; in ``d = l - 1/2`` it reads
    ``log C = log 2 + 4/3 d^2 + 104/45 d^4 + O(d^6)``, the expansion that
    ``torch.distributions.ContinuousBernoulli`` uses for ``|d| < 0.001``.

    Values and gradients are finite for all finite logits, including 0 and +-100.

    Args:
        logits: Real-valued logits ``eta``, any shape.

    Returns:
        ``log C(sigmoid(logits))``, same shape and dtype as ``logits``.
    """
    in_window = logits.abs() < _TAYLOR_WINDOW
    # Both branches see safe inputs so that the unused one cannot send NaN gradients
    # through torch.where (0 * NaN = NaN in the backward pass).
    eta_exact = torch.where(in_window, torch.ones_like(logits), logits)
    eta_series = torch.where(in_window, logits, torch.zeros_like(logits))
    exact = torch.log(eta_exact / torch.tanh(eta_exact / 2))
    eta_squared = eta_series.square()
    series = math.log(2.0) + eta_squared * _even_series(eta_squared, _LOG_NORMALIZER_SERIES)
    return torch.where(in_window, series, exact)


def continuous_bernoulli_nll(logits: Tensor, x: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Negative log-likelihood of targets under the continuous Bernoulli, summed per image.

    Loaiza-Ganem & Cunningham (2019): ``p(x | l) = C(l) l^x (1 - l)^(1 - x)`` on [0, 1], so
    ``-log p = bce(logits, x) - log C(l)``. Unlike plain BCE this is a proper density for
    grey-level targets.

    Args:
        logits: Decoder logits, shape (B, ...).
        x: Targets in [0, 1], same shape as ``logits``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for shape (B,).

    Returns:
        The per-image sums reduced as requested.
    """
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    per_pixel = per_pixel - cb_log_normalizer(logits)  # (B, ...)
    return _reduce(per_pixel, reduction)


def cb_mean(logits: Tensor) -> Tensor:
    """Mean of the continuous Bernoulli with ``lambda = sigmoid(logits)``, elementwise.

    Loaiza-Ganem & Cunningham (2019): ``E[x] = l / (2l - 1) + 1 / (2 artanh(1 - 2l))``. In logits
    this is ``1/2 + 1 / (2 tanh(eta / 2)) - 1 / eta``. Near ``eta = 0`` a Taylor series is used;
    in ``d = l - 1/2`` it reads ``1/2 + d/3 + 16/45 d^3 + O(d^5)``. The mean, not ``lambda``, is
    what a decoded continuous-Bernoulli image looks like on average, so the dashboard shows it.

    Args:
        logits: Real-valued logits ``eta``, any shape.

    Returns:
        The mean, in (0, 1), same shape and dtype as ``logits``.
    """
    in_window = logits.abs() < _TAYLOR_WINDOW
    eta_exact = torch.where(in_window, torch.ones_like(logits), logits)
    eta_series = torch.where(in_window, logits, torch.zeros_like(logits))
    exact = 0.5 + 0.5 / torch.tanh(eta_exact / 2) - 1 / eta_exact
    series = 0.5 + eta_series * _even_series(eta_series.square(), _MEAN_SERIES)
    return torch.where(in_window, series, exact)


def kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL from ``N(mu, diag(exp(logvar)))`` to ``N(0, I)`` per image and latent dimension,
    shape (B, latent_dim) (Kingma & Welling 2014, Appendix B)."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp())


def free_bits_kl(mu: Tensor, logvar: Tensor, free_bits: float) -> Tensor:
    """The free-bits KL objective (Kingma et al. 2016, "Improved Variational Inference with
    Inverse Autoregressive Flow", eq. 15): each dimension's batch-mean KL, floored at
    ``free_bits`` nats, summed over dimensions. Below the floor a dimension's KL costs nothing,
    so the optimiser gains nothing by switching it off entirely.

    Returns:
        A scalar: the per-image objective, averaged over the batch.
    """
    per_dim = kl_per_dimension(mu, logvar).mean(dim=0)  # (latent_dim,)
    return per_dim.clamp(min=free_bits).sum()


def kl_standard_normal(mu: Tensor, logvar: Tensor, reduction: Reduction = "mean") -> Tensor:
    """KL divergence from ``N(mu, diag(exp(logvar)))`` to ``N(0, I)``, summed over latent dims.

    Kingma & Welling (2014), Appendix B: ``-1/2 * sum(1 + logvar - mu^2 - exp(logvar))``.

    Args:
        mu: Posterior means, shape (B, latent_dim).
        logvar: Posterior log-variances, same shape as ``mu``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for shape (B,).

    Returns:
        The per-image KL reduced as requested.
    """
    return _reduce(kl_per_dimension(mu, logvar), reduction)  # (B, latent_dim) summed


_RECONSTRUCTION_LOSSES: dict[str, Callable[[Tensor, Tensor, Reduction], Tensor]] = {
    "bce": bce,
    "mse": mse,
    "cb": continuous_bernoulli_nll,
}


def reconstruction_loss(
    name: Reconstruction, logits: Tensor, x: Tensor, reduction: Reduction = "mean"
) -> Tensor:
    """Reconstruction loss chosen by name: ``"bce"``, ``"mse"`` or ``"cb"``.

    Args:
        name: Which loss; see :func:`bce`, :func:`mse` and :func:`continuous_bernoulli_nll`.
        logits: Decoder logits, shape (B, ...).
        x: Targets in [0, 1], same shape as ``logits``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for shape (B,).

    Returns:
        The per-image losses reduced as requested.

    Raises:
        ValueError: If ``name`` is not a known reconstruction loss.
    """
    if name not in _RECONSTRUCTION_LOSSES:
        raise ValueError(
            f"reconstruction loss must be one of {sorted(_RECONSTRUCTION_LOSSES)}, got {name!r}"
        )
    return _RECONSTRUCTION_LOSSES[name](logits, x, reduction)


def _bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    return -bce(logits, x, reduction="none")


def _continuous_bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    return -continuous_bernoulli_nll(logits, x, reduction="none")


def _gaussian_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    # log N(x; m, 1/2) = -(x - m)^2 - log(pi) / 2 per pixel, so minimising sum-MSE with KL
    # weight 1 maximises exactly this model's ELBO.
    num_pixels = x[0].numel()
    return -mse(logits, x, reduction="none") - 0.5 * num_pixels * math.log(math.pi)


_LOG_LIKELIHOODS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "bce": _bernoulli_log_likelihood,
    "mse": _gaussian_log_likelihood,
    "cb": _continuous_bernoulli_log_likelihood,
}


def log_likelihood(name: Reconstruction, logits: Tensor, x: Tensor) -> Tensor:
    """Per-image ``log p(x | z)`` under the observation model that the named loss implies.

    * ``"bce"``: Bernoulli pixels, ``-bce``. A probability mass on {0, 1}^D; for grey-level
      targets it is not normalised (the error the continuous Bernoulli fixes).
    * ``"cb"``: continuous Bernoulli pixels, ``-continuous_bernoulli_nll``; a density on [0, 1]^D.
    * ``"mse"``: Gaussian pixels with mean ``sigmoid(logits)`` and variance 1/2, i.e.
      ``-sum (x - mean)^2 - (D / 2) log(pi)`` with D pixels; a density on R^D. Variance 1/2 is
      the one for which training with sum-MSE and KL weight 1 is exactly this Gaussian's ELBO.

    Args:
        name: Which observation model, as in :func:`reconstruction_loss`.
        logits: Decoder logits, shape (B, ...).
        x: Targets in [0, 1], same shape as ``logits``.

    Returns:
        Log-likelihoods in nats, shape (B,).

    Raises:
        ValueError: If ``name`` is not a known reconstruction loss.
    """
    if name not in _LOG_LIKELIHOODS:
        raise ValueError(
            f"reconstruction loss must be one of {sorted(_LOG_LIKELIHOODS)}, got {name!r}"
        )
    return _LOG_LIKELIHOODS[name](logits, x)
