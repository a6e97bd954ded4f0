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
        # In place: the convolution's backward keeps its input and weight, not y.
        return y.add_(self.bias.to(y.dtype).view(1, -1, 1, 1))


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
        if x.dtype == torch.bfloat16:
            return self._forward_bf16(x)
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

    def _forward_bf16(self, x: torch.Tensor) -> torch.Tensor:
        """bf16 training (autocast): the taps as one bf16 matrix product, added into place in
        fp32 by shifted slices (`_ShiftedTapSum`); returns fp32.

        Why not `F.fold` here: in bf16 its col2im (and the im2col of its backward) took about
        4 ms of a 27 ms `cnn_shallow` step at batch 128; the slices take a fraction of that
        (docs/benchmarks.md, "Time to quality"). fp32 keeps `F.fold`, so fp32 training still
        reproduces the shipped weights bit for bit.
        """
        kh, kw = self.kernel_size
        taps_weight = self.weight.flip(-1, -2).permute(0, 2, 3, 1)  # (out, kh, kw, in)
        taps = F.conv2d(x, taps_weight.reshape(-1, self.in_channels, 1, 1).to(x.dtype))
        # (B, out*kh*kw, H, W) -> (out, kh, kw, B, H, W): views, whatever the memory layout.
        planes = taps.transpose(0, 1).unflatten(0, (self.out_channels, kh, kw))
        y = _ShiftedTapSum.apply(planes)  # (B, out, H, W) fp32
        return y + self.bias.view(1, -1, 1, 1) if self.bias is not None else y


