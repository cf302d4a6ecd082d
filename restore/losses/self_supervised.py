r"""Self-supervised losses from single noisy images: R2R and Generalized R2R.

Both split one noisy measurement ``y`` into two *independent* noisy versions of the same clean
signal, feed one to the network and use the other as the target. Independence makes the loss
equal, in expectation, to the supervised MSE plus a constant that does not depend on the
network, so minimising it trains the network as if clean targets were available.

With an ``operator`` ``A`` (``y = noise(A x)``) the comparison happens in measurement space,
``|| A(f(y_1)) - y_2 ||^2``, and the expectation is the measurement-space supervised error
``E || A f(y_1) - A x ||^2`` plus the same constant.

The network is any callable ``model(y_1) -> x_hat``; wrap a noise-conditional network so that it
sees the noise level of ``y_1`` (see :func:`recorrupted_noise_level`), not of ``y``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from restore.noise import GammaNoise, GaussianNoise, PoissonNoise, per_sample, randn, standard_gamma
from restore.operators import Operator

Model = Callable[[Tensor], Tensor]


def _measurement_loss(model: Model, y_in: Tensor, y_out: Tensor, operator: Operator | None) -> Tensor:
    x_hat = model(y_in)
    prediction = x_hat if operator is None else operator.A(x_hat)
    if prediction.shape != y_out.shape:
        raise ValueError(
            f"the model's output {'' if operator is None else 'through the operator '}has shape "
            f"{tuple(prediction.shape)}, the target {tuple(y_out.shape)}"
        )
    return (prediction - y_out).pow(2).mean()


def r2r_loss(
    model: Model,
    y: Tensor,
    noise: GaussianNoise | float | Tensor,
    *,
    alpha: float = 0.5,
    generator: torch.Generator | None = None,
    operator: Operator | None = None,
) -> Tensor:
    r"""Recorrupted-to-Recorrupted loss for Gaussian noise (Pang et al., CVPR 2021).

    ``y_1 = y + alpha sigma z``, ``y_2 = y - (sigma / alpha) z`` with ``z ~ N(0, I)``; the loss is
    ``mean (f(y_1) - y_2)^2`` (or ``mean (A f(y_1) - y_2)^2`` with an operator).

    Expectation: writing ``y = u + sigma n`` (``u = x`` or ``A x``), ``y_1 - u = sigma(n + alpha z)``
    and ``y_2 - u = sigma(n - z / alpha)`` are jointly Gaussian with covariance
    ``sigma^2 (1 - alpha * (1 / alpha)) I = 0``, hence independent, and ``E[y_2 | y_1] = u``. So

    ``E[R2R] = E mean (f(y_1) - u)^2 + sigma^2 (1 + 1 / alpha^2)``,

    the supervised MSE of ``f`` on inputs of noise level ``sigma sqrt(1 + alpha^2)`` plus the
    constant of :func:`r2r_offset`.

    Args:
        model: callable ``y_1 -> x_hat``.
        y: noisy measurement.
        noise: the :class:`restore.noise.GaussianNoise` of ``y``, or its std ``sigma`` (float or ``(N,)``).
        alpha: recorruption strength (> 0); Pang et al. use 0.5.
        generator: seeds the recorruption.
        operator: compare ``A(f(y_1))`` with ``y_2`` in measurement space.

    Shape:
        ``y: (N, C, H, W)`` -> scalar.

    Example:
        >>> y = torch.rand(2, 1, 16, 16)
        >>> loss = r2r_loss(lambda t: t, y, 0.1, alpha=0.5, generator=torch.Generator().manual_seed(0))
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    if isinstance(noise, (PoissonNoise, GammaNoise)):
        raise TypeError(f"R2R is for Gaussian noise; use gr2r_loss for {type(noise).__name__}")
    s = per_sample(noise.sigma if isinstance(noise, GaussianNoise) else noise, y)
    z = randn(y, generator)
    return _measurement_loss(model, y + alpha * s * z, y - (s / alpha) * z, operator)


def r2r_offset(sigma: float | Tensor, alpha: float) -> Tensor:
    """The constant ``E[R2R] - MSE = sigma^2 (1 + 1 / alpha^2)`` (mean over the batch for ``(N,)`` sigma)."""
    sigma = torch.as_tensor(sigma, dtype=torch.float64)
    return (sigma**2 * (1 + 1 / alpha**2)).mean()


NoiseModel = GaussianNoise | PoissonNoise | GammaNoise


