"""The configured loss terms of a run, built from :mod:`restore.losses` by weight."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from restore import losses as L
from restore.noise import GaussianNoise

from .config import LossConfig, Task
from .data import Sample

Forward = Callable[[Tensor], Tensor]

# config name -> the restore.losses function comparing x_hat with x
PAIRWISE = {
    "l1": L.l1_loss,
    "charbonnier": L.charbonnier_loss,
    "mse": L.mse_loss,
    "psnr": L.psnr_loss,
    "ssim": L.ssim_loss,
    "fft": L.fft_loss,
    "wavelet": L.wavelet_loss,
}


class LossTerms:
    """``total = sum_k w_k * term_k``; returns the total and every term's value.

    Terms with weight 0 are not built. ``r2r`` replaces the supervised terms when the clean
    image is unknown (noisy-only data); the adversarial terms build a PatchGAN discriminator.
    """

    def __init__(self, cfg: LossConfig, task: Task, channels: int, device: torch.device):
        self.cfg, self.task = cfg, task
        self.pixel: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
            name: fn for name, fn in PAIRWISE.items() if getattr(cfg, name) > 0
        }
        self.perceptual = L.VGGPerceptualLoss().to(device) if cfg.perceptual > 0 else None
        self.discriminator: nn.Module | None = None
        if cfg.adversarial > 0:
            self.discriminator = L.PatchDiscriminator(in_channels=channels)
        self.names = [*self.pixel, *(["perceptual"] if self.perceptual else [])]
        self.names += [n for n in ("consistency", "r2r", "adversarial", "feature_matching") if getattr(cfg, n) > 0]

    def __call__(self, forward: Forward, s: Sample, g: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        cfg = self.cfg
        terms: dict[str, Tensor] = {}
        if cfg.r2r > 0:
            noise = GaussianNoise(s.sigma.view(-1))
            terms["r2r"] = L.r2r_loss(forward, s.y, noise, alpha=cfg.r2r_alpha, generator=g)
            total = cfg.r2r * terms["r2r"]
            return total, {k: float(v.detach()) for k, v in terms.items()}
        x_hat = forward(s.y)
        x_hat32, x32 = x_hat.float(), s.x.float()
        for name, fn in self.pixel.items():
            terms[name] = fn(x_hat32, x32)
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(x_hat32, x32)
        if cfg.consistency > 0:
            terms["consistency"] = L.consistency_loss(x_hat32, s.y.float(), self.operator(s))
        if self.discriminator is not None:
            fake_logits, fake_features = self.discriminator(x_hat32)
            terms["adversarial"] = L.generator_adversarial_loss(fake_logits)
            if cfg.feature_matching > 0:
                with torch.no_grad():
                    _, real_features = self.discriminator(x32)
                terms["feature_matching"] = L.feature_matching_loss(fake_features, real_features)
        total = sum(getattr(cfg, k) * v for k, v in terms.items())
        values = {k: float(v.detach()) for k, v in terms.items()}
        values["_x_hat"] = x_hat.detach()
        return total, values

    def operator(self, s: Sample):
        from restore.operators import Blur, Downsample, Identity, Mask

        if self.task == "deblur":
            return Blur(s.psf, boundary="replicate")
        if self.task == "inpaint":
            return Mask(s.mask)
        if self.task == "upscale":
            return Downsample(s.x.shape[-1] // s.y.shape[-1])
        return Identity()


def discriminator_step(
    discriminator: nn.Module, optimizer: torch.optim.Optimizer, losses: LossTerms, s: Sample, x_hat: Tensor
) -> dict[str, float]:
    """One non-saturating discriminator update with an R1 penalty on real images."""
    real = s.x.float().detach().requires_grad_(losses.cfg.r1 > 0)
    real_logits, _ = discriminator(real)
    fake_logits, _ = discriminator(x_hat.float().detach())
    loss = L.discriminator_adversarial_loss(real_logits, fake_logits)
    if losses.cfg.r1 > 0:
        loss = loss + losses.cfg.r1 * L.r1_penalty(real_logits, real)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"d_loss": float(loss.detach())}
