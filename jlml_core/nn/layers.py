"""Layers that compute exactly what a stock PyTorch layer computes, only faster on a CPU.

They subclass the stock layer and keep its parameters and state_dict keys, so checkpoints,
initialisation and every caller are unchanged; only `forward` differs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvTranspose2dBiasAfter(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` that adds its bias as a separate broadcast step.

    Why: on CPU, oneDNN's backward pass for a transposed convolution *with* a bias computes
    the bias gradient inside its slow weight-gradient kernel; without it, plus a plain channel
    sum for the bias, the `cnn_shallow` decoder's 64->32 layer needs about a fifth less time
    for its backward pass (docs/benchmarks.md, "What made cnn_shallow training faster").
    """

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if self.bias is None or self.padding_mode != "zeros":
            return super().forward(x, output_size)
        output_padding = self._output_padding(
            x, output_size, self.stride, self.padding, self.kernel_size, 2, self.dilation
        )
        y = F.conv_transpose2d(
            x,
            self.weight,
            None,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )
        # Under bf16 autocast y is bf16; an fp32 bias would promote the whole activation back to
        # fp32 (a slow copy, then fp32 ReLUs). Stock autocast casts the bias too. fp32: no-op.
        return y + self.bias.to(y.dtype).view(1, -1, 1, 1)


class Conv2dViaFold(nn.Conv2d):
    """`nn.Conv2d` (stride 1, "same" padding) computed as a 1x1 convolution plus `F.fold`.

    Why: oneDNN runs a 3x3 convolution with a single output channel (the decoders' last
    layer) at a few percent of the CPU's peak. Here each input pixel's contribution to each of
    the k*k output positions it touches is one 1x1 convolution (C_in -> C_out*k*k, a GEMM oneDNN
    runs well), and `F.fold` adds those contributions into place: forward and backward of the
    decoders' 32 -> 1 channel layer about 1.6x faster (docs/benchmarks.md). Other settings fall
    back to the stock convolution.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kh, kw = self.kernel_size
        self.uses_fold = (
            kh % 2 == 1
            and kw % 2 == 1
            and self.stride == (1, 1)
            and self.padding == (kh // 2, kw // 2)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.uses_fold:
            return super().forward(x)
        batch, _, height, width = x.shape
        kh, kw = self.kernel_size
        # fold scatters pixel p's tap (i, j) to p + (i, j) - padding: a correlation with the
        # flipped kernel, hence the flip. Rows ordered (out_channel, i, j) as fold expects.
        taps_weight = self.weight.flip(-1, -2).permute(0, 2, 3, 1)  # (out, kh, kw, in)
        taps_weight = taps_weight.reshape(-1, self.in_channels, 1, 1)  # (out*kh*kw, in, 1, 1)
        taps = F.conv2d(x, taps_weight)  # (B, out*kh*kw, H, W)
        y = F.fold(
            taps.reshape(batch, -1, height * width),
            (height, width),
            (kh, kw),
            padding=self.padding,
        )  # (B, out, H, W)
        return y + self.bias.view(1, -1, 1, 1) if self.bias is not None else y


def to_stock_layers(module: nn.Module) -> nn.Module:
    """Replace this module's fast layers by the stock PyTorch ones, in place (for baselines).

    Returns:
        The same module, whose submodules are now plain `nn.ConvTranspose2d` and so on.
    """
    for child in module.children():
        if isinstance(child, ConvTranspose2dBiasAfter):
            child.__class__ = nn.ConvTranspose2d
        elif isinstance(child, Conv2dViaFold):
            child.__class__ = nn.Conv2d
        else:
            to_stock_layers(child)
    return module
