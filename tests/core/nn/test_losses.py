"""Tests for nn.losses against independent references.

References: numerical integration of the unnormalised continuous-Bernoulli density, the paper's
closed forms, ``torch.distributions`` (ContinuousBernoulli, Normal, kl_divergence), Monte Carlo
estimates and hand computations.
"""

import math
from collections.abc import Callable
from typing import get_args

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import ContinuousBernoulli, Normal, kl_divergence

from jlml_core.config import ReconstructionLoss
from jlml_core.nn import losses
from jlml_core.nn.losses import (
    LOSS_LABELS,
    LossLabels,
    bce,
    cb_log_normalizer,
    cb_mean,
    continuous_bernoulli_nll,
    kl_standard_normal,
    log_likelihood,
    mse,
    reconstruction_loss,
)

DTYPES = [torch.float32, torch.float64]
# lambda = sigmoid(logits); 0.4999, 0.5 and 0.5001 fall inside the Taylor window.
LAMBDAS = [1e-4, 0.3, 0.4999, 0.5, 0.5001, 0.9, 0.9999]
EXTREME_LOGITS = [0.0, 1e-6, -1e-6, 30.0, -30.0, 100.0, -100.0]
RECONSTRUCTIONS = ["bce", "mse", "cb"]
REDUCTIONS = ["mean", "sum", "none"]


def _cb_nll_per_pixel(logits: Tensor) -> Tensor:
    """NLL of three fixed targets (0, 0.37, 1), one per row of ``logits`` (3, 1, 1, 1)."""
    x = torch.tensor([0.0, 0.37, 1.0], dtype=logits.dtype).view(3, 1, 1, 1)
    return continuous_bernoulli_nll(logits, x, reduction="none")


ELEMENTWISE_CB: dict[str, Callable[[Tensor], Tensor]] = {
    "log_normalizer": cb_log_normalizer,
    "mean": cb_mean,
    "nll": _cb_nll_per_pixel,
}


def _paper_log_normalizer(d: Tensor) -> Tensor:
    """log C as printed in Loaiza-Ganem & Cunningham (2019), with d = lambda - 1/2 != 0."""
    return torch.log(2 * torch.atanh(-2 * d) / (-2 * d))


def _paper_mean(d: Tensor) -> Tensor:
    """Mean as printed in Loaiza-Ganem & Cunningham (2019), with d = lambda - 1/2 != 0."""
    lam = 0.5 + d
    return lam / (2 * lam - 1) + 1 / (2 * torch.atanh(1 - 2 * lam))


# --- continuous Bernoulli: normaliser, mean, NLL --------------------------------------------------


def test_cb_log_normalizer_matches_numerical_integration() -> None:
    lam = torch.tensor(LAMBDAS, dtype=torch.float64)[:, None]  # (L, 1)
    x = torch.linspace(0, 1, 200_001, dtype=torch.float64)  # (N,)
    # Unnormalised density lambda^x (1 - lambda)^(1 - x), in logs to stay exact at 1e-4: (L, N)
    density = torch.exp(x * torch.log(lam) + (1 - x) * torch.log1p(-lam))
    expected = -torch.log(torch.trapezoid(density, x, dim=-1))  # (L,)
    actual = cb_log_normalizer(torch.logit(lam.squeeze(1)))
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["log_normalizer", "mean"])
def test_cb_matches_paper_closed_form_across_taylor_window(name: str) -> None:
    # Inside the window the implementation uses its series in logits; the paper's formula in
    # d = lambda - 1/2 is still accurate in float64 for |d| >= 1e-3.
    d = torch.linspace(1e-3, 0.1, 500, dtype=torch.float64)
    d = torch.cat([-d, d])
    paper = {"log_normalizer": _paper_log_normalizer, "mean": _paper_mean}[name]
    actual = ELEMENTWISE_CB[name](torch.logit(0.5 + d))
    torch.testing.assert_close(actual, paper(d), rtol=0, atol=1e-9)


def test_cb_taylor_coefficients_in_lambda() -> None:
    # log C = log 2 + 4/3 d^2 + 104/45 d^4 + O(d^6) and mean = 1/2 + d/3 + 16/45 d^3 + O(d^5),
    # read off the paper's closed forms; tolerances cover the next-order terms.
    small, medium = torch.tensor(1e-3, dtype=torch.float64), torch.tensor(1e-2, dtype=torch.float64)
    log2 = math.log(2)
    assert (_paper_log_normalizer(small) - log2) / small**2 == pytest.approx(4 / 3, rel=1e-5)
    residual = _paper_log_normalizer(medium) - log2 - 4 / 3 * medium**2
    assert residual / medium**4 == pytest.approx(104 / 45, rel=1e-3)
    assert (_paper_mean(small) - 0.5) / small == pytest.approx(1 / 3, rel=1e-5)
    residual = _paper_mean(medium) - 0.5 - medium / 3
    assert residual / medium**3 == pytest.approx(16 / 45, rel=1e-3)


