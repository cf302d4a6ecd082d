"""Degradation operators: deterministic, pure linear maps ``A`` with their adjoints.

One abstraction serves data synthesis, R2R recorruption, the classical solvers, the Wiener
network and the forward-consistency loss. Randomness never lives here: samplers in
:mod:`restore.kernels` and :mod:`restore.masks` take a ``torch.Generator`` and return the
parameters an operator is built from.

Conventions: images are ``(N, C, H, W)`` float tensors in [0, 1]; a PSF is ``(kh, kw)`` or
``(N, kh, kw)`` (one per batch element) and is centred at ``(kh // 2, kw // 2)``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Boundary = Literal["circular", "replicate", "reflect"]


class Operator:
    """A linear measurement operator ``y = A(x)``.

    Subclasses implement :meth:`A` and :meth:`A_adjoint`; ``op(x)`` is ``op.A(x)`` and
    ``op2 @ op1`` composes (``op1`` first). Operators hold no random state.
    """

    def A(self, x: Tensor) -> Tensor:  # noqa: N802 (the field's name for it)
        raise NotImplementedError

    def A_adjoint(self, y: Tensor) -> Tensor:  # noqa: N802
        raise NotImplementedError

    def input_size(self, output_size: tuple[int, int]) -> tuple[int, int]:
        """Spatial size of ``x`` that gives a ``y`` of ``output_size``."""
        return output_size

    def __call__(self, x: Tensor) -> Tensor:
        return self.A(x)

    def __matmul__(self, first: Operator) -> Composition:
        return Composition([first, self])


class Identity(Operator):
    def A(self, x: Tensor) -> Tensor:  # noqa: N802
        return x

    def A_adjoint(self, y: Tensor) -> Tensor:  # noqa: N802
        return y


class Composition(Operator):
    """``A = A_n o ... o A_1`` for ``operators = [A_1, ..., A_n]``."""

    def __init__(self, operators: list[Operator]):
        flat: list[Operator] = []
        for op in operators:
            flat.extend(op.operators if isinstance(op, Composition) else [op])
        self.operators = flat

    def A(self, x: Tensor) -> Tensor:  # noqa: N802
        for op in self.operators:
            x = op.A(x)
        return x

    def A_adjoint(self, y: Tensor) -> Tensor:  # noqa: N802
        for op in reversed(self.operators):
            y = op.A_adjoint(y)
        return y

    def input_size(self, output_size: tuple[int, int]) -> tuple[int, int]:
        for op in reversed(self.operators):
            output_size = op.input_size(output_size)
        return output_size


class Mask(Operator):
    """Inpainting operator ``A(x) = mask * x`` (``mask`` 1 = known pixel); self-adjoint, idempotent."""

    def __init__(self, mask: Tensor):
        if mask.dim() != 4 or mask.shape[1] != 1:
            raise ValueError(f"mask must be (N, 1, H, W), got {tuple(mask.shape)}")
        self.mask = mask

    def A(self, x: Tensor) -> Tensor:  # noqa: N802
        return x * self.mask.to(x.dtype)

    A_adjoint = A


def psf_to_otf(psf: Tensor, size: tuple[int, int]) -> Tensor:
    """Transfer function of a centred PSF on an ``size`` grid: ``(..., H, W // 2 + 1)`` complex.

    The PSF is zero-padded and circularly shifted so that its centre lands on pixel (0, 0),
    which makes the FFT product a convolution without a spatial shift.
    """
    kh, kw = psf.shape[-2:]
    h, w = size
    if kh > h or kw > w:
        raise ValueError(f"PSF of size {kh}x{kw} is larger than the image {h}x{w}")
    padded = psf.new_zeros(*psf.shape[:-2], h, w)
    padded[..., :kh, :kw] = psf
    padded = torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))
    return torch.fft.rfft2(padded)


def _expand_psf(psf: Tensor) -> Tensor:
    """``(kh, kw)`` or ``(N, kh, kw)`` -> ``(N or 1, 1, kh, kw)``, broadcastable over channels."""
    if psf.dim() == 2:
        return psf[None, None]
    if psf.dim() == 3:
        return psf[:, None]
    raise ValueError(f"PSF must be (kh, kw) or (N, kh, kw), got {tuple(psf.shape)}")


def fft_convolve(x: Tensor, psf: Tensor) -> Tensor:
    """Circular convolution of ``x`` (N, C, H, W) with a centred PSF, in float32 or float64."""
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    otf = psf_to_otf(_expand_psf(psf).to(work), x.shape[-2:])
    return torch.fft.irfft2(torch.fft.rfft2(x.to(work)) * otf, s=x.shape[-2:]).to(x.dtype)


def fft_correlate(y: Tensor, psf: Tensor) -> Tensor:
    """Adjoint of :func:`fft_convolve` (circular correlation)."""
    work = torch.float64 if y.dtype == torch.float64 else torch.float32
    otf = psf_to_otf(_expand_psf(psf).to(work), y.shape[-2:])
    return torch.fft.irfft2(torch.fft.rfft2(y.to(work)) * otf.conj(), s=y.shape[-2:]).to(y.dtype)


def _pad_adjoint_last(z: Tensor, left: int, right: int, mode: str) -> Tensor:
    """Transpose of ``F.pad(x, (left, right), mode)`` along the last axis: fold the border back."""
    n = z.shape[-1] - left - right
    x = z[..., left : left + n].clone()
    if mode == "replicate":
        x[..., 0] += z[..., :left].sum(-1)
        x[..., -1] += z[..., left + n :].sum(-1)
    else:  # reflect: padded position j < left mirrors x[left - j]; j = left + n + i mirrors x[n - 2 - i]
        x[..., 1 : left + 1] += z[..., :left].flip(-1)
        x[..., n - 1 - right : n - 1] += z[..., left + n :].flip(-1)
    return x


class Blur(Operator):
    """Convolution with a PSF, computed with FFTs.

    ``boundary="circular"`` is the periodic model that Wiener filtering inverts exactly.
    ``"replicate"`` and ``"reflect"`` model a real photograph: the scene continues beyond the
    frame, so ``x`` is extended by half the PSF on each side before a circular convolution and
    the result is cropped back. Their adjoints are exact (the padding's adjoint is derived by
    explicit transposes of the padding).
    """

    def __init__(self, psf: Tensor, boundary: Boundary = "circular"):
        if boundary not in ("circular", "replicate", "reflect"):
            raise ValueError(f"unknown boundary {boundary!r}")
        if psf.dim() not in (2, 3):
            raise ValueError(f"PSF must be (kh, kw) or (N, kh, kw), got {tuple(psf.shape)}")
        self.psf = psf
        self.boundary = boundary

    def _pads(self) -> tuple[int, int, int, int]:
        kh, kw = self.psf.shape[-2:]
        return (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2)

    def _extend(self, x: Tensor) -> Tensor:
        return F.pad(x, self._pads(), mode=self.boundary)

    def _crop(self, x: Tensor) -> Tensor:
        left, right, top, bottom = self._pads()
        h, w = x.shape[-2:]
        return x[..., top : h - bottom, left : w - right]

    def A(self, x: Tensor) -> Tensor:  # noqa: N802
        if self.boundary == "circular":
            return fft_convolve(x, self.psf)
        return self._crop(fft_convolve(self._extend(x), self.psf))

    def A_adjoint(self, y: Tensor) -> Tensor:  # noqa: N802
        if self.boundary == "circular":
            return fft_correlate(y, self.psf)
        left, right, top, bottom = self._pads()
        z = fft_correlate(F.pad(y, (left, right, top, bottom)), self.psf)
        z = _pad_adjoint_last(z, left, right, self.boundary)
        return _pad_adjoint_last(z.transpose(-1, -2), top, bottom, self.boundary).transpose(-1, -2)


def _cubic(t: Tensor) -> Tensor:
    """Keys' cubic convolution kernel with a = -0.5, as in MATLAB's ``imresize``."""
    a = t.abs()
    return ((1.5 * a**3 - 2.5 * a**2 + 1) * (a <= 1)) + ((-0.5 * a**3 + 2.5 * a**2 - 4 * a + 2) * ((a > 1) & (a <= 2)))


def imresize_matrix(in_size: int, scale: float, dtype=torch.float64) -> Tensor:
    """``(out, in)`` matrix of MATLAB's antialiased bicubic ``imresize`` along one axis.

    Reproduces MATLAB's convention (kernel widened by ``1/scale`` when shrinking, symmetric
    boundary), the one SR benchmarks use to make their low-resolution inputs; torch's
    ``interpolate(antialias=True)`` differs from it at the borders.
    """
    out_size = math.ceil(in_size * scale)
    kernel_scale = min(scale, 1.0)
    width = 4.0 / kernel_scale
    u = (torch.arange(1, out_size + 1, dtype=dtype) / scale) + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + torch.arange(taps, dtype=dtype)[None]
    weights = kernel_scale * _cubic(kernel_scale * (u[:, None] - idx))
    weights = weights / weights.sum(dim=1, keepdim=True)
    idx = idx.long() - 1
    # symmetric boundary: index -1 -> 0, n -> n-1, ...
    period = 2 * in_size
    idx = idx % period
    idx = torch.where(idx >= in_size, period - 1 - idx, idx)
    matrix = torch.zeros(out_size, in_size, dtype=dtype)
    matrix.scatter_add_(1, idx, weights)
    return matrix


class Downsample(Operator):
    """Bicubic antialiased downscaling by an integer factor (MATLAB ``imresize`` convention).

    ``A(x) = R_h x R_w^T`` per channel, with the separable matrices of :func:`imresize_matrix`;
    the adjoint is the transpose. Inputs whose size is not a multiple of ``factor`` are
    rejected: crop them first (the benchmarks' "modcrop").
    """

    def __init__(self, factor: int):
        if factor not in (2, 3, 4, 8):
            raise ValueError(f"downsampling factor must be 2, 3, 4 or 8, got {factor}")
        self.factor = factor
        self._cache: dict[tuple[int, torch.dtype, torch.device], Tensor] = {}

    def _matrix(self, n: int, like: Tensor) -> Tensor:
        key = (n, like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = imresize_matrix(n, 1 / self.factor).to(like.device, like.dtype)
        return self._cache[key]

    def A(self, x: Tensor) -> Tensor:  # noqa: N802
        h, w = x.shape[-2:]
        if h % self.factor or w % self.factor:
            raise ValueError(f"image size {h}x{w} is not a multiple of the factor {self.factor}")
        return self._matrix(h, x) @ x @ self._matrix(w, x).T

    def A_adjoint(self, y: Tensor) -> Tensor:  # noqa: N802
        h, w = y.shape[-2] * self.factor, y.shape[-1] * self.factor
        return self._matrix(h, y).T @ y @ self._matrix(w, y)

    def input_size(self, output_size: tuple[int, int]) -> tuple[int, int]:
        return (output_size[0] * self.factor, output_size[1] * self.factor)


def modcrop(x: Tensor, factor: int) -> Tensor:
    """Crop the bottom/right so that H and W are multiples of ``factor``."""
    h, w = x.shape[-2:]
    return x[..., : h - h % factor, : w - w % factor]
