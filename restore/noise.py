"""Noise models: ``y = noise(z)`` for a clean measurement ``z = A(x)``.

Each model is a small frozen dataclass with a seeded :meth:`sample`. The parameters are
what R2R/GR2R recorruption needs to know about the noise, so the same objects serve data
synthesis and self-supervised losses. Levels are on the [0, 1] intensity scale; a tensor
level of shape ``(N,)`` gives one level per batch element.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def per_sample(level: float | Tensor, like: Tensor) -> Tensor:
    """A level as a tensor broadcastable to ``like`` (``(N,)`` levels become ``(N, 1, 1, 1)``)."""
    level = torch.as_tensor(level, dtype=like.dtype, device=like.device)
    return level.view(-1, *([1] * (like.dim() - 1))) if level.dim() > 0 else level


def randn(like: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)


def standard_gamma(concentration: Tensor, generator: torch.Generator | None) -> Tensor:
    """``Gamma(concentration, 1)`` samples; torch's sampler takes no generator, so seed a forked RNG from it."""
    if generator is None:
        return torch._standard_gamma(concentration)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    devices = [] if concentration.device.type == "cpu" else [concentration.device]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return torch._standard_gamma(concentration)


@dataclass(frozen=True)
class GaussianNoise:
    """Additive white Gaussian noise, ``y = z + sigma * n``."""

    sigma: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return z + per_sample(self.sigma, z) * randn(z, generator)


@dataclass(frozen=True)
class PoissonNoise:
    """Shot noise, ``y = gain * Poisson(z / gain)``: mean ``z``, variance ``gain * z``."""

    gain: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        gain = per_sample(self.gain, z)
        return gain * torch.poisson((z / gain).clamp_min(0), generator=generator)


@dataclass(frozen=True)
class PoissonGaussianNoise:
    """Shot plus read noise: ``y = gain * Poisson(z / gain) + sigma * n``."""

    gain: float | Tensor
    sigma: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        shot = PoissonNoise(self.gain).sample(z, generator)
        return shot + per_sample(self.sigma, z) * randn(z, generator)


@dataclass(frozen=True)
class GammaNoise:
    """Multiplicative speckle, ``y = z * Gamma(looks, 1 / looks)``: mean ``z``, std ``z / sqrt(looks)``."""

    looks: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        looks = per_sample(self.looks, z)
        return z * standard_gamma(looks * torch.ones_like(z), generator) / looks


NoiseModel = GaussianNoise | PoissonNoise | PoissonGaussianNoise | GammaNoise