@pytest.mark.parametrize("name", ["log_normalizer", "mean"])
def test_cb_float32_agrees_with_float64(name: str) -> None:
    logits = torch.linspace(-40, 40, 80_001, dtype=torch.float64)  # crosses the window edges
    function = ELEMENTWISE_CB[name]
    torch.testing.assert_close(
        function(logits.float()).double(), function(logits), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("name", ["log_normalizer", "mean"])
def test_cb_taylor_and_exact_branches_agree_at_window_edge(
    name: str, sign: float, dtype: torch.dtype
) -> None:
    edge = torch.tensor(sign * losses._TAYLOR_WINDOW, dtype=dtype)
    inside = torch.nextafter(edge, torch.zeros_like(edge)).requires_grad_()  # Taylor branch
    outside = edge.clone().requires_grad_()  # exact branch
    value_inside, value_outside = ELEMENTWISE_CB[name](inside), ELEMENTWISE_CB[name](outside)
    (grad_inside,) = torch.autograd.grad(value_inside, inside)
    (grad_outside,) = torch.autograd.grad(value_outside, outside)
    value_tol, grad_tol = (1e-6, 1e-5) if dtype == torch.float32 else (1e-8, 1e-7)
    assert abs(value_inside.item() - value_outside.item()) < value_tol
    assert abs(grad_inside.item() - grad_outside.item()) < grad_tol


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", EXTREME_LOGITS)
@pytest.mark.parametrize("name", list(ELEMENTWISE_CB))
def test_cb_values_and_gradients_are_finite(name: str, value: float, dtype: torch.dtype) -> None:
    logits = torch.full((3, 1, 1, 1), value, dtype=dtype, requires_grad=True)
    output = ELEMENTWISE_CB[name](logits)
    (grad,) = torch.autograd.grad(output.sum(), logits)
    assert torch.isfinite(output).all()
    assert torch.isfinite(grad).all()


def test_cb_gradients_match_finite_differences() -> None:
    # Points on both sides of the window, away from its edge where the finite difference would
    # straddle the two branches.
    logits = torch.tensor(
        [-30.0, -3.0, -0.4, -1e-3, 0.0, 0.2, 0.7, 5.0], dtype=torch.float64, requires_grad=True
    )
    assert torch.autograd.gradcheck(cb_log_normalizer, (logits,))
    assert torch.autograd.gradcheck(cb_mean, (logits,))


def test_cb_values_at_lambda_one_half() -> None:
    zero = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    log_normalizer, mean = cb_log_normalizer(zero), cb_mean(zero)
    assert log_normalizer.item() == math.log(2)  # C(1/2) = 2
    assert mean.item() == 0.5
    # log C is even in the logits, so its slope at 0 vanishes; the mean's slope is 1/12.
    assert torch.autograd.grad(log_normalizer.sum(), zero)[0].item() == 0.0
    assert torch.autograd.grad(mean.sum(), zero)[0].item() == pytest.approx(1 / 12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_continuous_bernoulli_nll_matches_torch_away_from_one_half(dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    magnitude = 0.05 + 8 * torch.rand(4, 1, 5, 5, generator=generator, dtype=torch.float64)
    sign = torch.randint(0, 2, magnitude.shape, generator=generator) * 2 - 1
    logits = (sign * magnitude).to(dtype)  # (4, 1, 5, 5), |logits| in [0.05, 8.05]
    x = torch.rand(logits.shape, generator=generator, dtype=torch.float64).to(dtype)
    expected = -ContinuousBernoulli(logits=logits).log_prob(x).sum(dim=(1, 2, 3))  # (4,)
    actual = continuous_bernoulli_nll(logits, x, reduction="none")
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol)


def test_continuous_bernoulli_nll_close_to_torch_near_one_half() -> None:
    # torch switches to its own Taylor series for lambda in (0.499, 0.501].
    logits = torch.linspace(-0.01, 0.01, 201, dtype=torch.float64).view(-1, 1, 1, 1)
    x = torch.linspace(0, 1, 201, dtype=torch.float64).view(-1, 1, 1, 1)
    expected = -ContinuousBernoulli(logits=logits).log_prob(x).flatten()
    actual = continuous_bernoulli_nll(logits, x, reduction="none")
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-8)


def test_cb_mean_matches_torch_away_from_one_half() -> None:
    logits = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    logits = logits[logits.abs() > 0.01]  # outside torch's Taylor region
    expected = ContinuousBernoulli(logits=logits).mean
    # atol covers torch's own error: it works with log(1 - lambda), inexact for saturated lambda.
    torch.testing.assert_close(cb_mean(logits), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cb_mean_is_continuous_and_increasing_across_one_half(dtype: torch.dtype) -> None:
    logits = torch.linspace(-1, 1, 20_001, dtype=dtype)  # step 1e-4, crosses both window edges
    steps = torch.diff(cb_mean(logits))
    assert (steps > 0).all()
    assert steps.max() < 1e-4 / 12 + 1e-6  # slope is at most 1/12, at lambda = 1/2


# --- KL to the standard normal ------------------------------------------------------------------


def test_kl_matches_torch_closed_form() -> None:
    generator = torch.Generator().manual_seed(1)
    mu = torch.randn(8, 6, generator=generator, dtype=torch.float64)
    logvar = torch.randn(8, 6, generator=generator, dtype=torch.float64)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)  # (8,)
    torch.testing.assert_close(kl_standard_normal(mu, logvar, reduction="none"), expected)


def test_kl_matches_monte_carlo() -> None:
    generator = torch.Generator().manual_seed(2)
    mu = torch.tensor([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]], dtype=torch.float64)  # (2, 3)
    logvar = torch.tensor([[0.0, -1.0, 1.0], [0.5, -2.0, 0.2]], dtype=torch.float64)
    posterior = Normal(mu, (0.5 * logvar).exp())
    num_samples = 200_000
    noise = torch.randn(num_samples, *mu.shape, generator=generator, dtype=torch.float64)
    z = posterior.loc + posterior.scale * noise  # (S, 2, 3)
    log_ratio = (posterior.log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1)  # (S, 2)
    estimate = log_ratio.mean(0)
    standard_error = log_ratio.std(0) / math.sqrt(num_samples)
    exact = kl_standard_normal(mu, logvar, reduction="none")
    assert ((estimate - exact).abs() < 5 * standard_error).all()


