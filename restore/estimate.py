"""Noise-level estimation from a single noisy image.

Patch PCA (Chen, Zhu and Heng, "An Efficient Statistical Method for Image Noise Level
Estimation", ICCV 2015) on weakly textured patches (Liu, Tanaka and Okutomi, "Single-Image
Noise Level Estimation for Blind Denoising", TIP 2013). Natural image patches live near a
low-dimensional subspace, so the smallest eigenvalues of the patch covariance are noise; but
textured patches leak signal into them, which over-reads the noise (on 40 gray training images,
by +1.1 at sigma 15 and +4.5 at sigma 1 on the 0-255 scale; ``scripts/blind_denoising.py``). So
the estimate is refined on the patches whose gradient energy noise alone would explain at the
current estimate (there: +0.2). Colour patches (75 dimensions) keep a clean noise tail (mean
absolute error under 0.1 at sigma 5-25), and there the selection itself pulls the estimate low,
so only single-channel images are refined. :func:`estimate_sigma_mad` is kept as the fast, classic
alternative.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor


@functools.cache
def _noise_only_gradient_energy(patch: int, channels: int, quantile: float = 0.99) -> float:
    """The ``quantile`` of a patch's summed squared differences under unit-variance white noise.

    The energy is a quadratic form ``n^T M n`` of the noise; like Liu et al., approximate it by
    the gamma distribution of the same mean ``tr(M)`` and variance ``2 tr(M^2)``.
    """
    index = torch.arange(patch * patch).view(patch, patch)
    rows = [(index[:, 1:], index[:, :-1]), (index[1:, :], index[:-1, :])]
    pairs = torch.cat([torch.stack([a.flatten(), b.flatten()], 1) for a, b in rows])
    difference = torch.zeros(len(pairs), patch * patch, dtype=torch.float64)
    difference[torch.arange(len(pairs)), pairs[:, 0]] = 1
    difference[torch.arange(len(pairs)), pairs[:, 1]] = -1
    m = difference.T @ difference
    mean, variance = channels * m.trace(), channels * 2 * (m @ m).trace()
    shape, scale = mean**2 / variance, variance / mean
    low, high = torch.zeros((), dtype=torch.float64), 10 * mean
    for _ in range(60):  # bisection on the regularised incomplete gamma function
        mid = (low + high) / 2
        if torch.special.gammainc(shape, mid / scale) < quantile:
            low = mid
        else:
            high = mid
    return float(high)


def _gradient_energy(y: Tensor, patch: int) -> Tensor:
    """Summed squared horizontal and vertical differences inside every ``patch`` window, ``(H-p+1, W-p+1)``."""
    dh = (y[:, :, 1:] - y[:, :, :-1]).square().sum(0, keepdim=True)
    dv = (y[:, 1:, :] - y[:, :-1, :]).square().sum(0, keepdim=True)
    count = patch * (patch - 1)
    return (F.avg_pool2d(dh, (patch, patch - 1), stride=1) + F.avg_pool2d(dv, (patch - 1, patch), stride=1))[0] * count


def _sigma_from_eigenvalues(eig: Tensor) -> float:
    # Chen et al.: the largest tail of eigenvalues (smallest ones) whose mean does not
    # exceed its median is pure noise, and its mean is the noise variance.
    eig = eig.clamp_min(0).double()  # ascending, from eigvalsh
    k = torch.arange(1, eig.numel() + 1)
    tail_mean = eig.cumsum(0) / k
    noise_only = (tail_mean <= eig[(k - 1) // 2]).nonzero()  # lower median, as torch.median
    return float(tail_mean[noise_only[-1, 0]].sqrt() if len(noise_only) else eig[0].sqrt())


class _PrefixCovariance:
    """Covariances of every prefix of ``(L, D)`` rows from one pass of block Gram matrices.

    Rows are centred on their global mean first; prefixes stay close to it, so
    ``cov = P^T P / n - m m^T`` loses nothing to cancellation.
    """

    def __init__(self, rows: Tensor, block: int = 256):
        self.rows = rows - rows.mean(dim=0)
        full = len(rows) // block * block
        blocks = self.rows[:full].view(-1, block, rows.shape[1])
        zero = rows.new_zeros(1, rows.shape[1], rows.shape[1])
        self.grams = torch.cat([zero, (blocks.transpose(1, 2) @ blocks).cumsum(0)])
        self.sums = torch.cat([rows.new_zeros(1, rows.shape[1]), blocks.sum(1).cumsum(0)])
        self.block = block

    def __call__(self, n: int) -> Tensor:
        whole = min(n // self.block, len(self.grams) - 1)
        rest = self.rows[whole * self.block : n]
        mean = (self.sums[whole] + rest.sum(0)) / n
        return (self.grams[whole] + rest.T @ rest) / n - torch.outer(mean, mean)


def _image_sigma(y: Tensor, patch: int, max_patches: int, iterations: int) -> float:
    y = y.float()
    positions = (y.shape[1] - patch + 1) * (y.shape[2] - patch + 1)
    stride = math.ceil((positions / max_patches) ** 0.5)
    windows = y.unfold(1, patch, stride).unfold(2, patch, stride)  # (C, Lh, Lw, p, p)
    patches = windows.permute(1, 2, 0, 3, 4).flatten(2).flatten(0, 1)  # (L, C*p*p)
    if iterations:  # rows sorted by gradient energy: every weak-texture subset is then a prefix
        energy, order = _gradient_energy(y, patch)[::stride, ::stride].flatten().sort()
        patches = patches[order]
    covariance = _PrefixCovariance(patches)
    threshold = _noise_only_gradient_energy(patch, y.shape[0])

    def pca_sigma(n: int) -> float:
        return _sigma_from_eigenvalues(torch.linalg.eigvalsh(covariance(n).double()))

    sigma = pca_sigma(len(patches))
    for _ in range(iterations):
        weak = int(torch.searchsorted(energy, threshold * sigma**2))
        if weak < 10 * patches.shape[1]:
            break
        refined = pca_sigma(weak)
        if abs(refined - sigma) < 1e-5:
            return refined
        sigma = refined
    return sigma


def _centre_crop(y: Tensor, size: int) -> Tensor:
    h, w = y.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return y[..., top : top + size, left : left + size]


def estimate_sigma(
    y: Tensor, *, patch: int = 7, max_patches: int = 50_000, max_size: int = 768, iterations: int = 5
) -> Tensor:
    """Noise standard deviation of each image in a batch, on the [0, 1] scale.

    Args:
        y: ``(N, C, H, W)`` noisy images (or ``(C, H, W)``); colour channels are assumed to
            share one noise level.
        max_patches: patches are taken on a strided grid of about this many positions.
        max_size: larger images are estimated on their central ``max_size`` square.
        iterations: rounds of weak-texture selection on single-channel images (0: plain patch
            PCA over all patches; colour images always get plain patch PCA).
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
    if y.dim() != 4:
        raise ValueError(f"expected (N, C, H, W) images, got {tuple(y.shape)}")
    if min(y.shape[-2:]) < 2 * patch:
        height, width = y.shape[-2:]
        raise ValueError(
            f"{width}x{height} px is too small to estimate the noise level (needs {2 * patch}x{2 * patch});"
            " give the noise level instead"
        )
    y = _centre_crop(y, max_size)
    gray = y.shape[1] == 1
    channel_patch = patch if gray else max(3, patch - 2)
    sigmas = [_image_sigma(img, channel_patch, max_patches, iterations if gray else 0) for img in y]
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