class _ShiftedTapSum(torch.autograd.Function):
    """Adds each pixel's k*k taps into place: planes (out, kh, kw, B, H, W) -> (B, out, H, W)
    in fp32, "same" padding (kh // 2, kw // 2); tap (i, j) of pixel p lands on p + (i, j) - pad.

    A Function of its own because autograd's backward of k*k slice-adds would allocate and
    zero a padded tensor per slice; the gradient of tap (i, j) is one shifted slice of the
    padded output gradient.
    """

    @staticmethod
    def forward(ctx, planes: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out_channels, kh, kw, batch, height, width = planes.shape
        ph, pw = kh // 2, kw // 2
        ctx.planes_dtype = planes.dtype
        ctx.shape = planes.shape
        taps = planes.flatten(0, 2).transpose(0, 1)  # (B, out*kh*kw, H, W), as they came
        channels_last = taps.is_contiguous(memory_format=torch.channels_last)
        ctx.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        # A border of the padding on every side, so each kernel position is one shifted slice.
        shape = (out_channels, batch, height + 2 * ph, width + 2 * pw)
        out = torch.zeros(shape, dtype=torch.float32, device=planes.device)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i : i + height, j : j + width] += planes[:, i, j]
        return out[:, :, ph : ph + height, pw : pw + width].transpose(0, 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out_channels, kh, kw, batch, height, width = ctx.shape
        ph, pw = kh // 2, kw // 2
        padded = F.pad(grad.transpose(0, 1), (pw, pw, ph, ph))  # (out, B, H + 2ph, W + 2pw)
        # Laid out as the taps came (channels_last), so the 1x1 convolution's backward reads
        # them without a copy.
        grad_taps = torch.empty(
            (batch, out_channels * kh * kw, height, width),
            dtype=ctx.planes_dtype,
            device=grad.device,
            memory_format=ctx.memory_format,
        )
        grad_planes = grad_taps.transpose(0, 1).unflatten(0, (out_channels, kh, kw))
        for i in range(kh):
            for j in range(kw):
                grad_planes[:, i, j] = padded[:, :, i : i + height, j : j + width]
        return grad_planes


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


# --- Inference only ---------------------------------------------------------------------------
# What follows never runs in training (no autograd, no parameters of its own): it decodes from
# copies of a trained layer's weights, made once per model (`decoder.inference_decoder`).


def _fused_conv_transpose_available(dtype: torch.dtype) -> bool:
    """True when this PyTorch has oneDNN's transposed convolution with a fused activation and
    oneDNN computes `dtype` with it: bf16 needs AVX-512 (or AVX-NE-CONVERT), else the call
    fails; the stock `F.conv_transpose2d` runs bf16 anywhere, emulated where it must."""
    if not torch.backends.mkldnn.is_available():
        return False
    if not hasattr(torch.ops.mkldnn, "_convolution_transpose_pointwise"):
        return False
    return dtype != torch.bfloat16 or torch.ops.mkldnn._is_mkldnn_bf16_supported()


class InferenceConvTranspose2d:
    """A trained `nn.ConvTranspose2d` (plus an optional ReLU) for inference in one dtype.

    Why: under autocast every call casts the fp32 weights to bf16 again, the bias is added as a
    second pass over the largest activation and the ReLU as a third. Here the weights are cast
    once, and oneDNN adds the bias and applies the ReLU inside its kernel, in fp32 before the
    one rounding to bf16 (autocast rounds twice: after the convolution and after the bias).
    Where oneDNN lacks that entry point for the dtype it is `F.conv_transpose2d` plus a ReLU.

    Args:
        layer: the trained layer (zero padding, no output_size argument).
        dtype: the compute dtype, torch.float32 or torch.bfloat16.
        relu: apply a ReLU to the output.
    """

    def __init__(self, layer: nn.ConvTranspose2d, dtype: torch.dtype, relu: bool) -> None:
        weight = layer.weight.detach().to(dtype)
        self.weight = weight.contiguous(memory_format=torch.channels_last)  # (in, out, kh, kw)
        self.bias = None if layer.bias is None else layer.bias.detach().to(dtype)
        self.stride, self.padding = list(layer.stride), list(layer.padding)
        self.output_padding, self.dilation = list(layer.output_padding), list(layer.dilation)
        self.groups, self.relu = layer.groups, relu
        self.fused = _fused_conv_transpose_available(dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)
        if self.fused:
            return torch.ops.mkldnn._convolution_transpose_pointwise(
                x,
                self.weight,
                self.bias,
                self.padding,
                self.output_padding,
                self.stride,
                self.dilation,
                self.groups,
                "relu" if self.relu else "none",
                [],
                "",
            )
        y = F.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
        return torch.relu_(y) if self.relu else y


class InferenceConv2d:
    """A trained `nn.Conv2d` (plus an optional ReLU) for inference in one dtype.

    A "same" convolution to a few channels (the decoders' last layer: 32 -> 1) runs as one
    matrix product that gives every input pixel's k*k taps, which are then added into place in
    fp32 with an fp32 bias, and returns fp32 (oneDNN runs such a convolution at a few percent of
    its peak; see `Conv2dViaFold`). Other convolutions are `F.conv2d` with the weights cast once.

    Which way is faster depends on the CPU: with AMX, oneDNN's bf16 convolution to one channel
    took ~0.6x the time of the taps (2-core Intel Xeon); capped at AVX2, in fp32, ~2.5x.
    `decoder.tune_decode_setting` measures both per machine.

    Args:
        layer: the trained layer (zero padding).
        dtype: the compute dtype, torch.float32 or torch.bfloat16.
        relu: apply a ReLU to the output.
        taps: use the taps product where it applies (False: always the plain convolution).
    """

    # Above this many taps per pixel (out_channels * kh * kw) the plain convolution is used.
    MAX_TAPS = 27
    # Up to this batch `F.fold` adds the taps into place; above it k*k shifted slices do, which
    # is faster for large batches (32 -> 1 channels at 28x28: 0.03 against 0.09 ms for one
    # image, 0.30 against 0.23 ms for 32).
    FOLD_MAX_BATCH = 16

    def __init__(self, layer: nn.Conv2d, dtype: torch.dtype, relu: bool, taps: bool = True) -> None:
        kh, kw = layer.kernel_size
        self.relu, self.dtype = relu, dtype
        self.uses_taps = (
            taps
            and kh % 2 == 1
            and kw % 2 == 1
            and layer.stride == (1, 1)
            and layer.padding == (kh // 2, kw // 2)
            and layer.dilation == (1, 1)
            and layer.groups == 1
            and layer.out_channels * kh * kw <= self.MAX_TAPS
        )
        weight = layer.weight.detach()  # (out, in, kh, kw)
        if self.uses_taps:
            # Rows (out, i, j) of the flipped kernel, as `F.fold` and `Conv2dViaFold` order them:
            # pixel p's row (c, i, j) lands on output p + (i, j) - padding of channel c.
            flipped = weight.flip(-1, -2).permute(0, 2, 3, 1)  # (out, kh, kw, in)
            self.taps = flipped.reshape(-1, layer.in_channels).to(dtype)  # (out*kh*kw, in)
            self.kernel_size, self.out_channels = (kh, kw), layer.out_channels
        else:
            self.weight = weight.to(dtype).contiguous(memory_format=torch.channels_last)
            self.stride, self.padding = layer.stride, layer.padding
            self.dilation, self.groups = layer.dilation, layer.groups
        bias_dtype = torch.float32 if self.uses_taps else dtype
        self.bias = None if layer.bias is None else layer.bias.detach().to(bias_dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        if not self.uses_taps:
            y = F.conv2d(
                x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
            return torch.relu_(y) if self.relu else y
        batch, channels, height, width = x.shape
        kh, kw = self.kernel_size
        ph, pw = kh // 2, kw // 2
        pixels = x.permute(0, 2, 3, 1).reshape(-1, channels)  # (B*H*W, in); a view for NHWC
        taps = (self.taps @ pixels.T).float()  # (out*kh*kw, B*H*W): one plane per row
        if batch <= self.FOLD_MAX_BATCH:
            columns = taps.view(-1, batch, height * width).transpose(0, 1)  # (B, rows, H*W)
            y = F.fold(columns, (height, width), (kh, kw), padding=(ph, pw))  # (B, out, H, W)
            if self.bias is not None:
                y += self.bias.view(1, -1, 1, 1)
        else:
            planes = taps.view(self.out_channels, kh, kw, batch, height, width)
            # `out` has a border of `padding` on every side, so each kernel position is one
            # shifted slice; it starts as the bias.
            shape = (self.out_channels, batch, height + 2 * ph, width + 2 * pw)
            if self.bias is None:
                out = torch.zeros(shape, dtype=torch.float32, device=x.device)
            else:
                out = self.bias.view(-1, 1, 1, 1).expand(shape).clone()
            for i in range(kh):
                for j in range(kw):
                    out[:, :, i : i + height, j : j + width] += planes[:, i, j]
            y = out[:, :, ph : ph + height, pw : pw + width].transpose(0, 1)  # (B, out, H, W)
        return torch.relu_(y) if self.relu else y


class InferenceLinear:
    """A trained `nn.Linear` (plus an optional ReLU, an optional reshape to images) for inference.

    With `image_shape` (C, H, W) the output rows are reordered once so the product comes out
    as (B, H, W, C): a channels_last (B, C, H, W) image batch without the copy a reshape and
    layout change would make before the next convolution.

    Args:
        layer: the trained layer.
        dtype: the compute dtype, torch.float32 or torch.bfloat16.
        relu: apply a ReLU to the output.
        image_shape: reshape the output (B, C*H*W) to images (B, C, H, W), channels_last.
    """

    def __init__(
        self,
        layer: nn.Linear,
        dtype: torch.dtype,
        relu: bool,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        weight, bias = layer.weight.detach(), layer.bias
        bias = bias.detach() if bias is not None else None
        if image_shape is not None:
            channels, height, width = image_shape
            order = torch.arange(layer.out_features).view(channels, height, width)
            order = order.permute(1, 2, 0).reshape(-1)  # output row (h, w, c) <- (c, h, w)
            weight = weight[order]
            bias = bias[order] if bias is not None else None
        self.weight = weight.to(dtype).contiguous()
        self.bias = bias.to(dtype) if bias is not None else None
        self.relu, self.image_shape = relu, image_shape

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x.to(self.weight.dtype), self.weight, self.bias)
        if self.relu:
            y = torch.relu_(y)
        if self.image_shape is None:
            return y
        channels, height, width = self.image_shape
        return y.view(-1, height, width, channels).permute(0, 3, 1, 2)  # NHWC memory
