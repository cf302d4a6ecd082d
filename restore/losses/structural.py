"""Structural losses: ``1 - SSIM`` and ``1 - MS-SSIM`` (optionally mixed with L1), via kornia."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import kornia
from torch import Tensor


def ssim_loss(x_hat: Tensor, x: Tensor, *, window_size: int = 11, max_val: float = 1.0) -> Tensor:
    """``1 - mean SSIM(x_hat, x)`` with an 11x11 Gaussian window (Wang et al., IEEE TIP 2004).

    Computed by :func:`kornia.metrics.ssim` with reflect padding; 0 at equality, at most 2.
    (kornia's own ``ssim_loss`` returns half of this.)

    Shape:
        ``x_hat, x: (N, C, H, W)`` -> scalar.

    Example:
        >>> x = torch.rand(1, 3, 32, 32)
        >>> float(ssim_loss(x, x))
        0.0
    """
    if x_hat.shape != x.shape or x.dim() != 4:
        raise ValueError(f"expected two (N, C, H, W) tensors of one shape, got {tuple(x_hat.shape)}, {tuple(x.shape)}")
    return 1 - kornia.metrics.ssim(x_hat, x, window_size, max_val=max_val).mean()


@lru_cache(maxsize=8)
def _ms_ssim_module(sigmas: tuple[float, ...], max_val: float, l1_weight: float) -> kornia.losses.MS_SSIMLoss:
    return kornia.losses.MS_SSIMLoss(sigmas=sigmas, data_range=max_val, alpha=1.0 - l1_weight, compensation=1.0)


def ms_ssim_loss(
    x_hat: Tensor,
    x: Tensor,
    *,
    sigmas: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
    max_val: float = 1.0,
    l1_weight: float = 0.0,
) -> Tensor:
    """``(1 - w) (1 - MS-SSIM) + w G * |x_hat - x|``, the loss of Zhao et al. (IEEE TCI 2017).

    The scales are Gaussian windows of the given ``sigmas`` at full resolution, as in Zhao et
    al. (not Wang's dyadic pyramid), via :class:`kornia.losses.MS_SSIMLoss`; ``G`` is the
    coarsest Gaussian. ``l1_weight=0`` is pure ``1 - MS-SSIM``; Zhao et al. use 0.16.

    Shape:
        ``x_hat, x: (N, C, H, W)`` -> scalar.

    Example:
        >>> x = torch.rand(1, 3, 48, 48)
        >>> float(ms_ssim_loss(x, x)) < 1e-6
        True
    """
    module = _ms_ssim_module(tuple(float(s) for s in sigmas), float(max_val), float(l1_weight))
    return module.to(x.device)(x_hat, x)