def gr2r_pair(
    y: Tensor, noise_model: NoiseModel, *, alpha: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    r"""The GR2R input/target pair ``(y_1, y_2)``, conditionally independent given the clean signal ``u``.

    ``y_1`` is drawn from ``p(y_1 | y, alpha)`` and ``y_2 = (y - (1 - alpha) y_1) / alpha``;
    both have mean ``u``. With ``alpha`` in (0, 1) (Monroy, Bacca, Tachella, CVPR 2025):

    - Gaussian ``N(u, sigma^2)``: ``y_1 = y + sqrt(alpha / (1 - alpha)) sigma z``, so
      ``y_2 = y - sqrt((1 - alpha) / alpha) sigma z``; ``Var y_1 = sigma^2 / (1 - alpha)``,
      ``Var y_2 = sigma^2 / alpha``.
    - Poisson with gain ``g`` (``y / g ~ P(u / g)``): binomial thinning ``w ~ Bin(y / g, alpha)``,
      ``y_1 = g (y / g - w) / (1 - alpha)``, ``y_2 = g w / alpha``; ``w ~ P(alpha u / g)`` and
      ``y / g - w ~ P((1 - alpha) u / g)`` are independent; ``Var y_2 = g u / alpha``.
    - Gamma with ``looks`` ``l`` (``y ~ Gamma(l, u / l)``): beta splitting
      ``w ~ Beta(l alpha, l (1 - alpha))``, ``y_1 = y (1 - w) / (1 - alpha)``, ``y_2 = y w / alpha``;
      ``y w ~ Gamma(l alpha, u / l)`` and ``y (1 - w)`` are independent; ``Var y_2 = u^2 / (l alpha)``.

    Shape:
        ``y: (N, C, H, W)`` -> two tensors of the same shape.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"GR2R needs alpha in (0, 1), got {alpha}")
    if isinstance(noise_model, GaussianNoise):
        s = per_sample(noise_model.sigma, y)
        y1 = y + math.sqrt(alpha / (1 - alpha)) * s * randn(y, generator)
    elif isinstance(noise_model, PoissonNoise):
        gain = per_sample(noise_model.gain, y)
        counts = torch.round(y / gain).clamp_min(0)
        thinned = torch.binomial(counts, torch.full_like(counts, alpha), generator=generator)
        y1 = gain * (counts - thinned) / (1 - alpha)
        y = gain * counts
    elif isinstance(noise_model, GammaNoise):
        looks = per_sample(noise_model.looks, y) * torch.ones_like(y)
        a = standard_gamma(looks * alpha, generator)
        b = standard_gamma(looks * (1 - alpha), generator)
        y1 = y * (b / (a + b)) / (1 - alpha)
    else:
        raise TypeError(f"GR2R supports GaussianNoise, PoissonNoise and GammaNoise, got {type(noise_model).__name__}")
    return y1, (y - (1 - alpha) * y1) / alpha


def gr2r_loss(
    model: Model,
    y: Tensor,
    noise_model: NoiseModel,
    *,
    alpha: float = 0.5,
    generator: torch.Generator | None = None,
    operator: Operator | None = None,
) -> Tensor:
    r"""Generalized Recorrupted-to-Recorrupted loss (Monroy, Bacca, Tachella, CVPR 2025).

    ``mean (f(y_1) - y_2)^2`` (``mean (A f(y_1) - y_2)^2`` with an operator) for the pair of
    :func:`gr2r_pair`. Since ``y_1`` and ``y_2`` are independent given ``u`` and
    ``E[y_2 | u] = u``, the cross term vanishes and

    ``E[GR2R] = E mean (f(y_1) - u)^2 + mean Var(y_2)``,

    with ``mean Var(y_2)`` = ``sigma^2 / alpha`` (Gaussian), ``g mean(u) / alpha`` (Poisson),
    ``mean(u^2) / (l alpha)`` (Gamma); :func:`gr2r_offset` estimates it without bias from ``y``.

    Args:
        model: callable ``y_1 -> x_hat``.
        y: noisy measurement.
        noise_model: the noise that produced ``y`` (:mod:`restore.noise`).
        alpha: split fraction in (0, 1); 0.5 gives input and target equal noise.
        generator: seeds the recorruption.
        operator: compare ``A(f(y_1))`` with ``y_2`` in measurement space.

    Shape:
        ``y: (N, C, H, W)`` -> scalar.

    Example:
        >>> from restore.noise import PoissonNoise
        >>> y = PoissonNoise(0.01).sample(torch.full((1, 1, 8, 8), 0.5))
        >>> loss = gr2r_loss(lambda t: t, y, PoissonNoise(0.01), alpha=0.5)
    """
    y1, y2 = gr2r_pair(y, noise_model, alpha=alpha, generator=generator)
    return _measurement_loss(model, y1, y2, operator)


def gr2r_offset(y: Tensor, noise_model: NoiseModel, *, alpha: float) -> Tensor:
    """Unbiased estimate from ``y`` of the constant ``E[GR2R] - MSE`` (see :func:`gr2r_loss`).

    Gaussian ``sigma^2 / alpha``; Poisson ``g mean(y) / alpha`` (``E y = u``); Gamma
    ``mean(y^2) / ((l + 1) alpha)`` (``E y^2 = u^2 (1 + 1 / l)``).
    """
    if isinstance(noise_model, GaussianNoise):
        return (per_sample(noise_model.sigma, y) ** 2 * torch.ones_like(y)).mean() / alpha
    if isinstance(noise_model, PoissonNoise):
        return (per_sample(noise_model.gain, y) * y).mean() / alpha
    if isinstance(noise_model, GammaNoise):
        looks = per_sample(noise_model.looks, y)
        return (y.pow(2) / (looks + 1)).mean() / alpha
    raise TypeError(f"GR2R supports GaussianNoise, PoissonNoise and GammaNoise, got {type(noise_model).__name__}")


def recorrupted_noise_level(noise_model: NoiseModel, *, alpha: float) -> NoiseModel:
    """The noise model of the GR2R input ``y_1``, for noise-conditional networks.

    Gaussian ``sigma / sqrt(1 - alpha)``; Poisson gain ``g / (1 - alpha)``; Gamma looks ``l (1 - alpha)``.
    """
    if isinstance(noise_model, GaussianNoise):
        return GaussianNoise(noise_model.sigma / math.sqrt(1 - alpha))
    if isinstance(noise_model, PoissonNoise):
        return PoissonNoise(noise_model.gain / (1 - alpha))
    if isinstance(noise_model, GammaNoise):
        return GammaNoise(noise_model.looks * (1 - alpha))
    raise TypeError(f"GR2R supports GaussianNoise, PoissonNoise and GammaNoise, got {type(noise_model).__name__}")
