"""Small helpers the architectures share: padding to a multiple, noise-level maps, float32 FFT guards."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Pad the bottom and right of ``x`` so that H and W are multiples of ``multiple``.

    Reflect padding where the image is large enough for it, replicate otherwise, so tiny
    inputs still work. Crop the result back with ``out[..., :h, :w]``.

    Shape:
        ``(N, C, H, W) -> (N, C, ceil(H / m) * m, ceil(W / m) * m)``.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


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
