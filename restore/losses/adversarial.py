"""Adversarial training for inpainting: a PatchGAN discriminator, non-saturating losses, R1, feature matching.

The recipe of LaMa (Suvorov et al., WACV 2022): a PatchGAN discriminator (Isola et al.,
pix2pix, CVPR 2017) trained with the non-saturating logistic loss (Goodfellow et al. 2014)
and an R1 gradient penalty on real images (Mescheder et al., ICML 2018), plus a
discriminator feature-matching loss for the generator (Wang et al., pix2pixHD, CVPR 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Norm = Literal["batch", "instance", "none"]


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator: a logit per overlapping patch, plus its intermediate features.

    ``n_layers`` stride-2 4x4 convolutions (channels doubling from ``base_channels``, capped at
    8x), one stride-1 4x4 convolution and a 4x4 convolution to one logit channel; LeakyReLU(0.2)
    throughout, normalisation on all but the first layer (pix2pix's ``NLayerDiscriminator``, the
    discriminator LaMa uses with ``n_layers=4`` and BatchNorm).

    Args:
        in_channels: image channels.
        base_channels: channels of the first layer.
        n_layers: number of stride-2 layers.
        norm: ``"batch"`` (as LaMa), ``"instance"`` or ``"none"``.

    Shape:
        ``(N, in_channels, H, W) -> logits (N, 1, h, w)`` and a list of ``n_layers + 1`` feature
        maps, finest first; ``h ~ H / 2^n_layers - 2``.

    Example:
        >>> logits, features = PatchDiscriminator(n_layers=3)(torch.rand(2, 3, 64, 64))
        >>> logits.shape, len(features)
        (torch.Size([2, 1, 6, 6]), 4)
    """

    def __init__(self, *, in_channels: int = 3, base_channels: int = 64, n_layers: int = 3, norm: Norm = "batch"):
        super().__init__()
        stages = [nn.Sequential(nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2))]
        channels = base_channels
        for i in range(1, n_layers + 1):
            out = base_channels * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            stages.append(
                nn.Sequential(
                    nn.Conv2d(channels, out, 4, stride=stride, padding=1), _norm(norm, out), nn.LeakyReLU(0.2)
                )
            )
            channels = out
        self.stages = nn.ModuleList(stages)
        self.head = nn.Conv2d(channels, 1, 4, stride=1, padding=1)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return self.head(x), features


def generator_adversarial_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss, ``mean softplus(-D(x_hat)) = -mean log sigmoid(D(x_hat))``.

    Shape:
        ``fake_logits: (*)`` -> scalar.

    Example:
        >>> round(float(generator_adversarial_loss(torch.zeros(4))), 4)  # log 2
        0.6931
    """
    return F.softplus(-fake_logits).mean()


def discriminator_adversarial_loss(real_logits: Tensor, fake_logits: Tensor, *, mask: Tensor | None = None) -> Tensor:
    """Logistic discriminator loss, ``mean softplus(-D(x)) + mean softplus(D(x_hat))``.

    With an inpainting ``mask`` (1 = known pixel), resized to the logit grid by area averaging,
    patches of the fake image count as fake only in proportion to their hole area and as real
    elsewhere, since known pixels are composited back from the real image (LaMa's
    ``mask_as_fake_target``).

    Shape:
        ``real_logits, fake_logits: (N, 1, h, w)``, ``mask: (N, 1, H, W)`` -> scalar.

    Example:
        >>> round(float(discriminator_adversarial_loss(torch.zeros(4), torch.zeros(4))), 4)  # 2 log 2
        1.3863
    """
    real_term = F.softplus(-real_logits).mean()
    if mask is None:
        return real_term + F.softplus(fake_logits).mean()
    known = F.adaptive_avg_pool2d(mask.to(fake_logits.dtype), fake_logits.shape[-2:])
    fake_term = (1 - known) * F.softplus(fake_logits) + known * F.softplus(-fake_logits)
    return real_term + fake_term.mean()


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    """R1 gradient penalty, ``E_x || grad_x D(x) ||^2`` on real images (Mescheder et al. 2018).

    ``real`` must have had ``requires_grad_(True)`` before the discriminator saw it. The
    gradient is taken with ``create_graph=True`` so the penalty trains the discriminator.
    Returned without the customary ``gamma / 2`` factor: weight it in the combinator.

    Shape:
        ``real_logits: (N, 1, h, w)``, ``real: (N, C, H, W)`` -> scalar (mean over the batch of the
        squared gradient norm).
    """
    if not real.requires_grad:
        raise ValueError("call real.requires_grad_(True) before the discriminator's forward pass")
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def feature_matching_loss(fake_features: Sequence[Tensor], real_features: Sequence[Tensor]) -> Tensor:
    """Discriminator feature matching, ``mean_l mean |F_l(x_hat) - F_l(x)|`` (pix2pixHD).

    Real features are detached: only the generator is pulled towards them.

    Shape:
        two equally long lists of feature maps -> scalar.
    """
    if len(fake_features) != len(real_features) or not fake_features:
        raise ValueError("need two non-empty feature lists of equal length")
    total = fake_features[0].new_zeros(())
    for fake, real in zip(fake_features, real_features, strict=True):
        total = total + (fake - real.detach()).abs().mean()
    return total / len(fake_features)
