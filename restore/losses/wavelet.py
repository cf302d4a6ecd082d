"""Differentiable 2-D discrete wavelet transform in torch, and a sub-band L1 loss.

Filters come from pywavelets (``pywt.Wavelet(name).rec_lo`` etc.); the transform is one grouped,
stride-2 ``conv2d`` per level with periodic extension, and its inverse the matching
``conv_transpose2d``. For an orthogonal wavelet (Haar, Daubechies ``dbN``, Symlets ``symN``...)
the periodic transform is an orthogonal matrix, so the inverse is its transpose and
reconstruction is exact to rounding. Coefficients equal ``pywt.wavedec2(x, name,
mode="periodization")``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pywt
import torch
import torch.nn.functional as F
from torch import Tensor


def wavelet_filters(wavelet: str, *, dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """The four separable 2-D analysis filters ``(4, L, L)``: LL, then pywt's H, V, D details.

    ``LL = lo lo^T``, ``H = hi lo^T`` (detail across rows), ``V = lo hi^T``, ``D = hi hi^T``,
    with ``lo``/``hi`` pywt's ``rec_lo``/``rec_hi`` (the time-reversed analysis filters, which is
    what a correlation such as ``conv2d`` needs). Raises ``ValueError`` for a non-orthogonal
    wavelet, whose transpose is not its inverse.
    """
    w = pywt.Wavelet(wavelet)
    if not w.orthogonal:
        raise ValueError(f"wavelet {wavelet!r} is not orthogonal; use haar, dbN, symN or coifN")
    lo = torch.tensor(w.rec_lo, dtype=torch.float64)
    hi = torch.tensor(w.rec_hi, dtype=torch.float64)
    bank = torch.stack([torch.outer(a, b) for a, b in ((lo, lo), (hi, lo), (lo, hi), (hi, hi))])
    return bank.to(device=device, dtype=dtype)


def _wrap(x: Tensor, before: int, after: int) -> Tensor:
    """Periodic extension of the last two axes, by index so any amount works on any size."""
    for dim in (-2, -1):
        n = x.shape[dim]
        index = torch.arange(-before, n + after, device=x.device) % n
        x = x.index_select(dim, index)
    return x


def _fold(x: Tensor, before: int, after: int) -> Tensor:
    """Adjoint of :func:`_wrap`: add the extended borders back onto the periods they copy."""
    for dim in (-2, -1):
        n = x.shape[dim] - before - after
        index = torch.arange(-before, n + after, device=x.device) % n
        shape = list(x.shape)
        shape[dim] = n
        x = x.new_zeros(shape).index_add(dim if dim >= 0 else x.dim() + dim, index, x)
    return x


def dwt2(x: Tensor, *, wavelet: str = "haar", levels: int = 1) -> tuple[Tensor, list[Tensor]]:
    """Multi-level periodic 2-D DWT: ``x -> (LL_J, [D_1, ..., D_J])``, finest level first.

    One level is ``conv2d(wrap(x), filters, stride=2, groups=C)`` on the periodised image.

    Shape:
        ``x: (N, C, H, W)`` with H and W divisible by ``2 ** levels`` -> ``LL_J: (N, C, H / 2^J, W / 2^J)``,
        ``D_j: (N, C, 3, H / 2^j, W / 2^j)`` (pywt's H, V, D order).

    Example:
        >>> ll, details = dwt2(torch.rand(1, 1, 16, 16), wavelet="db2", levels=2)
        >>> ll.shape, details[1].shape
        (torch.Size([1, 1, 4, 4]), torch.Size([1, 1, 3, 4, 4]))
    """
    n, c, h, w = x.shape
    if h % 2**levels or w % 2**levels:
        raise ValueError(f"image size {h}x{w} is not divisible by 2**levels = {2**levels}")
    bank = wavelet_filters(wavelet, dtype=x.dtype, device=x.device)
    length = bank.shape[-1]
    weight = bank[:, None].repeat(c, 1, 1, 1)
    pad = length // 2 - 1  # aligns the phase with pywt's "periodization" mode
    details = []
    ll = x
    for _ in range(levels):
        coeffs = F.conv2d(_wrap(ll, pad, pad), weight, stride=2, groups=c)
        coeffs = coeffs.unflatten(1, (c, 4))
        ll = coeffs[:, :, 0]
        details.append(coeffs[:, :, 1:])
    return ll, details


def idwt2(ll: Tensor, details: Sequence[Tensor], *, wavelet: str = "haar") -> Tensor:
    """Inverse of :func:`dwt2` (its transpose): ``conv_transpose2d`` then fold the periodic borders.

    Shape:
        as returned by :func:`dwt2` -> ``(N, C, H, W)``.

    Example:
        >>> x = torch.rand(1, 2, 16, 24, dtype=torch.float64)
        >>> bool((idwt2(*dwt2(x, wavelet="db4", levels=2), wavelet="db4") - x).abs().max() < 1e-12)
        True
    """
    c = ll.shape[1]
    bank = wavelet_filters(wavelet, dtype=ll.dtype, device=ll.device)
    length = bank.shape[-1]
    weight = bank[:, None].repeat(c, 1, 1, 1)
    pad = length // 2 - 1
    for detail in reversed(list(details)):
        coeffs = torch.cat([ll[:, :, None], detail], dim=2).flatten(1, 2)
        ll = _fold(F.conv_transpose2d(coeffs, weight, stride=2, groups=c), pad, pad)
    return ll


def wavelet_loss(
    x_hat: Tensor,
    x: Tensor,
    *,
    wavelet: str = "haar",
    levels: int = 3,
    detail_weights: Sequence[float] | None = None,
    approximation_weight: float = 1.0,
) -> Tensor:
    """Weighted L1 between the wavelet sub-bands of ``x_hat`` and ``x``.

    ``L = sum_j w_j mean |D_j(x_hat) - D_j(x)| + w_a mean |LL_J(x_hat) - LL_J(x)|`` over the
    ``levels`` detail levels (finest first) and the final approximation. Sub-band losses
    penalise missing high-frequency detail separately from low-frequency errors (e.g. the
    wavelet losses of WaveletSRNet, Huang et al. ICCV 2017). Inputs whose size is not a
    multiple of ``2 ** levels`` are reflect-padded at the bottom and right.

    Args:
        wavelet: an orthogonal pywt wavelet name (``"haar"``, ``"db2"``, ``"db4"``, ...).
        levels: decomposition levels.
        detail_weights: one weight per level, finest first; default all 1.
        approximation_weight: weight of the coarsest approximation band.

    Shape:
        ``x_hat, x: (N, C, H, W)`` -> scalar.

    Example:
        >>> x = torch.rand(1, 3, 37, 53)
        >>> float(wavelet_loss(x, x, wavelet="db2"))
        0.0
    """
    if x_hat.shape != x.shape or x.dim() != 4:
        raise ValueError(f"expected two (N, C, H, W) tensors of one shape, got {tuple(x_hat.shape)}, {tuple(x.shape)}")
    weights = [1.0] * levels if detail_weights is None else [float(w) for w in detail_weights]
    if len(weights) != levels:
        raise ValueError(f"need {levels} detail weights, got {len(weights)}")
    h, w = x.shape[-2:]
    multiple = 2**levels
    pad = (0, -w % multiple, 0, -h % multiple)
    if any(pad):
        mode = "reflect" if pad[1] < w and pad[3] < h else "replicate"
        x_hat, x = F.pad(x_hat, pad, mode=mode), F.pad(x, pad, mode=mode)
    ll_hat, details_hat = dwt2(x_hat, wavelet=wavelet, levels=levels)
    ll, details = dwt2(x, wavelet=wavelet, levels=levels)
    total = approximation_weight * (ll_hat - ll).abs().mean()
    for weight, d_hat, d in zip(weights, details_hat, details, strict=True):
        total = total + weight * (d_hat - d).abs().mean()
    return total