def test_kl_of_the_prior_is_exactly_zero() -> None:
    zeros = torch.zeros(4, 16)
    assert torch.equal(kl_standard_normal(zeros, zeros, reduction="none"), torch.zeros(4))


# --- BCE, MSE, reductions, dispatch -------------------------------------------------------------


def test_bce_matches_probability_space_reference() -> None:
    generator = torch.Generator().manual_seed(3)
    logits = 3 * torch.randn(4, 1, 6, 6, generator=generator, dtype=torch.float64)
    x = torch.rand(4, 1, 6, 6, generator=generator, dtype=torch.float64)
    expected = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / 4
    torch.testing.assert_close(bce(logits, x), expected)


def test_mse_matches_hand_computation() -> None:
    logits = torch.tensor([[[[0.0, 0.0], [0.0, 0.0]]], [[[math.log(3)] * 2] * 2]])  # (2, 1, 2, 2)
    x = torch.tensor([[[[0.0, 1.0], [0.5, 0.25]]], [[[0.75, 0.75], [0.75, 0.25]]]])
    # sigmoid(0) = 1/2 and sigmoid(log 3) = 3/4:
    # image 0: 1/4 + 1/4 + 0 + 1/16 = 0.5625; image 1: 0 + 0 + 0 + 1/4 = 0.25.
    torch.testing.assert_close(mse(logits, x, reduction="none"), torch.tensor([0.5625, 0.25]))
    torch.testing.assert_close(mse(logits, x), torch.tensor(0.40625))


@pytest.mark.parametrize(
    "loss", [bce, mse, continuous_bernoulli_nll, kl_standard_normal], ids=lambda f: f.__name__
)
def test_reductions_are_consistent(loss: Callable[..., Tensor]) -> None:
    generator = torch.Generator().manual_seed(4)
    first = torch.randn(5, 1, 4, 4, generator=generator)
    second = torch.rand(5, 1, 4, 4, generator=generator)
    per_image = loss(first, second, reduction="none")
    assert per_image.shape == (5,)
    torch.testing.assert_close(loss(first, second, reduction="sum"), per_image.sum())
    torch.testing.assert_close(loss(first, second, reduction="mean"), per_image.mean())
    torch.testing.assert_close(loss(first, second), per_image.mean())


def test_unknown_reduction_is_rejected() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        bce(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), reduction="avg")  # type: ignore[arg-type]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("name", "loss"), [("bce", bce), ("mse", mse), ("cb", continuous_bernoulli_nll)]
)
def test_reconstruction_loss_dispatches_by_name(
    name: str, loss: Callable[..., Tensor], reduction: str
) -> None:
    generator = torch.Generator().manual_seed(5)
    logits = torch.randn(3, 1, 4, 4, generator=generator)
    x = torch.rand(3, 1, 4, 4, generator=generator)
    expected = loss(logits, x, reduction=reduction)
    torch.testing.assert_close(reconstruction_loss(name, logits, x, reduction), expected)


@pytest.mark.parametrize("function", [reconstruction_loss, log_likelihood])
def test_unknown_reconstruction_is_rejected(function: Callable[..., Tensor]) -> None:
    with pytest.raises(ValueError, match="must be one of"):
        function("l1", torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))


