"""VQ-VAE: a grid of codes, each snapped to the nearest vector of a learned codebook.

van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete Representation Learning",
NeurIPS. The cnn_shallow encoder's convolutions map an image to a (B, D, 7, 7) grid z_e; each
of its 49 D-vectors is replaced by the nearest of K codebook vectors e_k (z_q), and the decoder
(cnn_shallow's transposed convolutions) draws the image from z_q. The argmin has no gradient,
so the decoder's gradient is copied onto z_e (straight-through); the encoder is held to its
codes by beta * ||z_e - sg[e]||^2 (eq. 3), and each code follows the moving average of the
encodings that chose it (the paper's EMA variant, its appendix A.1) instead of the
||sg[z_e] - e||^2 gradient, which moved the codes too slowly at Adam's 1e-3 step.

A code that no encoding chose for `DEAD_AFTER_STEPS` training steps is restarted at a random
encoder output of the current batch (as in Dhariwal et al. 2020, "Jukebox"), so K codes stay
in use instead of a handful; the first training step starts every code that way.

The model keeps `Autoencoder`'s interface: `encode(x)` gives (z_e flattened, None),
`decode(z)` snaps each position of a flattened grid to the codebook and decodes, so every
page that decodes points decodes them as this model would; `forward` gives a `VQOutput` with
the same first four fields as `ModelOutput`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from jlml_core.nn.architectures import ImageShape
from jlml_core.nn.layers import Conv2dViaFold, ConvTranspose2dBiasAfter

# Training steps a code may go unchosen before it is restarted (469 steps make an epoch).
DEAD_AFTER_STEPS = 100
# The codebook's moving averages (van den Oord et al. 2017, appendix A.1; Sonnet's defaults).
EMA_DECAY = 0.99
EMA_EPS = 1e-5


class VQOutput(NamedTuple):
    """What one forward pass of a VQ-VAE gives: `ModelOutput`'s fields, then the VQ's own.

    Attributes:
        logits: decoder output before the sigmoid, (B, C, H, W).
        mu: the encoder's grid z_e, flattened (B, D * h * w).
        logvar: always None (the code is deterministic).
        z: the quantised grid z_q, flattened (B, D * h * w); in training it carries the
            straight-through gradient to z_e.
        indices: the chosen code at each position, (B, h, w) int64.
        codebook_loss: ||sg[z_e] - z_q||^2 summed over the grid, per image, batch-mean (the
            quantisation error; reported only: the EMA moves the codes).
        commitment_loss: ||z_e - sg[z_q]||^2 summed over the grid, per image, batch-mean
            (unweighted: `commitment_weight` is applied by the loss).
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor
    indices: torch.Tensor
    codebook_loss: torch.Tensor
    commitment_loss: torch.Tensor


class Quantized(NamedTuple):
    """A quantised grid: `z_q` with straight-through gradient, (B, D, h, w), and its indices."""

    z_q: torch.Tensor
    indices: torch.Tensor
    codebook_loss: torch.Tensor
    commitment_loss: torch.Tensor


