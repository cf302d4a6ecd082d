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


def _per_sample(level: float | Tensor, like: Tensor) -> Tensor | float:
    if isinstance(level, Tensor) and level.dim() > 0:
        return level.to(like.device, like.dtype).view(-1, *([1] * (like.dim() - 1)))
    return level


def _randn(like: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)


@dataclass(frozen=True)
class GaussianNoise:
    """Additive white Gaussian noise, ``y = z + sigma * n``."""

    sigma: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return z + _per_sample(self.sigma, z) * _randn(z, generator)


@dataclass(frozen=True)
class PoissonNoise:
    """Shot noise, ``y = gain * Poisson(z / gain)``: mean ``z``, variance ``gain * z``."""

    gain: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        gain = _per_sample(self.gain, z)
        return gain * torch.poisson((z / gain).clamp_min(0), generator=generator)


@dataclass(frozen=True)
class PoissonGaussianNoise:
    """Shot plus read noise: ``y = gain * Poisson(z / gain) + sigma * n``."""

    gain: float | Tensor
    sigma: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        shot = PoissonNoise(self.gain).sample(z, generator)
        return shot + _per_sample(self.sigma, z) * _randn(z, generator)


@dataclass(frozen=True)
class GammaNoise:
    """Multiplicative speckle, ``y = z * Gamma(looks, 1 / looks)``: mean ``z``, std ``z / sqrt(looks)``."""

    looks: float | Tensor

    def sample(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        looks = _per_sample(self.looks, z)
        shape = looks * torch.ones_like(z)
        # torch's Gamma sampler takes no generator: draw through a seeded standard_gamma.
        if generator is not None:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
            with torch.random.fork_rng(devices=[] if z.device.type == "cpu" else [z.device]):
                torch.manual_seed(seed)
                g = torch._standard_gamma(shape)
        else:
            g = torch._standard_gamma(shape)
        return z * g / looks


NoiseModel = GaussianNoise | PoissonNoise | PoissonGaussianNoise | GammaNoise
