"""Noise-level estimation from a single noisy image.

The estimator is the patch-PCA method of Chen, Zhu and Heng, "An Efficient Statistical
Method for Image Noise Level Estimation" (ICCV 2015): natural image patches live near a
low-dimensional subspace, so the smallest eigenvalues of the patch covariance are noise.
It is accurate on textured photographs where the wavelet-MAD rule (Donoho 1995) over-reads
texture as noise; :func:`estimate_sigma_mad` is kept as the fast, classic alternative.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _patch_eigenvalues(y: Tensor, patch: int, max_patches: int) -> Tensor:
    patches = F.unfold(y[None].double(), patch).squeeze(0)  # (C*p*p, L)
    if patches.shape[1] > max_patches:
        step = patches.shape[1] // max_patches + 1
        patches = patches[:, ::step]
    patches = patches - patches.mean(dim=1, keepdim=True)
    cov = patches @ patches.T / patches.shape[1]
    return torch.linalg.eigvalsh(cov)  # ascending


def _sigma_from_eigenvalues(eig: Tensor) -> float:
    # Chen et al.: the largest tail of eigenvalues (smallest ones) whose mean does not
    # exceed its median is pure noise, and its mean is the noise variance.
    eig = eig.clamp_min(0)
    n = eig.numel()
    for k in range(n, 0, -1):
        tail = eig[:k]
        if tail.mean() <= tail.median():
            return float(tail.mean().sqrt())
    return float(eig[0].sqrt())


def _centre_crop(y: Tensor, size: int) -> Tensor:
    h, w = y.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return y[..., top : top + size, left : left + size]


def estimate_sigma(y: Tensor, *, patch: int = 7, max_patches: int = 200_000, max_size: int = 768) -> Tensor:
    """Noise standard deviation of each image in a batch, on the [0, 1] scale.

    Args:
        y: ``(N, C, H, W)`` noisy images (or ``(C, H, W)``); colour channels are assumed to
            share one noise level.
        max_size: larger images are estimated on their central ``max_size`` square.
    Returns:
        ``(N,)`` tensor of sigma estimates.

    Example:
        >>> x = torch.linspace(0, 1, 64 * 64).view(1, 1, 64, 64)
        >>> y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        >>> round(float(estimate_sigma(y)), 2)
        0.1
    """
    if y.dim() == 3:
        y = y[None]
    if y.dim() != 4 or min(y.shape[-2:]) < 2 * patch:
        raise ValueError(f"need (N, C, H, W) images of at least {2 * patch} px, got {tuple(y.shape)}")
    y = _centre_crop(y, max_size)
    channel_patch = patch if y.shape[1] == 1 else max(3, patch - 2)
    sigmas = [_sigma_from_eigenvalues(_patch_eigenvalues(img, channel_patch, max_patches)) for img in y]
    return torch.tensor(sigmas, dtype=torch.float32)


def estimate_sigma_mad(y: Tensor) -> Tensor:
    """Donoho's rule: ``sigma = median(|HH|) / 0.6745`` on the finest Haar diagonal band, per image."""
    if y.dim() == 3:
        y = y[None]
    gray = y.double().mean(dim=1, keepdim=True)
    h, w = gray.shape[-2:]
    gray = gray[..., : h - h % 2, : w - w % 2]
    hh = (gray[..., 0::2, 0::2] - gray[..., 0::2, 1::2] - gray[..., 1::2, 0::2] + gray[..., 1::2, 1::2]) / 2
    # Averaging channels divides the noise std by sqrt(C) for independent channel noise.
    scale = y.shape[1] ** 0.5
    return (hh.abs().flatten(1).median(dim=1).values / 0.6745 * scale).float()
