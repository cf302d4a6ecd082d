"""Small helpers the architectures share: padding to a multiple, noise-level maps, float32 FFT guards."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from restore.engine import pad_to_multiple  # noqa: F401 (re-exported for the architectures)


def estimate_sigma(y: Tensor) -> Tensor:
    """Blind noise level ``(N,)`` from the core's estimator, :func:`restore.estimate.estimate_sigma`.

    Imported at call time, so the estimator can be swapped (or monkeypatched in tests) without
    rebuilding models.
    """
    from restore import estimate

    return estimate.estimate_sigma(y)


def noise_level(sigma: float | Tensor | None, y: Tensor) -> Tensor:
    """Per-image noise level ``(N,)`` in ``y``'s dtype; ``None`` estimates it from ``y``.

    Accepts a Python float, a 0-d tensor, an ``(N,)`` tensor or ``None`` (blind mode).
    """
    if sigma is None:
        sigma = estimate_sigma(y)
    sigma = torch.as_tensor(sigma, dtype=y.dtype, device=y.device)
    if sigma.dim() == 0:
        sigma = sigma.expand(y.shape[0])
    if sigma.shape != (y.shape[0],):
        raise ValueError(f"sigma must be a float or an (N,) tensor with N={y.shape[0]}, got {tuple(sigma.shape)}")
    return sigma


def fft_dtype(x: Tensor) -> torch.dtype:
    """float64 for float64 inputs, float32 for everything else (half types have no CPU FFT)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _onednn_applies(x: Tensor) -> bool:
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and x.dim() == 4
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and not torch.is_autocast_enabled("cpu")  # autocast would not reach the direct oneDNN call
    )


def onednn_fusion_applies(x: Tensor) -> bool:
    """Whether :func:`onednn_conv` may fuse an operation into a convolution on ``x``: oneDNN applies, no autograd.

    The fused kernel is oneDNN's convolution with a post-op, reached through PyTorch's private
    ``torch.ops.mkldnn._convolution_pointwise`` (what ``torch.compile`` emits on CPU); where a
    PyTorch build lacks it, callers keep their plain path.
    """
    return not torch.is_grad_enabled() and _onednn_applies(x) and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def onednn_conv(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    *,
    groups: int = 1,
    padding: int = 0,
    then: tuple[str, Tensor] | None = None,
) -> Tensor:
    """``conv(x)`` (stride 1) on oneDNN; ``then=("add" or "mul", other)`` gives ``conv(x) + other`` or ``* other``.

    The fused operation is applied as each output block is written, so it costs no pass of its own
    over the map. The plain convolution runs wherever oneDNN does, autograd included; a fused one only where
    :func:`onednn_fusion_applies`. ``other`` has the output's shape.

    Example:
        >>> x, w, b, other = torch.rand(1, 4, 6, 5), torch.rand(3, 4, 1, 1), torch.rand(3), torch.rand(1, 3, 6, 5)
        >>> with torch.no_grad():
        ...     fused = onednn_conv(x, w, b, then=("mul", other))
        >>> torch.allclose(fused, nn.functional.conv2d(x, w, b) * other, atol=1e-6)
        True
    """
    if then is None:
        return torch.ops.aten.mkldnn_convolution(x, weight, bias, (padding, padding), (1, 1), (1, 1), groups)
    binary, other = then
    return torch.ops.mkldnn._convolution_pointwise.binary(
        x, other, weight, bias, [padding, padding], [1, 1], [1, 1], groups, binary, None, None, [], None
    )


class PointwiseConv2d(nn.Conv2d):
    """A 1x1 :class:`torch.nn.Conv2d` that runs on oneDNN for CPU float32 maps.

    PyTorch sends 1x1 convolutions on one CPU thread to its im2col path ("THNN is faster when
    single-threaded"), which on channels_last maps is 2-3x slower than oneDNN here and copies the
    bias over the whole output first (``scripts/pointwise_conv_speed.py``). oneDNN gives the same
    result and gradients; with more threads PyTorch already picks it. Same parameters and state
    dict as ``nn.Conv2d(in_channels, out_channels, 1)``.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.

    Example:
        >>> conv = PointwiseConv2d(4, 8)
        >>> x = torch.rand(1, 4, 5, 6)
        >>> torch.allclose(conv(x), nn.functional.conv2d(x, conv.weight, conv.bias), atol=1e-6)
        True
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size=1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if _onednn_applies(x):
            return onednn_conv(x, self.weight, self.bias)
        return super().forward(x)
