"""Non-blind deblurring network with image-space and feature-space Wiener deconvolution.

After DWDN (Dong, Roth, Schiele, "Deep Wiener Deconvolution: Wiener Meets Deep Learning for
Image Deblurring", NeurIPS 2020), which deconvolves learned feature maps with a closed-form
Wiener filter, and INFWIDE (Zhang et al., "INFWIDE: Image and Feature Space Wiener Deconvolution
Network for Non-blind Image Deblurring in Low-Light Conditions", IEEE TIP 2023), which runs the
Wiener filter in image space as well and fuses both. The Wiener filter is the core's
:func:`restore.solvers.wiener_filter_fft` (the closed-form proximal step of the L2-regularised
blur); the image boundary is handled by the core's :func:`restore.solvers.taper_extend`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from restore.solvers import taper_extend, wiener_filter_fft

from .common import fft_dtype, noise_level, pad_to_multiple

WienerBoundaryMode = Literal["taper", "circular"]


class ResidualBlock(nn.Module):
    """``x + conv(ReLU(conv(x)))`` with 3x3 convolutions.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, *, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class RefinementUNet(nn.Module):
    """A small U-Net of residual blocks: strided-conv down, transposed-conv up, additive skips.

    The last convolution starts at zero, so a fresh network outputs zero (the caller adds it to
    a closed-form estimate). Inputs are padded to a multiple of ``2 ** (len(widths) - 1)``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        widths: channels per scale, finest first.
        blocks: residual blocks per scale and direction.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.
    """

    def __init__(self, *, in_channels: int, out_channels: int, widths: Sequence[int], blocks: int = 1):
        super().__init__()
        widths = list(widths)
        self.multiple = 2 ** (len(widths) - 1)
        self.head = nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1)

        def stage(channels: int) -> nn.Sequential:
            return nn.Sequential(*(ResidualBlock(channels=channels) for _ in range(blocks)))

        self.encoders = nn.ModuleList(stage(c) for c in widths)
        self.downs = nn.ModuleList(
            nn.Conv2d(a, b, kernel_size=2, stride=2) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(b, a, kernel_size=2, stride=2) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.decoders = nn.ModuleList(stage(c) for c in widths[:-1])
        self.tail = nn.Conv2d(widths[0], out_channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, z: Tensor) -> Tensor:
        h, w = z.shape[-2:]
        x = self.head(pad_to_multiple(z, self.multiple))
        skips = []
        for encoder, down in zip(self.encoders[:-1], self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.encoders[-1](x)
        for i in reversed(range(len(self.ups))):
            x = self.decoders[i](self.ups[i](x) + skips[i])
        return self.tail(x)[..., :h, :w]


class WienerDeconvNet(nn.Module):
    """Image- and feature-space Wiener deconvolution fused by a refinement U-Net.

    With ``y_e`` the boundary-extended blurry image, ``K`` the PSF's transfer function and
    ``W(u, nsr) = F^-1[conj(K) F(u) / (|K|^2 + nsr)]``:

    - image branch: ``x_w = W(y_e, nsr_img)`` with ``nsr_img = sigma^2 exp(g(log sigma)) + min_nsr``,
      ``g`` a two-layer MLP of the noise level (INFWIDE's image-space Wiener);
    - feature branch: ``f_w[c] = W(E(y_e)[c], sigma^2 exp(a_c) + min_nsr)`` with ``E`` a shallow
      conv encoder and ``a_c`` a learned log-gain per channel (DWDN's feature-space Wiener);
    - output: ``x_hat = x_w + U([x_w, f_w, sigma * 1])``, all cropped back to ``H x W`` before ``U``.

    Both NSRs vanish at ``sigma = 0`` when ``min_nsr = 0``, so the image branch then inverts a
    circular blur exactly. With ``boundary="taper"`` the image is reflect-extended by the PSF size
    and tapered into its circular blur (:func:`restore.solvers.taper_extend`) before the FFTs, so
    a real, non-periodic blur does not ring at the frame; ``"circular"`` assumes a periodic blur.
    FFTs run in float32 (float64 for float64 inputs) with autocast off. ``U``'s last layer
    starts at zero: a fresh network returns the image-space Wiener estimate.

    Args:
        in_channels: image channels (the PSF is shared by all channels).
        feature_channels: channels of the feature branch.
        widths: channels of the refinement U-Net per scale.
        blocks: residual blocks per U-Net scale.
        boundary: ``"taper"`` or ``"circular"``.
        min_nsr: NSR floor, keeps zeros of the transfer function from blowing up noise-free inputs.

    Shape:
        ``y: (N, in_channels, H, W)``, ``psf: (kh, kw)`` or ``(N, kh, kw)`` centred at
        ``(kh // 2, kw // 2)`` with ``kh <= H``, ``kw <= W``, ``sigma``: float, ``(N,)`` tensor or
        ``None`` (estimated) -> ``(N, in_channels, H, W)``.

    Example:
        >>> from restore.kernels import gaussian_kernel
        >>> net = WienerDeconvNet(in_channels=1, widths=(8, 16))
        >>> net(torch.rand(2, 1, 37, 53), gaussian_kernel(1.5), 0.01).shape
        torch.Size([2, 1, 37, 53])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        feature_channels: int = 16,
        widths: Sequence[int] = (32, 64, 128),
        blocks: int = 1,
        boundary: WienerBoundaryMode = "taper",
        min_nsr: float = 1e-4,
    ):
        super().__init__()
        if boundary not in ("taper", "circular"):
            raise ValueError(f"unknown boundary {boundary!r}")
        self.in_channels = in_channels
        self.boundary = boundary
        self.min_nsr = min_nsr
        self.nsr_net = nn.Sequential(nn.Linear(1, 16), nn.SiLU(), nn.Linear(16, 1))
        # exp(g) ~ 30 is a reasonable scalar NSR gain for natural images before training
        nn.init.zeros_(self.nsr_net[2].weight)
        nn.init.constant_(self.nsr_net[2].bias, math.log(30.0))
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, feature_channels, kernel_size=3, padding=1, padding_mode="reflect"),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(feature_channels, feature_channels, kernel_size=3, padding=1, padding_mode="reflect"),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(feature_channels, feature_channels, kernel_size=3, padding=1, padding_mode="reflect"),
        )
        self.feature_log_nsr = nn.Parameter(torch.full((feature_channels,), math.log(30.0)))
        self.refine = RefinementUNet(
            in_channels=in_channels + feature_channels + 1, out_channels=in_channels, widths=widths, blocks=blocks
        )

    def _check(self, y: Tensor, psf: Tensor) -> Tensor:
        if y.dim() != 4 or y.shape[1] != self.in_channels:
            raise ValueError(f"expected y of shape (N, {self.in_channels}, H, W), got {tuple(y.shape)}")
        if psf.dim() not in (2, 3) or (psf.dim() == 3 and psf.shape[0] not in (1, y.shape[0])):
            raise ValueError(f"PSF must be (kh, kw) or (N, kh, kw) with N={y.shape[0]}, got {tuple(psf.shape)}")
        if psf.shape[-2] > y.shape[-2] or psf.shape[-1] > y.shape[-1]:
            raise ValueError(f"PSF {tuple(psf.shape[-2:])} is larger than the image {tuple(y.shape[-2:])}")
        return psf.to(device=y.device, dtype=fft_dtype(y))

    def _extend(self, y: Tensor, psf: Tensor) -> tuple[Tensor, int]:
        if self.boundary == "circular":
            return y, 0
        h, w = y.shape[-2:]
        pad = min(max(psf.shape[-2:]), h - 1, w - 1)
        return taper_extend(y, psf, pad), pad

    def image_nsr(self, sigma: Tensor) -> Tensor:
        """``nsr_img = sigma^2 exp(g(log sigma)) + min_nsr`` for an ``(N,)`` noise level."""
        param = self.nsr_net[0].weight
        t = torch.log(sigma.clamp_min(1e-4))[:, None].to(param.dtype)
        return sigma**2 * torch.exp(self.nsr_net(t)[:, 0]).to(sigma.dtype) + self.min_nsr

    def feature_nsr(self, sigma: Tensor) -> Tensor:
        """Per-channel ``nsr_c = sigma^2 exp(a_c) + min_nsr`` as an ``(N, F, 1, 1)`` tensor."""
        gain = torch.exp(self.feature_log_nsr).to(sigma.dtype)
        return (sigma[:, None] ** 2 * gain[None, :] + self.min_nsr)[..., None, None]

    def wiener_branches(self, y: Tensor, psf: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor]:
        """The image-space estimate ``(N, C, H, W)`` and the deconvolved features ``(N, F, H, W)``."""
        psf = self._check(y, psf)
        work = fft_dtype(y)
        h, w = y.shape[-2:]
        with torch.autocast(device_type=y.device.type, enabled=False):
            sigma = sigma.to(work)
            y_ext, pad = self._extend(y.to(work), psf)
            x_img = wiener_filter_fft(y_ext, psf, self.image_nsr(sigma))
            features = self.encoder(y_ext.to(self.encoder[0].weight.dtype)).to(work)
            features = wiener_filter_fft(features, psf, self.feature_nsr(sigma))
        crop = (..., slice(pad, pad + h), slice(pad, pad + w))
        return x_img[crop], features[crop]

    def image_wiener(self, y: Tensor, psf: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        """The image branch alone: ``W(y_e, nsr_img)`` cropped to ``H x W``."""
        return self.wiener_branches(y, psf, noise_level(sigma, y))[0]

    def forward(self, y: Tensor, psf: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        level = noise_level(sigma, y)
        x_img, features = self.wiener_branches(y, psf, level)
        level_map = level.to(x_img.dtype).view(-1, 1, 1, 1).expand(-1, 1, *y.shape[-2:])
        z = torch.cat([x_img, features, level_map], dim=1)
        return (x_img + self.refine(z)).to(y.dtype)


WIENER_DECONV: dict = {
    "in_channels": 3,
    "feature_channels": 16,
    "widths": (32, 64, 128),
    "blocks": 1,
    "boundary": "taper",
    "min_nsr": 1e-4,
}
"""Default deblurring network: 16 Wiener feature channels, a three-scale refinement U-Net."""
