"""Autoencoder and VAE built from an architecture's encoder/decoder pair.

The VAE follows Kingma & Welling (2014), "Auto-Encoding Variational Bayes": the encoder gives
the mean and log-variance of a diagonal Gaussian posterior q(z|x), training samples z with
the reparameterisation trick, and evaluation uses the mean.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from jlml_core.config import TrainConfig
from jlml_core.nn.architectures import ImageShape, Reshape, get_architecture
from jlml_core.nn.vq import VQVAE, build_vq_model

DEFAULT_IMAGE_SHAPE: ImageShape = (1, 28, 28)


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
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        feature_dim: int,
        latent_dim: int,
        variational: bool,
        linear: bool = False,
    ) -> None:
        super().__init__()
        self.linear = linear
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.variational = variational
        self.to_mu = nn.Linear(feature_dim, latent_dim)
        self.to_logvar = nn.Linear(feature_dim, latent_dim) if variational else None
        self.image_shape: ImageShape = DEFAULT_IMAGE_SHAPE  # set by build_model

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Images (B, C, H, W) in [0, 1] -> (mu, logvar); logvar is None for an AE."""
        features = self.encoder(x)  # (B, F)
        mu = self.to_mu(features)  # (B, D)
        logvar = self.to_logvar(features) if self.to_logvar is not None else None
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, D) -> logits (B, C, H, W); apply `torch.sigmoid` for pixel intensities."""
        return self.decoder(z)

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

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ModelOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        decoded = self.decoder[:-1](z) if self.linear else self.decode(z)
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
    if config.conditional:
        # Until their models exist, refusing beats training a plain model under their name.
        raise NotImplementedError(
            f"kind={config.kind!r}, conditional={config.conditional}: not built yet."
        )
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
            decoder = architecture.build_decoder(image_shape, config.latent_dim, hidden_dim)
        model = Autoencoder(
            encoder,
            decoder,
            feature_dim,
            config.latent_dim,
            config.is_variational,
            linear=config.linear,
        )
        if config.init == "glorot":
            torch.manual_seed(config.seed)
            glorot_init_(model)
    model.image_shape = tuple(image_shape)
    return model


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
