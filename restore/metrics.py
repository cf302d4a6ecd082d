"""Image quality metrics with the literature's conventions.

- Inputs are ``(N, C, H, W)`` float tensors in [0, 1]; PSNR is computed with a peak of 1,
  which equals PSNR on [0, 255] data with peak 255. Published tables evaluate images
  quantised to 8 bits: quantise first (``restore evaluate`` reads the written files).
- ``y_channel=True`` converts RGB to the luma of MATLAB's ``rgb2ycbcr`` (ITU-R BT.601,
  studio range), the SR convention; ``crop`` shaves that many pixels off each border
  (SR benchmarks crop ``scale`` pixels).
- SSIM is Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, K = (0.01, 0.03), "valid"
  filtering as in the reference MATLAB code, averaged over channels (kornia's implementation).
"""

from __future__ import annotations

from pathlib import Path

import torch
from kornia.metrics import ssim as kornia_ssim
from torch import Tensor


def rgb_to_y(x: Tensor) -> Tensor:
    """MATLAB ``rgb2ycbcr`` luma on [0, 1] data: ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255``."""
    if x.shape[1] != 3:
        return x
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def _prepare(x_hat: Tensor, x: Tensor, y_channel: bool, crop: int) -> tuple[Tensor, Tensor]:
    if x_hat.shape != x.shape:
        raise ValueError(f"shapes differ: {tuple(x_hat.shape)} vs {tuple(x.shape)}")
    x_hat, x = x_hat.double(), x.double()
    if y_channel:
        x_hat, x = rgb_to_y(x_hat), rgb_to_y(x)
    if crop:
        x_hat, x = x_hat[..., crop:-crop, crop:-crop], x[..., crop:-crop, crop:-crop]
    return x_hat, x


def psnr(x_hat: Tensor, x: Tensor, *, y_channel: bool = False, crop: int = 0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, ``10 log10(1 / MSE)``; shape ``(N,)``."""
    x_hat, x = _prepare(x_hat, x, y_channel, crop)
    mse = (x_hat - x).pow(2).flatten(1).mean(dim=1)
    return (10 * torch.log10(1.0 / mse.clamp_min(1e-20))).float()


def ssim(x_hat: Tensor, x: Tensor, *, y_channel: bool = False, crop: int = 0) -> Tensor:
    """Structural similarity per image (mean over the valid SSIM map and channels); ``(N,)``."""
    x_hat, x = _prepare(x_hat, x, y_channel, crop)
    if min(x.shape[-2:]) < 11:
        raise ValueError("SSIM needs images of at least 11x11 pixels")
    ssim_map = kornia_ssim(x_hat, x, window_size=11, max_val=1.0, padding="valid")
    return ssim_map.flatten(1).mean(dim=1).float()


class LPIPSUnavailableError(RuntimeError):
    """LPIPS needs the ``lpips`` package and its ImageNet backbone weights, which are absent."""


_lpips_models: dict[str, torch.nn.Module] = {}

# torchvision's ImageNet backbones that lpips.LPIPS loads through the torch hub cache.
LPIPS_BACKBONE_FILES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}


def lpips_distance(x_hat: Tensor, x: Tensor, *, net: str = "alex") -> Tensor:
    """LPIPS (Zhang et al. 2018) per image, through the ``lpips`` package; ``(N,)``.

    The backbone's ImageNet weights must already be in the torch hub cache
    (``$TORCH_HOME/hub/checkpoints``), since nothing is downloaded at run time; without
    them, or without the package, this raises :class:`LPIPSUnavailableError`.
    """
    if net not in _lpips_models:
        try:
            import lpips
        except ImportError:
            raise LPIPSUnavailableError("LPIPS needs the lpips package: pip install 'restore[metrics]'") from None
        weights = Path(torch.hub.get_dir()) / "checkpoints" / LPIPS_BACKBONE_FILES[net]
        if not weights.exists():
            raise LPIPSUnavailableError(f"LPIPS backbone weights not found at {weights} (no download is attempted)")
        try:
            _lpips_models[net] = lpips.LPIPS(net=net, verbose=False).eval()
        except Exception as error:  # torchvision missing or incompatible, weights unreadable
            raise LPIPSUnavailableError(f"LPIPS could not be loaded: {error}") from None
    model = _lpips_models[net].to(x.device)
    if x.shape[1] == 1:
        x_hat, x = x_hat.expand(-1, 3, -1, -1), x.expand(-1, 3, -1, -1)
    with torch.no_grad():
        return model(x_hat.float() * 2 - 1, x.float() * 2 - 1).flatten().cpu()
