"""Autoencoder and VAE built from an architecture's encoder/decoder pair.

The VAE follows Kingma & Welling (2014), "Auto-Encoding Variational Bayes": the encoder gives
the mean and log-variance of a diagonal Gaussian posterior q(z|x), training samples z with
the reparameterisation trick, and evaluation uses the mean. The conditional VAE follows Sohn,
Lee & Yan (2015), "Learning Structured Output Representation using Deep Conditional Generative
Models": the one-hot label y joins the encoder's features, q(z|x, y), and the decoder's input,
p(x|z, y), with the prior N(0, I) left independent of y.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from jlml_core.config import NUM_CLASSES, TrainConfig
from jlml_core.nn.architectures import ImageShape, Reshape, get_architecture
from jlml_core.nn.vq import VQVAE, build_vq_model

DEFAULT_IMAGE_SHAPE: ImageShape = (1, 28, 28)
# Class labels a conditional model is given: (N,) ints, or one int for every image or code.
Labels = torch.Tensor | np.ndarray | int | None


class ModelOutput(NamedTuple):
    """What one forward pass gives.

    Attributes:
        logits: decoder output before the sigmoid, (B, C, H, W). For a linear model, the
            pixel values themselves: its loss is the squared error of those, unclipped (what
            PCA minimises), while `Autoencoder.decode` still gives logits for display.
        mu: posterior mean (VAE) or the code itself (AE), (B, D).
        logvar: posterior log-variance (B, D) for a VAE, None for an AE.
        z: the code that was decoded, (B, D).
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor


class Autoencoder(nn.Module):
    """An AE or a VAE: encoder features -> latent head(s) -> decoder.

    Args:
        encoder: maps (B, C, H, W) images to (B, feature_dim) features.
        decoder: maps (B, latent_dim) codes to (B, C, H, W) logits.
        feature_dim: width of the encoder's output.
        latent_dim: size of the code.
        variational: True for a VAE (adds a log-variance head and samples in training).
        linear: the decoder ends in `ValuesAsLogits`: `forward` gives the pixel values before
            it (the loss's input), `decode` the logits after it (what the lab shows).
        num_classes: 0 for an unconditional model; for a conditional one the number of
            classes whose one-hot label joins the latent heads' input and the decoder's (which
            must then take latent_dim + num_classes inputs).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        feature_dim: int,
        latent_dim: int,
        variational: bool,
        linear: bool = False,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        self.linear = linear
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.variational = variational
        self.num_classes = num_classes
        self.to_mu = nn.Linear(feature_dim + num_classes, latent_dim)
        self.to_logvar = nn.Linear(feature_dim + num_classes, latent_dim) if variational else None
        self.image_shape: ImageShape = DEFAULT_IMAGE_SHAPE  # set by build_model

    @property
    def conditional(self) -> bool:
        """True when the class label joins encoder and decoder (a CVAE or conditional AE)."""
        return self.num_classes > 0

    def with_label(self, inputs: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """`inputs` (B, F) joined by the labels' one-hot codes: (B, F + num_classes).

        Unconditional models get `inputs` back untouched (and must be given no labels, so a
        label never silently does nothing).

        Raises:
            ValueError: a conditional model without labels, or an unconditional one with them.
        """
        if not self.conditional:
            if labels is not None:
                raise ValueError("This model is not conditional: it takes no class labels.")
            return inputs
        if labels is None:
            raise ValueError(
                "This model is conditional: pass the class labels (labels=..., one per image)."
            )
        labels = torch.as_tensor(labels, device=inputs.device).long().reshape(-1)
        if labels.shape[0] != inputs.shape[0]:
            raise ValueError(f"{labels.shape[0]} labels for {inputs.shape[0]} inputs.")
        one_hot = nn.functional.one_hot(labels, self.num_classes).to(inputs.dtype)  # (B, K)
        return torch.cat([inputs, one_hot], dim=1)

    def encode(
        self, x: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Images (B, C, H, W) in [0, 1] -> (mu, logvar); logvar is None for an AE.

        A conditional model needs `labels` (B,) int: q(z|x, y).
        """
        features = self.with_label(self.encoder(x), labels)  # (B, F [+ K])
        mu = self.to_mu(features)  # (B, D)
        logvar = self.to_logvar(features) if self.to_logvar is not None else None
        return mu, logvar

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Codes (B, D) -> logits (B, C, H, W); apply `torch.sigmoid` for pixel intensities.

        A conditional model needs `labels` (B,) int: p(x|z, y).
        """
        return self.decoder(self.with_label(z, labels))  # decoder input (B, D [+ K])

    def reparameterize(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor | None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z = mu + sigma * eps in training mode for a VAE; the mean otherwise."""
        if logvar is None or not self.training:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> ModelOutput:
        """Encode, sample (training VAE) or take the mean, decode; `labels` (B,) for a
        conditional model, which raises ValueError without them."""
        mu, logvar = self.encode(x, labels)
        z = self.reparameterize(mu, logvar, generator)
        decoded = self.decoder[:-1](z) if self.linear else self.decode(z, labels)
        return ModelOutput(decoded, mu, logvar, z)


