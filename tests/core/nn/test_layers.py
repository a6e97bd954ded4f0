"""The fast layers compute what the stock PyTorch layers compute, gradients included."""

import pytest
import torch
from torch import nn

from jlml_core.nn.layers import (
    Conv2dViaFold,
    ConvTranspose2dBiasAfter,
    InferenceConv2d,
    InferenceConvTranspose2d,
    InferenceLinear,
    to_stock_layers,
)


def _pair(in_channels: int, out_channels: int) -> tuple[nn.ConvTranspose2d, nn.ConvTranspose2d]:
    torch.manual_seed(0)
    stock = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1)
    fast = ConvTranspose2dBiasAfter(
        in_channels, out_channels, 3, stride=2, padding=1, output_padding=1
    )
    fast.load_state_dict(stock.state_dict())
    return stock, fast


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize(("in_channels", "out_channels", "side"), [(32, 64, 7), (64, 32, 14)])
def test_bias_after_matches_stock_transposed_convolution(
    memory_format: torch.memory_format, in_channels: int, out_channels: int, side: int
) -> None:
    stock, fast = _pair(in_channels, out_channels)
    stock, fast = stock.to(memory_format=memory_format), fast.to(memory_format=memory_format)
    x = torch.randn(8, in_channels, side, side).contiguous(memory_format=memory_format)
    x.requires_grad_(True)
    expected, actual = stock(x), fast(x)
    assert actual.shape == (8, out_channels, 2 * side, 2 * side)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    upstream = torch.randn_like(expected)
    grads_stock = torch.autograd.grad(expected, [x, stock.weight, stock.bias], upstream)
    grads_fast = torch.autograd.grad(actual, [x, fast.weight, fast.bias], upstream)
    for got, want in zip(grads_fast, grads_stock, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_bias_after_keeps_state_dict_keys_and_output_size_argument() -> None:
    stock, fast = _pair(4, 3)
    assert list(fast.state_dict()) == list(stock.state_dict()) == ["weight", "bias"]
    x = torch.randn(2, 4, 5, 5)
    # An explicit output_size picks the output padding, as in the stock layer.
    torch.testing.assert_close(fast(x, output_size=[9, 9]), stock(x, output_size=[9, 9]))


def test_layer_without_bias_falls_back_to_the_stock_forward() -> None:
    layer = ConvTranspose2dBiasAfter(4, 3, 3, stride=2, padding=1, output_padding=1, bias=False)
    assert layer(torch.randn(2, 4, 5, 5)).shape == (2, 3, 10, 10)


def test_to_stock_layers_swaps_nested_fast_layers() -> None:
    _, fast = _pair(4, 3)
    model = nn.Sequential(nn.Sequential(fast), nn.ReLU(), Conv2dViaFold(3, 1, 3, padding=1))
    x = torch.randn(2, 4, 5, 5)
    before = model(x)
    to_stock_layers(model)
    assert type(model[0][0]) is nn.ConvTranspose2d
    assert type(model[2]) is nn.Conv2d
    torch.testing.assert_close(model(x), before)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize(("out_channels", "kernel"), [(1, 3), (3, 3), (2, 5)])
def test_conv_via_fold_matches_stock_convolution(
    memory_format: torch.memory_format, out_channels: int, kernel: int
) -> None:
    torch.manual_seed(0)
    stock = nn.Conv2d(8, out_channels, kernel, padding=kernel // 2)
    fast = Conv2dViaFold(8, out_channels, kernel, padding=kernel // 2)
    fast.load_state_dict(stock.state_dict())
    assert fast.uses_fold
    x = torch.randn(4, 8, 12, 10).contiguous(memory_format=memory_format).requires_grad_(True)
    expected, actual = stock(x), fast(x)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    upstream = torch.randn_like(expected)
    grads_stock = torch.autograd.grad(expected, [x, stock.weight, stock.bias], upstream)
    grads_fast = torch.autograd.grad(actual, [x, fast.weight, fast.bias], upstream)
    for got, want in zip(grads_fast, grads_stock, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize(("out_channels", "kernel"), [(1, 3), (2, 3), (1, 5)])
def test_conv_via_fold_in_bf16_matches_the_stock_convolution_of_the_same_bf16_values(
    memory_format: torch.memory_format, out_channels: int, kernel: int
) -> None:
    """bf16 training's path (taps as a 1x1 convolution, added by shifted slices in fp32)
    against the stock fp32 convolution of the bf16-rounded input and weights: equal up to the
    one bf16 rounding of each tap, gradients included."""
    torch.manual_seed(0)
    fast = Conv2dViaFold(8, out_channels, kernel, padding=kernel // 2)
    x = torch.randn(4, 8, 12, 10).contiguous(memory_format=memory_format)
    x16 = x.to(torch.bfloat16).requires_grad_(True)
    actual = fast(x16)
    assert actual.dtype == torch.float32 and actual.shape == (4, out_channels, 12, 10)
    x32 = x16.detach().float().requires_grad_(True)
    weight = fast.weight.detach().to(torch.bfloat16).float().requires_grad_(True)
    bias = fast.bias.detach().clone().requires_grad_(True)
    expected = nn.functional.conv2d(x32, weight, bias, padding=kernel // 2)
    torch.testing.assert_close(actual, expected, rtol=2e-2, atol=2e-2)
    upstream = torch.randn_like(expected)
    got = torch.autograd.grad(actual, [x16, fast.weight, fast.bias], upstream)
    want = torch.autograd.grad(expected, [x32, weight, bias], upstream)
    assert got[0].dtype == torch.bfloat16 and got[1].dtype == torch.float32
    for g, w in zip(got, want, strict=True):
        scale = w.abs().max().item()
        torch.testing.assert_close(g.float(), w, rtol=0, atol=2e-2 * scale)


@pytest.mark.parametrize(
    "settings", [{"stride": 2, "padding": 1}, {"padding": 0}, {"padding": 2, "dilation": 2}]
)
def test_conv_via_fold_falls_back_outside_stride_one_same_padding(settings: dict) -> None:
    torch.manual_seed(0)
    stock = nn.Conv2d(4, 2, 3, **settings)
    fast = Conv2dViaFold(4, 2, 3, **settings)
    fast.load_state_dict(stock.state_dict())
    assert not fast.uses_fold
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(fast(x), stock(x))


# --- inference-only layers ------------------------------------------------------------------

BF16_TOLERANCE = {"rtol": 2e-2, "atol": 2e-2}  # a few bf16 roundings of values of order 1


def _close_in(dtype: torch.dtype, actual: torch.Tensor, expected: torch.Tensor) -> None:
    tolerance = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else BF16_TOLERANCE
    torch.testing.assert_close(actual.float(), expected, **tolerance)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_inference_transposed_convolution_matches_the_stock_layer(
    memory_format: torch.memory_format, dtype: torch.dtype, relu: bool, fused: bool
) -> None:
    stock, fast = _pair(16, 8)
    step = InferenceConvTranspose2d(fast, dtype, relu)
    if not fused:
        step.fused = False  # the path for a PyTorch without oneDNN's fused entry point
    x = torch.randn(5, 16, 7, 7).contiguous(memory_format=memory_format)
    with torch.inference_mode():
        expected = stock(x).relu() if relu else stock(x)
        actual = step(x)
    assert actual.shape == (5, 8, 14, 14) and actual.dtype == dtype
    _close_in(dtype, actual, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize(
    ("out_channels", "kernel", "settings", "taps"),
    [
        (1, 3, {"padding": 1}, True),  # the decoders' last layer
        (3, 3, {"padding": 1}, True),
        (1, 5, {"padding": 2}, True),
        (4, 3, {"padding": 1}, False),  # 36 taps per pixel: the plain convolution
        (1, 3, {"padding": 1, "stride": 2}, False),
    ],
)
def test_inference_convolution_matches_the_stock_layer(
    memory_format: torch.memory_format,
    dtype: torch.dtype,
    out_channels: int,
    kernel: int,
    settings: dict,
    taps: bool,
) -> None:
    torch.manual_seed(0)
    stock = nn.Conv2d(8, out_channels, kernel, **settings)
    # Both ways of adding the taps into place: F.fold for small batches, shifted slices above.
    for batch in (3, InferenceConv2d.FOLD_MAX_BATCH + 1):
        x = torch.randn(batch, 8, 12, 10).contiguous(memory_format=memory_format)
        for relu in (False, True):
            for allow_taps in (True, False):  # False: oneDNN's convolution, as tuning may pick
                step = InferenceConv2d(stock, dtype, relu, taps=allow_taps)
                assert step.uses_taps == (taps and allow_taps)
                with torch.inference_mode():
                    expected = stock(x).relu() if relu else stock(x)
                    actual = step(x)
                assert actual.shape == expected.shape
                _close_in(dtype, actual, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_inference_linear_can_hand_out_channels_last_images(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    stock = nn.Linear(3, 4 * 5 * 6)
    x = torch.randn(7, 3)
    with torch.inference_mode():
        expected = stock(x).relu().reshape(7, 4, 5, 6)
        images = InferenceLinear(stock, dtype, relu=True, image_shape=(4, 5, 6))(x)
        flat = InferenceLinear(stock, dtype, relu=False)(x)
    assert images.shape == (7, 4, 5, 6) and images.is_contiguous(memory_format=torch.channels_last)
    _close_in(dtype, images, expected)
    _close_in(dtype, flat, stock(x).detach())
