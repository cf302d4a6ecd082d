"""Classical solvers: Wiener filtering and Richardson-Lucy deconvolution, pull-push hole filling.

The deconvolvers take the blurry image ``y`` (N, C, H, W) and the PSF used by
:class:`restore.operators.Blur`, and work in float32 (float64 if given float64).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .operators import Blur, fft_convolve, psf_to_otf

WienerBoundary = Literal["circular", "mirror"]


def _psf4(psf: Tensor) -> Tensor:
    return psf[None, None] if psf.dim() == 2 else psf[:, None]


def wiener_filter_fft(y: Tensor, psf: Tensor, nsr: float | Tensor, prior: Tensor | None = None) -> Tensor:
    """Circular Wiener deconvolution, ``X = (conj(K) Y + nsr Z) / (|K|^2 + nsr)``.

    ``nsr`` is the noise-to-signal power ratio: a scalar, a per-image ``(N,)`` tensor, or any
    tensor broadcastable to the ``(N, C, H, W // 2 + 1)`` spectrum (a per-frequency NSR). With
    ``nsr = 0`` and a PSF whose transfer function has no zeros this is the exact inverse.
    ``Z`` is the spectrum of ``prior`` (zero if ``None``): the result is then
    ``argmin_x ||k * x - y||^2 + nsr ||x - prior||^2``, the closed-form proximal step of an
    L2-regularised blur (deepinv's ``BlurFFT.prox_l2``), which the Wiener network reuses on
    features and :func:`hqs_deconvolve` alternates with a denoiser.
    """
    work = torch.float64 if y.dtype == torch.float64 else torch.float32
    otf = psf_to_otf(_psf4(psf).to(device=y.device, dtype=work), y.shape[-2:])
    if isinstance(nsr, Tensor) and nsr.dim() == 1:
        nsr = nsr.view(-1, 1, 1, 1)
    if isinstance(nsr, Tensor):
        nsr = nsr.to(device=y.device, dtype=work)
    spectrum = torch.fft.rfft2(y.to(work)) * otf.conj()
    if prior is not None:
        spectrum = spectrum + nsr * torch.fft.rfft2(prior.to(work))
    x_hat = torch.fft.irfft2(spectrum / (otf.abs() ** 2 + nsr), s=y.shape[-2:])
    return x_hat.to(y.dtype)


def taper_extend(y: Tensor, psf: Tensor, pad: int) -> Tensor:
    """Reflect-extend by ``pad`` pixels, then fade the new band into its circular blur.

    MATLAB's ``edgetaper`` on a reflect-padded image: the outermost pixels equal the
    periodically blurred image, so a circular deconvolution of a real, non-periodic
    photograph does not ring at the frame.
    """
    ext = F.pad(y, (pad, pad, pad, pad), mode="reflect")
    blurred = fft_convolve(ext, psf)
    t = torch.linspace(0, 1, pad + 2, dtype=y.dtype, device=y.device)[1:-1]
    edge = 0.5 - 0.5 * torch.cos(torch.pi * t)

    def ramp(n: int) -> Tensor:
        r = torch.ones(n, dtype=y.dtype, device=y.device)
        r[:pad], r[n - pad :] = edge, edge.flip(0)
        return r

    weight = ramp(ext.shape[-2])[:, None] * ramp(ext.shape[-1])[None, :]
    return weight * ext + (1 - weight) * blurred


def natural_image_nsr(size: tuple[int, int], sigma: Tensor, variance: Tensor, *, strength: float = 20.0) -> Tensor:
    """Per-frequency NSR ``strength * sigma^2 / P(f)`` under a ``1 / (|f|^2 + f0^2)`` image spectrum.

    Natural images have power spectra falling as ``1/|f|^2`` (Field 1987); ``P`` is scaled so
    that its mean is the image variance (Parseval). ``strength`` was set on scikit-image's
    sample photographs (never on benchmark sets). Returns ``(N, 1, H, W // 2 + 1)``.
    """
    h, w = size
    fy = torch.fft.fftfreq(h, dtype=variance.dtype, device=variance.device)[:, None]
    fx = torch.fft.rfftfreq(w, dtype=variance.dtype, device=variance.device)[None, :]
    prior = 1.0 / (fy**2 + fx**2 + 1e-3)
    prior = prior / prior.mean()
    return strength * (sigma**2 / variance).view(-1, 1, 1, 1) / prior


def wiener_deconvolve(
    y: Tensor,
    psf: Tensor,
    *,
    sigma: float | Tensor | None = None,
    nsr: float | Tensor | None = None,
    boundary: WienerBoundary = "mirror",
) -> Tensor:
    """Wiener deconvolution with a known PSF and either a noise level or an NSR.

    Given ``sigma`` (noise std, [0, 1] scale) the NSR follows a natural-image spectrum
    (:func:`natural_image_nsr`), with the signal variance estimated as ``var(y) - sigma^2``.
    ``boundary="mirror"`` extends the image by :func:`taper_extend` first, for real
    photographs; ``"circular"`` assumes a periodic blur.

    Example:
        >>> from restore.kernels import gaussian_kernel
        >>> x = torch.rand(1, 1, 32, 32, dtype=torch.float64)
        >>> k = gaussian_kernel(1.0)
        >>> y = Blur(k).A(x)
        >>> err = (wiener_deconvolve(y, k, nsr=0.0, boundary="circular") - x).abs().max()
    """
    if (sigma is None) == (nsr is None):
        raise ValueError("give exactly one of sigma or nsr")
    if boundary not in ("circular", "mirror"):
        raise ValueError(f"unknown boundary {boundary!r}")
    h, w = y.shape[-2:]
    pad = 0 if boundary == "circular" else min(max(psf.shape[-2:]), h - 1, w - 1)
    y_ext = taper_extend(y, psf, pad) if pad else y
    if nsr is None:
        work = torch.float64 if y.dtype == torch.float64 else torch.float32
        var_y = y.to(work).var(dim=(-3, -2, -1))
        sigma_t = torch.as_tensor(sigma, dtype=work, device=y.device).reshape(-1)
        nsr = natural_image_nsr(y_ext.shape[-2:], sigma_t, (var_y - sigma_t**2).clamp_min(1e-4))
    if not pad:
        return wiener_filter_fft(y, psf, nsr)
    x_ext = wiener_filter_fft(y_ext, psf, nsr)
    return x_ext[..., pad : pad + h, pad : pad + w]


def richardson_lucy(y: Tensor, psf: Tensor, *, iterations: int = 30, eps: float = 1e-6) -> Tensor:
    """Richardson-Lucy deconvolution, ``x <- x * A^T(y / A x)``, with replicate boundaries.

    The maximum-likelihood iteration for Poisson noise (Richardson 1972, Lucy 1974); the
    iteration count is the regulariser.
    """
    blur = Blur(psf.to(y.dtype), boundary="replicate")
    y = y.clamp_min(0)
    x = y.mean(dim=(-2, -1), keepdim=True).clamp_min(eps).expand_as(y).clone()
    norm = blur.A_adjoint(torch.ones_like(y)).clamp_min(eps)
    for _ in range(iterations):
        x = x * blur.A_adjoint(y / blur.A(x).clamp_min(eps)) / norm
    return x


def pull_push_fill(y: Tensor, mask: Tensor) -> Tensor:
    """Fill the holes of ``y`` (``mask`` 1 = known) smoothly from the known pixels around them.

    Pull-push (Gortler et al., "The Lumigraph", SIGGRAPH 1996): halve the known-weighted image
    ``y * mask`` and the mask until one pixel is left, then, going back up, keep each level's
    known part and take the missing fraction from the bilinearly upsampled coarser level,
    ``fill_l = num_l + (1 - den_l) * up(fill_{l+1})``. Known pixels are returned unchanged; a
    wholly unknown image becomes 0.5. Cost is linear in the pixels, at any size.

    Shape:
        ``y: (N, C, H, W)``, ``mask: (N, 1, H, W)`` -> ``(N, C, H, W)``.
    """
    mask = mask.to(y.dtype)
    levels = [(y * mask, mask)]
    while max(levels[-1][1].shape[-2:]) > 1:
        num, den = levels[-1]
        # ceil_mode divides edge windows by their in-bounds size, so den stays a known fraction
        levels.append((F.avg_pool2d(num, 2, ceil_mode=True), F.avg_pool2d(den, 2, ceil_mode=True)))
    num, den = levels.pop()
    fill = torch.where(den > 0, num / den.clamp_min(1e-12), torch.full_like(num, 0.5))
    for num, den in reversed(levels):
        up = F.interpolate(fill, size=num.shape[-2:], mode="bilinear", align_corners=False)
        fill = num + (1 - den) * up
    return fill


def hqs_deconvolve(
    y: Tensor,
    psf: Tensor,
    sigma: float | Tensor,
    denoise: Callable[[Tensor, Tensor], Tensor],
    *,
    iterations: int = 8,
    first_level: float = 49 / 255,
    weight: float | Tensor = 0.23,
) -> Tensor:
    """Plug-and-play deconvolution: half-quadratic splitting with a denoiser as the prior.

    Alternates ``x = argmin ||k * x - y||^2 + alpha_i ||x - z||^2`` (the closed-form
    :func:`wiener_filter_fft` with a prior) and ``z = denoise(x, s_i)``, the denoiser's level
    ``s_i`` falling geometrically from ``max(first_level, 2 sigma)`` to the noise level ``sigma``
    and ``alpha_i = weight_i * sigma^2 / s_i^2`` (Zhang et al., "Plug-and-Play Image Restoration
    with Deep Denoiser Prior", TPAMI 2021; their 8 iterations, 49/255 and 0.23). The image is
    extended by :func:`taper_extend` so the circular model fits a real photograph.

    ``sigma`` is a scalar or a per-image ``(N,)`` tensor; ``weight`` is a scalar or one per
    iteration (learnable in :class:`restore.models.unrolled.UnrolledHQS`). ``denoise`` receives
    the image and the ``(N,)`` levels.

    Shape:
        ``y: (N, C, H, W)``, ``psf: (kh, kw)`` or ``(N, kh, kw)`` -> ``(N, C, H, W)``.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    n, (h, w) = y.shape[0], y.shape[-2:]
    pad = min(max(psf.shape[-2:]), h - 1, w - 1)
    y_ext = taper_extend(y, psf, pad)
    sigma_n = torch.as_tensor(sigma, dtype=torch.float32, device=y.device).reshape(-1).expand(n).clamp_min(1e-3)
    first = (2 * sigma_n).clamp_min(first_level)
    t = torch.linspace(0, 1, iterations, device=y.device)[:, None]
    levels = first ** (1 - t) * sigma_n**t  # (iterations, N), geometric from first to sigma
    weights = torch.as_tensor(weight, dtype=torch.float32, device=y.device).reshape(-1).expand(iterations)
    z = y_ext
    for weight_i, level in zip(weights, levels, strict=True):
        x = wiener_filter_fft(y_ext, psf, weight_i * sigma_n**2 / level**2, prior=z)
        z = denoise(x, level)
    return z[..., pad : pad + h, pad : pad + w]