def nearest_codes(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook vector (Euclidean) for each row; ties go to the lowest index.

    Args:
        vectors: (N, D).
        codebook: (K, D).

    Returns:
        (N,) int64.
    """
    # In fp32 even under bf16 autocast: bf16's 8-bit mantissa would pick wrong neighbours.
    with torch.autocast(vectors.device.type, enabled=False):
        vectors, codebook = vectors.float(), codebook.float()
        # ||v - e||^2 = ||v||^2 - 2 v.e + ||e||^2; ||v||^2 is the same for every e.
        distances = codebook.square().sum(dim=1) - 2 * vectors @ codebook.T  # (N, K)
        return distances.argmin(dim=1)


def quantize(z_e: torch.Tensor, codebook: torch.Tensor) -> Quantized:
    """Snap each position of a grid to its nearest code, with straight-through gradients.

    Args:
        z_e: encoder grid (B, D, h, w).
        codebook: (K, D).

    Returns:
        z_q = z_e + sg[e - z_e] (value e, gradient of the identity to z_e), the (B, h, w)
        indices, and the two VQ terms of van den Oord et al. (2017), eq. 3, each summed over
        the grid per image and averaged over the batch.
    """
    batch, dim, height, width = z_e.shape
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, dim)  # (B*h*w, D)
    indices = nearest_codes(flat.detach(), codebook)  # (B*h*w,)
    chosen = codebook[indices].to(z_e.dtype)  # (B*h*w, D): its gradient reaches the codebook
    chosen = chosen.reshape(batch, height, width, dim).permute(0, 3, 1, 2)  # (B, D, h, w)
    codebook_loss = (chosen - z_e.detach()).float().square().sum() / batch
    commitment_loss = (z_e - chosen.detach()).float().square().sum() / batch
    z_q = z_e + (chosen - z_e).detach()
    return Quantized(z_q, indices.reshape(batch, height, width), codebook_loss, commitment_loss)


class Codebook(nn.Module):
    """K code vectors of size D, moved by exponential moving averages of their encodings.

    The EMA update of van den Oord et al. (2017), appendix A.1: each code tracks the running
    mean of the encoder outputs that chose it (decay `EMA_DECAY`, Laplace-smoothed counts), so
    it needs no gradient and keeps pace with the encoder from the first steps. Codes unchosen
    for `DEAD_AFTER_STEPS` steps are restarted (`restart_dead`).

    Args:
        size: K.
        dim: D.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        # A buffer, not a parameter: the optimiser never moves it, `update` does.
        self.register_buffer("vectors", torch.empty(size, dim).uniform_(-1.0 / size, 1.0 / size))
        # Training state only, not saved: the vectors alone make the trained model.
        self.register_buffer("counts", torch.zeros(size), persistent=False)
        self.register_buffer("sums", torch.zeros(size, dim), persistent=False)
        # Until the first training step, every code counts as dead: that step moves them all
        # onto encoder outputs, where the encoder's scale is (a data-dependent start).
        all_dead = torch.full((size,), DEAD_AFTER_STEPS, dtype=torch.long)
        self.register_buffer("steps_unused", all_dead, persistent=False)

    @torch.no_grad()
    def restart_dead(self, z_e: torch.Tensor, generator: torch.Generator | None) -> int:
        """Move codes unchosen for `DEAD_AFTER_STEPS` steps onto random rows of `z_e` (N, D).

        Returns:
            How many codes were restarted.
        """
        dead = (self.steps_unused >= DEAD_AFTER_STEPS).nonzero().flatten()
        if len(dead) == 0:
            return 0
        picks = torch.randint(len(z_e), (len(dead),), generator=generator).to(z_e.device)
        self.vectors[dead] = z_e[picks].float()
        # As if each had been chosen once by that encoding: the EMA starts from there.
        self.counts[dead] = 1.0
        self.sums[dead] = self.vectors[dead]
        self.steps_unused[dead] = 0
        return len(dead)

    @torch.no_grad()
    def update(self, z_e: torch.Tensor, indices: torch.Tensor) -> None:
        """One EMA step from a training batch: encodings `z_e` (N, D), their codes (N,)."""
        size = len(self.vectors)
        chosen = torch.bincount(indices, minlength=size).float()  # (K,)
        sums = torch.zeros_like(self.sums).index_add_(0, indices, z_e.float())  # (K, D)
        self.counts.mul_(EMA_DECAY).add_(chosen, alpha=1 - EMA_DECAY)
        self.sums.mul_(EMA_DECAY).add_(sums, alpha=1 - EMA_DECAY)
        # Laplace smoothing keeps a rarely chosen code's count, and so its division, above 0.
        total = self.counts.sum()
        smoothed = (self.counts + EMA_EPS) / (total + size * EMA_EPS) * total
        self.vectors.copy_(self.sums / smoothed.unsqueeze(1))
        self.steps_unused += 1
        self.steps_unused[chosen > 0] = 0


class VQDecoder(nn.Module):
    """Flattened grid (B, D*h*w) -> snapped to the codebook -> logits (B, C, H, W).

    Not a plain `nn.Sequential` on purpose: the inference fast path (`decoder.inference_decoder`)
    would run its layers and skip the snapping; this way it calls `VQVAE.decode`.
    """

    def __init__(self, codebook: Codebook, layers: nn.Sequential, grid: tuple[int, int, int]):
        super().__init__()
        self.codebook = codebook
        self.layers = layers
        self.grid = grid  # (D, h, w)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z_e = z.reshape(len(z), *self.grid)  # (B, D, h, w)
        return self.layers(quantize(z_e, self.codebook.vectors).z_q)


def _vq_layers(image_shape: ImageShape, dim: int) -> tuple[nn.Sequential, nn.Sequential]:
    """cnn_shallow's convolutions each way, with a 1x1 convolution to and from D channels."""
    channels = image_shape[0]
    encoder = nn.Sequential(
        nn.Conv2d(channels, 32, 3, stride=2, padding=1),  # (B, 32, H/2, W/2)
        nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (B, 64, H/4, W/4)
        nn.ReLU(inplace=True),
        nn.Conv2d(64, dim, 1),  # (B, D, H/4, W/4): z_e
    )
    decoder = nn.Sequential(
        nn.Conv2d(dim, 32, 1),  # (B, 32, H/4, W/4), as cnn_shallow's dense layer gives
        nn.ReLU(inplace=True),
        ConvTranspose2dBiasAfter(32, 64, 3, stride=2, padding=1, output_padding=1),  # H/2
        nn.ReLU(inplace=True),
        ConvTranspose2dBiasAfter(64, 32, 3, stride=2, padding=1, output_padding=1),  # H
        nn.ReLU(inplace=True),
        Conv2dViaFold(32, channels, 3, padding=1),  # (B, C, H, W) logits
    )
    return encoder, decoder


class VQVAE(nn.Module):
    """A VQ-VAE with `Autoencoder`'s interface (encode, decode, forward, latent_dim).

    Args:
        image_shape: (C, H, W); H and W divisible by 4.
        code_dim: D, the size of each code vector (the config's `latent_dim`).
        codebook_size: K.
    """

    variational = False
    linear = False

    def __init__(self, image_shape: ImageShape, code_dim: int, codebook_size: int) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height % 4 or width % 4:
            raise ValueError(f"a VQ-VAE needs image sides divisible by 4, got {height}x{width}.")
        self.grid: tuple[int, int, int] = (code_dim, height // 4, width // 4)  # (D, h, w)
        self.code_dim = code_dim
        self.codebook_size = codebook_size
        # Pages see the flattened grid as the code: D * h * w numbers.
        self.latent_dim = code_dim * (height // 4) * (width // 4)
        self.image_shape: ImageShape = tuple(image_shape)
        self.encoder, layers = _vq_layers(image_shape, code_dim)
        self.decoder = VQDecoder(Codebook(codebook_size, code_dim), layers, self.grid)

    @property
    def codebook(self) -> Codebook:
        return self.decoder.codebook

    def encode_grid(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> z_e (B, D, h, w)."""
        return self.encoder(x)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Images (B, C, H, W) -> (z_e flattened (B, D*h*w), None): `Autoencoder.encode`'s shape."""
        return self.encoder(x).flatten(start_dim=1), None

    def code_indices(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> the chosen code at each position, (B, h, w) int64."""
        z_e = self.encoder(x)  # (B, D, h, w)
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.code_dim)
        return nearest_codes(flat, self.codebook.vectors).reshape(len(x), *self.grid[1:])

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flattened grids (B, D*h*w) -> logits (B, C, H, W), each position snapped first."""
        return self.decoder(z)

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Code-index maps (B, h, w) -> logits (B, C, H, W)."""
        z_q = self.codebook.vectors[indices].permute(0, 3, 1, 2)  # (B, D, h, w)
        return self.decoder.layers(z_q)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VQOutput:
        z_e = self.encoder(x)  # (B, D, h, w)
        if self.training:
            flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, self.code_dim)
            self.codebook.restart_dead(flat, generator)
        quantized = quantize(z_e, self.codebook.vectors)
        if self.training:
            self.codebook.update(flat, quantized.indices.flatten())
        logits = self.decoder.layers(quantized.z_q)  # not decode(): keep the straight-through
        return VQOutput(
            logits,
            z_e.flatten(start_dim=1),
            None,
            quantized.z_q.flatten(start_dim=1),
            quantized.indices,
            quantized.codebook_loss,
            quantized.commitment_loss,
        )


def build_vq_model(image_shape: ImageShape, code_dim: int, codebook_size: int) -> VQVAE:
    """An untrained VQ-VAE (the caller seeds the generator)."""
    return VQVAE(image_shape, code_dim, codebook_size)
