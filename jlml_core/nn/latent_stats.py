"""How much a VAE's code carries, measured over a data set: KL per dimension, active units and
the mutual information I(x; z) between an image and its code.

These are the three numbers posterior-collapse reports ask for. They live here (L1, beside the
losses) so that training can record them after every epoch and the analysis layer can compute
them for any model, with one implementation.

References:
    Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", sec. 5.2
    (active units: Cov_x(E_q(z|x)[z_d]) > 0.01).
    Hoffman & Johnson (2016), "ELBO surgery"; He et al. (2019), "Lagging Inference Networks
    and Posterior Collapse in Variational Autoencoders", sec. 4.1 and their ``calc_mi``
    (I(x; z) = E_x E_q(z|x)[log q(z|x)] - E_q(z)[log q(z)], q(z) the aggregate posterior).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from jlml_core.nn.losses import kl_per_dimension

ACTIVE_THRESHOLD = 0.01  # Burda et al.'s variance threshold, in squared prior units
# Samples scored per I(x; z) estimate after each training epoch: 2,000 x 10,000 pairs take
# ~1 s on one loaded core, where all 10,000 took 5-10 s.
MI_SAMPLES = 2000
_LOG_2PI = math.log(2.0 * math.pi)


def mean_kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """Each latent dimension's KL(q(z_d|x) || N(0, 1)), averaged over the images: (D,).

    Args:
        mu: posterior means, (N, D).
        logvar: posterior log-variances, (N, D).
    """
    return kl_per_dimension(mu.double(), logvar.double()).mean(dim=0)  # (D,)


def code_variance(mu: Tensor) -> Tensor:
    """Variance over the images of each dimension's posterior mean, Cov_x(E_q[z_d]): (D,).

    The population variance (divided by N), as `analysis.metrics.code_spread` squares it.
    """
    return mu.double().var(dim=0, unbiased=False)  # (D,)


def active_dimensions(mu: Tensor, threshold: float = ACTIVE_THRESHOLD) -> Tensor:
    """Which dimensions are active (Burda et al. 2016): (D,) bool.

    A dimension whose posterior mean hardly moves with x tells the decoder nothing about x:
    its posterior has collapsed onto one place, usually the prior.
    """
    return code_variance(mu) > threshold


def log_aggregate_posterior(z: Tensor, mu: Tensor, logvar: Tensor, chunk: int = 1024) -> Tensor:
    """log q(z) for each row of `z` under q(z) = (1/N) sum_i q(z | x_i): (M,) float64.

    The M x N table of log N(z_m; mu_i, diag(sigma_i^2)) comes from two matrix products (the
    square in the exponent expanded), `chunk` rows of z at a time (memory: chunk x N float64).
    The expansion cancels: z^2 / sigma^2 can be 1e12 for a sharp posterior far out, so it runs
    in float64 (float32 lost thousands of nats on such a case).

    Args:
        z: codes to score, (M, D).
        mu: the N posteriors' means, (N, D).
        logvar: their log-variances, (N, D).
        chunk: rows of z per step.
    """
    z, mu, logvar = z.double(), mu.double(), logvar.double()
    precision = torch.exp(-logvar)  # (N, D)
    # log N(z; mu_i, s_i) = -1/2 [sum_d z^2 p - 2 z mu p + mu^2 p + logvar + log 2pi]
    constant = -0.5 * (mu.square() * precision + logvar + _LOG_2PI).sum(dim=1)  # (N,)
    scaled_mu = mu * precision  # (N, D)
    out = []
    for start in range(0, len(z), chunk):
        part = z[start : start + chunk]  # (C, D)
        log_densities = torch.addmm(constant, part, scaled_mu.T)  # (C, N)
        log_densities.addmm_(part.square(), precision.T, alpha=-0.5)
        out.append(torch.logsumexp(log_densities, dim=1) - math.log(len(mu)))  # (C,)
    return torch.cat(out)  # (M,)


def mutual_information(mu: Tensor, logvar: Tensor, z: Tensor, samples: int | None = None) -> float:
    """The aggregate-posterior estimate of I(x; z) in nats (He et al. 2019, ``calc_mi``).

    I(x; z) = E_x E_q(z|x)[log q(z|x)] - E_q(z)[log q(z)]. The first term is the Gaussian
    posteriors' negative entropy, exact; the second scores one sample z_i ~ q(z|x_i) per image
    under the mixture of all N posteriors. The estimate is at most log N (a code can tell N
    images apart, no more), so on 10,000 test images it saturates near 9.2 nats.

    Args:
        mu: posterior means, (N, D).
        logvar: posterior log-variances, (N, D).
        z: one posterior sample per image, (N, D) (the same rows as `mu`).
        samples: score only the first `samples` rows of z (each still against all N
            posteriors): the cost is samples x N, and 2,000 of 10,000 keep the Monte Carlo
            error near 0.05 nats. None: all.

    Returns:
        The estimate; 0 up to Monte Carlo error when every posterior is the same.
    """
    logvar = logvar.double()
    negative_entropy = (-0.5 * (_LOG_2PI + 1.0 + logvar)).sum(dim=1).mean()  # E_x E_q log q(z|x)
    return float(negative_entropy - log_aggregate_posterior(z[:samples], mu, logvar).mean())


def collapse_numbers(
    mu: Tensor, logvar: Tensor, z: Tensor, samples: int | None = MI_SAMPLES
) -> dict[str, object]:
    """The three posterior-collapse numbers of a data set's posteriors, as `EvalResult` names
    them: ``kl_per_dim`` (tuple, nats), ``active_units`` (int), ``mutual_information`` (nats).

    Args:
        mu: posterior means, (N, D).
        logvar: posterior log-variances, (N, D).
        z: one posterior sample per image, (N, D).
        samples: rows of z the mutual information scores (`mutual_information`).
    """
    return {
        "kl_per_dim": tuple(mean_kl_per_dimension(mu, logvar).tolist()),
        "active_units": int(active_dimensions(mu).sum()),
        "mutual_information": mutual_information(mu, logvar, z, samples),
    }
