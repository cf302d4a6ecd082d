"""Pixel losses: L1, Charbonnier and MSE, each ``mean`` over all elements by default, and PSNR per image."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Reduction = Literal["mean", "sum", "none"]


def _reduce(loss: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"unknown reduction {reduction!r}")


def _check(x_hat: Tensor, x: Tensor) -> None:
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {tuple(x_hat.shape)} and {tuple(x.shape)}")


def l1_loss(x_hat: Tensor, x: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error, ``mean |x_hat - x|``.

    Shape:
        ``x_hat, x: (*)`` -> scalar (or ``(*)`` with ``reduction="none"``).

    Example:
        >>> float(l1_loss(torch.zeros(4), torch.full((4,), 0.5)))
        0.5
    """
    _check(x_hat, x)
    return _reduce((x_hat - x).abs(), reduction)


def charbonnier_loss(x_hat: Tensor, x: Tensor, *, eps: float = 1e-3, reduction: Reduction = "mean") -> Tensor:
    """Charbonnier (smooth L1) penalty, ``mean sqrt((x_hat - x)^2 + eps^2)``.

    Differentiable at zero, L1-like for errors much larger than ``eps`` (Charbonnier et al.
    1994; the default loss of LapSRN and many deblurring networks). Its minimum is ``eps``.

    Shape:
        ``x_hat, x: (*)`` -> scalar.

    Example:
        >>> round(float(charbonnier_loss(torch.zeros(4), torch.full((4,), 0.5))), 4)
        0.5
    """
    _check(x_hat, x)
    return _reduce(torch.sqrt((x_hat - x).pow(2) + eps**2), reduction)


def mse_loss(x_hat: Tensor, x: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error, ``mean (x_hat - x)^2``.

    Shape:
        ``x_hat, x: (*)`` -> scalar.

    Example:
        >>> float(mse_loss(torch.zeros(4), torch.full((4,), 0.5)))
        0.25
    """
    _check(x_hat, x)
    return _reduce((x_hat - x).pow(2), reduction)


def psnr_loss(x_hat: Tensor, x: Tensor, *, eps: float = 1e-8) -> Tensor:
    """Negative PSNR (peak 1) averaged over the batch, ``mean_i 10 log10(MSE_i + eps)``.

    Each image's gradient is its MSE gradient divided by its own MSE, so images with little
    noise weigh as much in dB as very noisy ones; a pixel loss averaged over the batch lets the
    noisiest images dominate (NAFNet trains its denoisers with this loss).

    Shape:
        ``x_hat, x: (N, *)`` -> scalar.

    Example:
        >>> float(psnr_loss(torch.zeros(1, 4), torch.full((1, 4), 0.1), eps=0))
        -20.0
    """
    _check(x_hat, x)
    mse = (x_hat - x).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(mse + eps).mean()
