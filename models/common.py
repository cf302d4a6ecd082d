"""Small helpers the architectures share: padding to a multiple, noise-level maps, float32 FFT guards."""

from __future__ import annotations

import torch
from torch import Tensor

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