def test_every_reconstruction_loss_has_one_set_of_labels() -> None:
    choices = set(get_args(ReconstructionLoss))  # what a TrainConfig accepts
    assert set(LOSS_LABELS) == choices == set(get_args(losses.Reconstruction))
    for labels in LOSS_LABELS.values():
        assert all(label and label.strip() == label for label in labels)
    for field in LossLabels._fields:  # no two losses share a label
        assert len({getattr(labels, field) for labels in LOSS_LABELS.values()}) == len(choices)


# --- log-likelihoods for reporting --------------------------------------------------------------


@pytest.mark.parametrize("logit", [-30.0, -3.0, 0.0, 0.2, 4.0])
@pytest.mark.parametrize("name", RECONSTRUCTIONS)
def test_log_likelihood_of_one_pixel_is_normalised(name: str, logit: float) -> None:
    # Support of each observation model: {0, 1} (Bernoulli), [0, 1] (continuous Bernoulli),
    # and the real line (Gaussian with variance 1/2, truncated far in its tails).
    support = {
        "bce": torch.tensor([0.0, 1.0], dtype=torch.float64),
        "cb": torch.linspace(0, 1, 200_001, dtype=torch.float64),
        "mse": torch.linspace(-10, 11, 200_001, dtype=torch.float64),
    }[name]
    x = support.view(-1, 1, 1, 1)  # (N, 1, 1, 1): N one-pixel images
    logits = torch.full_like(x, logit)
    probability = log_likelihood(name, logits, x).exp()  # (N,)
    total = probability.sum() if name == "bce" else torch.trapezoid(probability, support)
    assert total.item() == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("name", RECONSTRUCTIONS)
def test_log_likelihood_factorises_over_pixels(name: str) -> None:
    # Checks the per-image constant of the Gaussian scales with the number of pixels.
    generator = torch.Generator().manual_seed(6)
    logits = torch.randn(2, 1, 2, 3, generator=generator, dtype=torch.float64)
    x = torch.rand(2, 1, 2, 3, generator=generator, dtype=torch.float64)
    per_image = log_likelihood(name, logits, x)  # (2,)
    per_pixel = log_likelihood(name, logits.reshape(-1, 1, 1, 1), x.reshape(-1, 1, 1, 1))  # (12,)
    assert per_image.shape == (2,)
    torch.testing.assert_close(per_image, per_pixel.view(2, 6).sum(-1))


@pytest.mark.parametrize("name", RECONSTRUCTIONS)
def test_log_likelihood_is_minus_training_loss_up_to_a_constant(name: str) -> None:
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(3, 1, 4, 4, generator=generator, dtype=torch.float64)
    x = torch.rand(3, 1, 4, 4, generator=generator, dtype=torch.float64)
    offset = {"bce": 0.0, "cb": 0.0, "mse": -8 * math.log(math.pi)}[name]  # D = 16 pixels
    expected = -reconstruction_loss(name, logits, x, reduction="none") + offset
    torch.testing.assert_close(log_likelihood(name, logits, x), expected)


def test_kl_per_dimension_sums_to_the_kl_and_matches_torch() -> None:
    generator = torch.Generator().manual_seed(5)
    mu, logvar = torch.randn(8, 4, generator=generator), torch.randn(8, 4, generator=generator)
    per_dim = losses.kl_per_dimension(mu, logvar)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0))
    torch.testing.assert_close(per_dim, reference)
    torch.testing.assert_close(per_dim.sum(1), losses.kl_standard_normal(mu, logvar, "none"))


def test_free_bits_floors_each_dimensions_batch_mean_kl() -> None:
    # Dimension 0 carries 2 nats per image, dimension 1 exactly 0 (the posterior is the prior).
    mu = torch.tensor([[2.0, 0.0], [-2.0, 0.0]])
    logvar = torch.zeros(2, 2)
    assert losses.free_bits_kl(mu, logvar, 0.0).item() == pytest.approx(2.0)
    # With a floor of 0.5 nats: max(2, 0.5) + max(0, 0.5).
    assert losses.free_bits_kl(mu, logvar, 0.5).item() == pytest.approx(2.5)
    # Below the floor the KL sends no gradient: nothing pushes dimension 1 further.
    mu.requires_grad_(True)
    losses.free_bits_kl(mu, logvar, 0.5).backward()
    assert mu.grad[:, 1].abs().sum() == 0 and mu.grad[:, 0].abs().sum() > 0


def test_squared_error_compares_raw_values() -> None:
    values = torch.tensor([[[[-0.5, 1.5]]]])
    x = torch.tensor([[[[0.0, 1.0]]]])
    assert losses.squared_error(values, x, "none").tolist() == [0.5]
