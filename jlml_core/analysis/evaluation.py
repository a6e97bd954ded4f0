"""Honest test metrics of a trained model: likelihoods, code usage, neighbours, sample quality.

`evaluate_model` gathers everything the CLI's ``evaluate`` command and the dashboard report;
the arithmetic on arrays lives in `metrics`, the feature network in `classifier`.

References:
    Burda, Grosse & Salakhutdinov (2016), "Importance weighted autoencoders", ICLR
    (the k-sample importance-weighted bound on log p(x), and active units).
    Heusel et al. (2017), NeurIPS (Fréchet distance; here on MNIST-classifier features).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import torch

from jlml_core.analysis import classifier as digit_classifier
from jlml_core.analysis import codebook, metrics
from jlml_core.analysis.classifier import ClassifierError, DigitClassifier, ProgressCallback
from jlml_core.config import TrainConfig
from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.data.datasets import ImageDataset, load_split
from jlml_core.inference import latent
from jlml_core.nn import losses
from jlml_core.nn.models import (
    Autoencoder,
    Labels,
    balanced_labels,
    class_labels,
    is_conditional,
)
from jlml_core.training.objective import evaluate

# Importance samples per test image for `test_iw_nll` in every reported metric (the CLI's
# `evaluate`, sweeps, the zoo): 16 decoder passes over each of the 10,000 test images.
IW_SAMPLES = 16
KNN_NEIGHBOURS = 5
# Codes decoded per forward pass of the importance-weighted estimate: k samples of
# DECODE_BUDGET // k images at a time, so memory stays flat whatever k is.
DECODE_BUDGET = 4096
# Classifier metrics need the classifier's training distribution: MNIST digits.
CLASSIFIER_DATASETS = ("mnist",)
_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class ImportanceSampled(NamedTuple):
    """Per-image means in nats over a set of images, from the same k posterior samples each.

    Attributes:
        log_likelihood: the k-sample importance-weighted bound L_k <= log p(x).
        elbo: the Monte Carlo ELBO, the mean of the k log-weights (L_1 <= L_k).
    """

    log_likelihood: float
    elbo: float


def _log_weights(
    model: Autoencoder,
    x: torch.Tensor,
    loss_name: str,
    k: int,
    generator: torch.Generator,
    y: torch.Tensor | None = None,
) -> torch.Tensor:
    """log p(x|z_i) + log p(z_i) - log q(z_i|x) for k samples z_i ~ q(z|x): (k, B).

    For a conditional model (labels `y` (B,)) every term is given y: log p(x|y) is bounded.
    """
    mu, logvar = model.encode(x) if y is None else model.encode(x, y)  # (B, D) each
    batch, dim = mu.shape
    eps = torch.randn((k, batch, dim), generator=generator).to(mu.device)  # (k, B, D)
    z = mu + torch.exp(0.5 * logvar) * eps  # (k, B, D)
    flat = z.reshape(k * batch, dim)  # sample i of image b is row i * B + b: labels repeat k times
    logits = model.decode(flat) if y is None else model.decode(flat, y.repeat(k))
    targets = x.unsqueeze(0).expand(k, *x.shape).reshape(logits.shape)
    log_px = losses.log_likelihood(loss_name, logits, targets).reshape(k, batch)  # (k, B)
    # log N(z; 0, I) - log N(z; mu, sigma^2): the log(2 pi) terms cancel, and
    # (z - mu) / sigma is eps itself.
    log_prior_over_posterior = (0.5 * (eps.square() - z.square() + logvar)).sum(dim=2)  # (k, B)
    return log_px + log_prior_over_posterior


@torch.inference_mode()
def importance_weighted_log_likelihood(
    model: Autoencoder,
    images_uint8: torch.Tensor,
    loss_name: str,
    k: int = IW_SAMPLES,
    *,
    seed: int = 0,
    on_progress: Callable[[float], None] | None = None,
    labels: Labels = None,
) -> ImportanceSampled | None:
    """Estimate log p(x) by importance sampling from the encoder (Burda et al. 2016, eq. 8).

    L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), with z_i ~ q(z|x), computed with
    logsumexp under the model's own observation model (`losses.log_likelihood`). L_k is a lower
    bound on log p(x) that tightens as k grows (L_1 is the ELBO); k = 64 is the reporting
    default, tests use a handful. Cost: k decoder passes per image.

    Args:
        model: a trained VAE (switched to eval mode here).
        images_uint8: (N, H, W) uint8 test images.
        loss_name: the model's reconstruction loss ("bce", "mse" or "cb"), naming p(x|z).
        k: importance samples per image.
        seed: seeds the posterior samples; same seed, same estimate.
        on_progress: called with the share of images done after every batch.
        labels: the images' classes (N,) for a conditional model (then L_k bounds log p(x|y)).

    Returns:
        Per-image means of L_k and of the Monte Carlo ELBO, in nats; None for an AE, which
        has no posterior to sample.
    """
    if not model.variational:
        return None
    if k < 1:
        raise ValueError(f"need at least one importance sample, got k={k}")
    model.eval()
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    generator = torch.Generator().manual_seed(seed)
    batch_size = max(1, DECODE_BUDGET // k)
    labels = class_labels(model, labels, len(images_uint8))
    sums = torch.zeros(2, dtype=torch.float64)
    for start in range(0, len(images_uint8), batch_size):
        x = prepare_batch(images_uint8[start : start + batch_size], device, channels_last)
        y = None if labels is None else labels[start : start + batch_size].to(device)
        log_w = _log_weights(model, x, loss_name, k, generator, y).double()  # (k, B)
        bound = torch.logsumexp(log_w, dim=0) - math.log(k)  # (B,)
        sums += torch.stack([bound.sum(), log_w.mean(dim=0).sum()]).cpu()
        if on_progress is not None:
            on_progress(min(start + batch_size, len(images_uint8)) / len(images_uint8))
    log_likelihood, elbo = (sums / len(images_uint8)).tolist()
    return ImportanceSampled(log_likelihood, elbo)


@torch.inference_mode()
def reconstruction_errors(
    model: Autoencoder, images_uint8: torch.Tensor, batch_size: int = 1000, labels: Labels = None
) -> tuple[float, float]:
    """Per-image mean BCE and MSE of the reconstructions decoded from the posterior mean.

    Both are sums over pixels of ``sigmoid(logits)`` against the input, whatever loss the
    model was trained with, so every model is measured with the same two rulers. A
    conditional model is given the images' `labels` (N,).
    """
    model.eval()
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    labels = class_labels(model, labels, len(images_uint8))
    sums = torch.zeros(2, dtype=torch.float64)
    for start in range(0, len(images_uint8), batch_size):
        x = prepare_batch(images_uint8[start : start + batch_size], device, channels_last)
        y = None if labels is None else labels[start : start + batch_size].to(device)
        # decode(), not forward(): a linear model's forward gives pixel values, not logits.
        mu = model.encode(x)[0] if y is None else model.encode(x, y)[0]
        logits = model.decode(mu) if y is None else model.decode(mu, y)  # from z = mu
        errors = torch.stack(
            [losses.bce(logits, x, reduction="sum"), losses.mse(logits, x, reduction="sum")]
        )
        sums += errors.double().cpu()
    bce, mse = (sums / len(images_uint8)).tolist()
    return bce, mse


def sample_quality(
    model: Autoencoder,
    reference: ImageDataset,
    classifier: DigitClassifier,
    n_samples: int = 10_000,
    seed: int = 0,
    output: latent.ImageOutput = "sigmoid",
) -> tuple[float, float]:
    """Fréchet distance and mean classifier confidence of prior samples.

    Decodes `n_samples` codes from N(0, I) (seeded) to images (``sigmoid(logits)``, or the
    continuous Bernoulli's mean with `output` "cb_mean") and compares
    their classifier features with those of the `reference` images. This is an MNIST-classifier
    Fréchet distance, not Inception FID (see `classifier`); it depends on both set sizes, so
    compare models at equal `n_samples` and reference size.

    Returns:
        (Fréchet distance, mean over samples of the largest class probability). Confident
        samples look like some digit; blurry in-between samples do not.
    """
    z = latent.sample_prior(n_samples, model.latent_dim, seed)  # (n, D)
    labels = balanced_labels(model, n_samples)  # a conditional model: each class equally often
    samples = latent.decode_points(model, z, output, precision="fp32", labels=labels)
    generated = digit_classifier.classify(classifier, samples)
    real_images = reference.images.float().div(255.0)  # (N, H, W)
    real = digit_classifier.classify(classifier, real_images)
    distance = metrics.frechet_distance(real.features, generated.features)
    confidence = float(generated.probabilities.max(axis=1).mean())
    return distance, confidence


def _resolve_classifier(
    choice: DigitClassifier | None | Literal["auto"], dataset: str
) -> DigitClassifier | None:
    """The classifier to use: None for non-MNIST data or when the shipped one is missing."""
    if dataset not in CLASSIFIER_DATASETS or choice is None:
        return None
    if choice != "auto":
        return choice
    try:
        return digit_classifier.load_classifier()
    except ClassifierError:
        return None


def evaluate_model(
    model: Autoencoder,
    config: TrainConfig,
    *,
    subset: int | None = None,
    iw_samples: int = IW_SAMPLES,
    classifier: DigitClassifier | None | Literal["auto"] = "auto",
    n_samples: int = 10_000,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Every test metric of a model, as plain JSON-ready Python values.

    Per-image values are in nats, summed over pixels (reconstruction) or latent dimensions
    (KL). VAE-only values are None for an AE; classifier values are None off MNIST or when
    the classifier is unavailable.

    Args:
        model: the trained model (switched to eval mode).
        config: its training config (dataset and likelihood).
        subset: use the first `subset` test images and the first 6 * `subset` training
            images (for kNN); None uses all 10,000 and 60,000.
        iw_samples: importance samples per image for `test_iw_nll` (`IW_SAMPLES` for
            reporting; the estimate's cost grows linearly with it).
        classifier: feature network for the sample metrics; "auto" loads the shipped one
            (None if it is missing), None skips those metrics.
        n_samples: prior samples for `sample_fid` and `sample_confidence`.
        seed: seeds the importance samples and the prior samples.
        on_progress: called as ``on_progress(fraction_done, message)`` between stages.

    Returns:
        A dict with keys
        ``test_bce``, ``test_mse``: reconstruction errors at z = mu, per image;
        ``test_kl``: KL(q(z|x) || N(0, I)) per image;
        ``test_neg_elbo``: Monte Carlo negative ELBO over the same ``iw_samples`` posterior
        samples per image (a proper bound, under the model's own likelihood);
        ``test_iw_nll``: -L_k, an upper bound on -log p(x) with k = ``iw_samples``;
        ``active_units`` (int), ``code_spread`` (list, one std per dimension),
        ``posterior_radius``; ``distance_by_class`` (class index as str -> mean ||mu||);
        ``knn_accuracy`` (k = 5, train codes vs test codes); ``sample_fid``,
        ``sample_confidence``; and the sizes ``eval_subset``, ``iw_samples``, ``n_samples``.
    """

    def report(fraction: float, message: str) -> None:
        if on_progress is not None:
            on_progress(fraction, message)

    model.eval()
    test = load_split(config.dataset, "test").subset(subset)
    train = load_split(config.dataset, "train").subset(subset * 6 if subset else None)
    variational = model.variational

    report(0.0, "reconstruction errors")
    # A conditional model encodes and decodes every image with its own label.
    test_labels = test.labels if is_conditional(model) else None
    train_labels = train.labels if is_conditional(model) else None
    bce, mse = reconstruction_errors(model, test.images, labels=test_labels)
    terms = evaluate(model, test, config)

    report(0.05, "encoding test and training images")
    codes = latent.encode_images(model, test.images, labels=test_labels)  # (N, D) each
    train_codes = latent.encode_images(model, train.images, labels=train_labels).mu  # (6N, D)

    report(0.15, "nearest neighbours")
    knn = metrics.knn_accuracy(
        train_codes, train.labels.numpy(), codes.mu, test.labels.numpy(), k=KNN_NEIGHBOURS
    )

    # The importance samples cost iw_samples decoder passes per image: most of the time.
    message = f"importance-weighted likelihood, k={iw_samples}"
    report(0.25, message)
    iw = importance_weighted_log_likelihood(
        model,
        test.images,
        config.loss,
        iw_samples,
        seed=seed,
        on_progress=lambda done: report(0.25 + 0.5 * done, message),
        labels=test_labels,
    )

    report(0.75, "sample quality")
    fid = confidence = None
    network = _resolve_classifier(classifier, config.dataset)
    # A VQ-VAE has no prior to sample without a learned one (issue #18): no sample metrics.
    if network is not None and not codebook.is_vq(model):
        fid, confidence = sample_quality(model, test, network, n_samples, seed)

    report(1.0, "done")
    distances = metrics.distance_from_origin_by_class(codes.mu, test.labels.numpy())
    # --- VQ-VAE (issue #18, family 4): its codebook's use on the test set --------------------
    vq = codebook.codebook_metrics(model, test.images) if codebook.is_vq(model) else {}
    # --- end VQ-VAE -------------------------------------------------------------------------
    return {
        **vq,
        "test_bce": bce,
        "test_mse": mse,
        "test_kl": terms.kl if variational else None,
        "test_neg_elbo": -iw.elbo if iw is not None else terms.neg_elbo,
        "test_iw_nll": -iw.log_likelihood if iw is not None else None,
        "iw_samples": iw_samples,
        "active_units": metrics.active_units(codes.mu),
        "code_spread": [float(s) for s in metrics.code_spread(codes.mu)],
        "posterior_radius": (
            metrics.posterior_radius(codes.logvar) if codes.logvar is not None else None
        ),
        "distance_by_class": {str(c): d for c, d in distances.items()},
        "knn_accuracy": knn,
        "sample_fid": fid,
        "sample_confidence": confidence,
        "n_samples": n_samples,
        "eval_subset": len(test),
    }
