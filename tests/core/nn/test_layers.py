"""The fast layers compute what the stock PyTorch layers compute, gradients included."""

import pytest
import torch
from torch import nn

from jlml_core.nn.layers import Conv2dViaFold, ConvTranspose2dBiasAfter, to_stock_layers


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
