"""Frequency-domain losses: spectral amplitude and phase, and the focal frequency loss.

Spectra are orthonormal 2-D FFTs of each channel, computed in float32 (float64 for float64
inputs) with autocast off; the losses are returned in that precision.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _spectra(x_hat: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    if x_hat.shape != x.shape or x.dim() != 4:
        raise ValueError(f"expected two (N, C, H, W) tensors of one shape, got {tuple(x_hat.shape)}, {tuple(x.shape)}")
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    with torch.autocast(device_type=x.device.type, enabled=False):
        return torch.fft.fft2(x_hat.to(work), norm="ortho"), torch.fft.fft2(x.to(work), norm="ortho")


def fft_loss(
    x_hat: Tensor,
    x: Tensor,
    *,
    amplitude_weight: float = 1.0,
    phase_weight: float = 1.0,
    eps: float = 1e-8,
) -> Tensor:
    """Spectral amplitude L1 plus wrapped phase-difference L1.

    ``L = a * mean |(|X_hat| - |X|)| + p * mean_{|X_hat||X| > eps} |angle(X_hat conj(X))|`` with
    ``X = FFT2(x)``. ``angle(X_hat conj(X))`` is the phase difference wrapped to ``(-pi, pi]``;
    frequencies where either spectrum vanishes have no phase and are left out. Amplitude alone
    is blind to translations (they change only the phase), phase alone to contrast; the pair
    is zero exactly when the images are equal (cf. the FFT losses of MIMO-UNet, Cho et al.
    ICCV 2021, and of phase-aware restoration losses).

    Shape:
        ``x_hat, x: (N, C, H, W)`` -> scalar.

    Example:
        >>> x = torch.rand(1, 3, 16, 16)
        >>> float(fft_loss(x, x))
        0.0
    """
    spec_hat, spec = _spectra(x_hat, x)
    amplitude = (spec_hat.abs() - spec.abs()).abs().mean()
    cross = spec_hat * spec.conj()
    valid = cross.abs() > eps
    # angle() has an infinite gradient at 0: feed it a harmless value where the phase is undefined
    phase_diff = torch.angle(torch.where(valid, cross, torch.ones_like(cross))).abs()
    phase = (phase_diff * valid).sum() / valid.sum().clamp_min(1)
    return amplitude_weight * amplitude + phase_weight * phase


def focal_frequency_loss(
    x_hat: Tensor,
    x: Tensor,
    *,
    alpha: float = 1.0,
    log_weight: bool = False,
    batch_spectrum: bool = False,
) -> Tensor:
    """Focal frequency loss (Jiang, Dai, Wu, Loy, ICCV 2021).

    ``L = mean_{u,v} w(u, v) |X_hat(u, v) - X(u, v)|^2`` with the spectrum weight
    ``w = |X_hat - X|^alpha`` (``log(1 + .)`` of it with ``log_weight``), normalised to [0, 1]
    by its maximum per image and channel and treated as a constant (no gradient): frequencies
    that are hard to synthesise get the most weight, and the weighting adapts as training
    progresses. ``batch_spectrum`` averages the spectra over the batch first (the paper's
    ``ave_spectrum``). Zero at equality.

    Shape:
        ``x_hat, x: (N, C, H, W)`` -> scalar.

    Example:
        >>> x = torch.rand(2, 3, 16, 16)
        >>> float(focal_frequency_loss(x, x))
        0.0
    """
    spec_hat, spec = _spectra(x_hat, x)
    if batch_spectrum:
        spec_hat, spec = spec_hat.mean(0, keepdim=True), spec.mean(0, keepdim=True)
    diff = spec_hat - spec
    distance = diff.real.pow(2) + diff.imag.pow(2)
    with torch.no_grad():
        weight = distance.sqrt().pow(alpha)
        if log_weight:
            weight = torch.log1p(weight)
        peak = weight.amax(dim=(-2, -1), keepdim=True)
        weight = torch.where(peak > 0, weight / peak.clamp_min(torch.finfo(weight.dtype).tiny), 0.0)
    return (weight * distance).mean()