class ValuesAsLogits(nn.Module):
    """Pixel values -> logits whose sigmoid is the value clipped to [0, 1].

    Ends a linear model's decoder so that every page, which shows ``sigmoid(logits)``, shows
    a linear autoencoder's output as it is (clipped only where it leaves [0, 1]).
    """

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return torch.logit(values.clamp(0.0, 1.0), eps=1e-6)


def _linear_pair(image_shape: ImageShape, latent_dim: int) -> tuple[nn.Module, nn.Module, int]:
    """A linear autoencoder's encoder (flatten; the model's mean head is the linear map) and
    decoder (one linear map back to pixels), with the encoder's feature width."""
    pixels = image_shape[0] * image_shape[1] * image_shape[2]
    decoder = nn.Sequential(nn.Linear(latent_dim, pixels), Reshape(*image_shape), ValuesAsLogits())
    return nn.Flatten(), decoder, pixels


def build_model(
    config: TrainConfig, image_shape: ImageShape = DEFAULT_IMAGE_SHAPE
) -> Autoencoder | VQVAE:
    """Build the (untrained) model a config names, weights seeded by `config.seed`.

    Args:
        config: the training configuration.
        image_shape: (channels, height, width) of the dataset's images.

    Returns:
        An `Autoencoder` (a `VQVAE` for kind "vq") in training mode on the CPU.
    """
    # --- VQ-VAE (issue #18, family 4): its own module, the same interface -----------------
    if config.kind == "vq":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model = build_vq_model(tuple(image_shape), config.latent_dim, config.codebook_size)
            if config.init == "glorot":
                torch.manual_seed(config.seed)
                glorot_init_(model)
        return model
    # --- end VQ-VAE ---------------------------------------------------------------------
    architecture = get_architecture(config.arch)
    hidden_dim = config.hidden_dim or architecture.default_hidden_dim
    # Seeding here, not globally, makes the initial weights a pure function of the config.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        if config.linear:
            encoder, decoder, feature_dim = _linear_pair(image_shape, config.latent_dim)
        else:
            encoder, feature_dim = architecture.build_encoder(image_shape, hidden_dim)
            # A conditional decoder takes the code and the one-hot label: any registered pair
            # works, built for latent_dim + NUM_CLASSES inputs.
            decoder_inputs = config.latent_dim + (NUM_CLASSES if config.conditional else 0)
            decoder = architecture.build_decoder(image_shape, decoder_inputs, hidden_dim)
        model = Autoencoder(
            encoder,
            decoder,
            feature_dim,
            config.latent_dim,
            config.is_variational,
            linear=config.linear,
            num_classes=NUM_CLASSES if config.conditional else 0,
        )
        if config.init == "glorot":
            torch.manual_seed(config.seed)
            glorot_init_(model)
    model.image_shape = tuple(image_shape)
    return model


def is_conditional(model: nn.Module) -> bool:
    """True for a model that needs class labels to encode and decode (a CVAE)."""
    return bool(getattr(model, "conditional", False))


def class_labels(model: nn.Module, labels: Labels, count: int) -> torch.Tensor | None:
    """`labels` as a (count,) int64 tensor for a conditional model; None for another model.

    One label (an int or a single-element array) stands for all `count` images or codes.

    Raises:
        ValueError: a conditional model without labels, an unconditional one with them, or
            labels of the wrong length.
    """
    if not is_conditional(model):
        if labels is not None:
            raise ValueError("This model is not conditional: it takes no class labels.")
        return None
    if labels is None:
        raise ValueError("This model is conditional: pass the class labels (labels=...).")
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64).reshape(-1)
    if len(labels) == 1 and count != 1:
        labels = labels.expand(count)
    if len(labels) != count:
        raise ValueError(f"{len(labels)} labels for {count} images or codes.")
    return labels


def balanced_labels(model: nn.Module, n: int) -> np.ndarray | None:
    """Labels for `n` samples of a conditional model, each class equally often (0, 1, ..., 9,
    0, ...): decoding prior codes under them samples p(x) = sum_c p(x|c) / K. None for a model
    that takes no labels."""
    return np.arange(n) % model.num_classes if is_conditional(model) else None


def glorot_init_(model: nn.Module) -> None:
    """Keras's default initialisation, in place: Glorot-uniform weights and zero biases for
    every linear and convolution layer (PyTorch's defaults draw smaller weights and nonzero
    biases; on the 128-unit `cnn_shallow` VAE Keras's start is worth ~1.5 nats by epoch 5)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
