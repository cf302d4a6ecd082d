"""Plug-and-play deconvolution unrolled into a network and trained end to end.

:func:`restore.solvers.hqs_deconvolve` alternates a closed-form Wiener step with a denoiser.
Run with a denoiser trained for Gaussian noise, the denoiser meets the structured ringing of the
early Wiener steps, which it never saw. Unrolling a fixed number of iterations and training the
shared denoiser (and one Wiener weight per iteration) on the deblurred output teaches it exactly
those artefacts (USRNet: Zhang, Van Gool, Timofte, "Deep Unfolding Network for Image
Super-Resolution", CVPR 2020).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from restore.solvers import hqs_deconvolve

from .common import noise_level
from .denoiser import NAFNET_DENOISER_SMALL, NAFNetDenoiser


class UnrolledHQS(nn.Module):
    """``iterations`` half-quadratic splitting steps around one shared NAFNet denoiser.

    Iteration ``i``: ``x = argmin ||k * x - y||^2 + alpha_i ||x - z||^2`` then
    ``z = D(x, s_i)``, with the level ``s_i`` falling geometrically from
    ``max(first_level, 2 sigma)`` to ``sigma`` and ``alpha_i = w_i sigma^2 / s_i^2``; the
    ``w_i`` are learned (in log space), starting at ``weight``. The denoiser's arguments are
    :class:`~restore.models.denoiser.NAFNetDenoiser`'s, so a trained denoiser initialises it
    (``run.init_matching``).

    Shape:
        ``y: (N, C, H, W)``, ``psf: (kh, kw)`` or ``(N, kh, kw)``, ``sigma``: float, ``(N,)`` or
        ``None`` (estimated) -> ``(N, C, H, W)``.

    Example:
        >>> net = UnrolledHQS(iterations=2, width=8, enc_blocks=(1,), middle_blocks=1, dec_blocks=(1,))
        >>> net(torch.rand(1, 1, 40, 36), torch.ones(5, 5) / 25, 0.01).shape
        torch.Size([1, 1, 40, 36])
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        iterations: int = 4,
        first_level: float = 10 / 255,
        weight: float = 0.23,
        width: int = 16,
        enc_blocks: Sequence[int] = (1, 1, 2),
        middle_blocks: int = 2,
        dec_blocks: Sequence[int] = (1, 1, 1),
    ):
        super().__init__()
        self.in_channels, self.iterations, self.first_level = in_channels, iterations, first_level
        self.denoiser = NAFNetDenoiser(
            in_channels=in_channels,
            width=width,
            enc_blocks=enc_blocks,
            middle_blocks=middle_blocks,
            dec_blocks=dec_blocks,
        )
        self.log_weights = nn.Parameter(torch.full((iterations,), math.log(weight)))

    def forward(self, y: Tensor, psf: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        x_hat = hqs_deconvolve(
            y,
            psf,
            noise_level(sigma, y),
            self.denoiser,
            iterations=self.iterations,
            first_level=self.first_level,
            weight=self.log_weights.exp(),
        )
        return x_hat.to(y.dtype)


HQS_UNROLLED: dict = {
    **NAFNET_DENOISER_SMALL,
    "in_channels": 1,
    "iterations": 4,
    "first_level": 10 / 255,
    "weight": 0.23,
}
"""Four iterations around the shipped small denoiser's architecture."""
