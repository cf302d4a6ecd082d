"""Blur kernels (PSFs): parametric kernels, seeded random samplers and loading from files.

Every kernel is a float64 ``(k, k)`` tensor, non-negative, summing to one, centred at
``(k // 2, k // 2)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

MAX_KERNEL_SIZE = 255


def _normalise(kernel: Tensor) -> Tensor:
    return kernel / kernel.sum()


def _odd(n: float) -> int:
    n = max(1, math.ceil(n))
    return n if n % 2 else n + 1


def gaussian_kernel(sigma: float, sigma_y: float | None = None, angle: float = 0.0, size: int | None = None) -> Tensor:
    """(Anisotropic) Gaussian PSF; ``angle`` in degrees rotates the ``sigma`` axis."""
    sigma_y = sigma if sigma_y is None else sigma_y
    if sigma <= 0 or sigma_y <= 0:
        raise ValueError("Gaussian blur sigma must be positive")
    size = size or _odd(6 * max(sigma, sigma_y) + 1)
    r = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    t = math.radians(angle)
    u = math.cos(t) * xx + math.sin(t) * yy
    v = -math.sin(t) * xx + math.cos(t) * yy
    return _normalise(torch.exp(-0.5 * ((u / sigma) ** 2 + (v / sigma_y) ** 2)))


def disk_kernel(radius: float) -> Tensor:
    """Defocus (pillbox) PSF of ``radius`` pixels, with antialiased edges by supersampling."""
    if radius <= 0:
        raise ValueError("disk radius must be positive")
    size = _odd(2 * radius + 1)
    sub = 8
    r = (torch.arange(size * sub, dtype=torch.float64) + 0.5) / sub - size / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    inside = ((xx**2 + yy**2) <= radius**2).double()
    return _normalise(inside.reshape(size, sub, size, sub).mean(dim=(1, 3)))


def motion_kernel(length: float, angle: float) -> Tensor:
    """Linear motion PSF: a line of ``length`` pixels at ``angle`` degrees (counter-clockwise)."""
    if length < 1:
        raise ValueError("motion length must be at least 1 pixel")
    size = _odd(length + 2)
    canvas = np.zeros((size * 8, size * 8), np.float32)
    c = size * 4 - 0.5
    dx = math.cos(math.radians(angle)) * length * 4
    dy = -math.sin(math.radians(angle)) * length * 4
    shift = 4  # cv2.line with sub-pixel coordinates
    p0 = (round((c - dx) * 2**shift), round((c - dy) * 2**shift))
    p1 = (round((c + dx) * 2**shift), round((c + dy) * 2**shift))
    cv2.line(canvas, p0, p1, 1.0, thickness=8, lineType=cv2.LINE_AA, shift=shift)
    small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return _normalise(torch.from_numpy(small.astype(np.float64)))


def sample_camera_shake(size: int = 31, generator: torch.Generator | None = None, steps: int = 2000) -> Tensor:
    """Random camera-shake PSF from a 2-D random-walk trajectory with inertia.

    After Boracchi and Foi (2012) as used by DeblurGAN: a velocity that drifts with Gaussian
    increments, occasional impulsive jerks, and a pull back towards the centre; the path is
    rasterised with sub-pixel accumulation and the exposure ends at a random fraction.
    """
    g = generator
    anxiety = 0.005 * float(torch.rand((), generator=g, dtype=torch.float64))
    centripetal = 0.7 * float(torch.rand((), generator=g, dtype=torch.float64))
    gaussian_term = 10 * float(torch.rand((), generator=g, dtype=torch.float64))
    jerk_prob = 0.001
    max_len = (size - 4) * 1.2
    angle = 2 * math.pi * float(torch.rand((), generator=g, dtype=torch.float64))
    velocity = complex(math.cos(angle), math.sin(angle)) * max_len / (steps - 1)
    pos = [0j]
    noise = torch.randn(steps, 2, generator=g, dtype=torch.float64).tolist()
    jerks = torch.rand(steps, generator=g, dtype=torch.float64).tolist()
    for t in range(steps - 1):
        jerk = 0j
        if jerks[t] < jerk_prob * anxiety * 200:
            jerk = 2 * velocity * complex(math.cos(math.pi * (2 * jerks[t] + 1)), math.sin(math.pi * jerks[t]))
        step = -centripetal * pos[-1] + gaussian_term * complex(*noise[t]) * anxiety * max_len / steps + jerk
        velocity = velocity + step * max_len / (steps - 1)
        velocity = velocity / max(abs(velocity), 1e-12) * max_len / (steps - 1)
        pos.append(pos[-1] + velocity)
    path = np.array(pos)
    path -= path.mean()
    exposure = 0.5 + 0.5 * float(torch.rand((), generator=g, dtype=torch.float64))
    path = path[: max(2, int(exposure * steps))]
    path -= (path.real.max() + path.real.min()) / 2 + 1j * (path.imag.max() + path.imag.min()) / 2
    kernel = np.zeros((size, size))
    c = size // 2
    for p in path:
        x, y = p.real + c, p.imag + c
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if 0 <= y0 + dy < size and 0 <= x0 + dx < size:
                kernel[y0 + dy, x0 + dx] += w
    return _normalise(torch.from_numpy(kernel))


def sample_blur_kernel(size: int = 31, generator: torch.Generator | None = None) -> Tensor:
    """A random training PSF: camera shake (50%), linear motion (20%), Gaussian (20%), disk (10%)."""
    g = generator
    u = float(torch.rand((), generator=g))
    v = float(torch.rand((), generator=g))
    w = float(torch.rand((), generator=g))
    if u < 0.5:
        k = sample_camera_shake(size, g)
    elif u < 0.7:
        k = motion_kernel(3 + v * (size - 6), 180 * w)
    elif u < 0.9:
        s1, s2 = 0.5 + v * (size / 6 - 0.5), 0.5 + w * (size / 6 - 0.5)
        k = gaussian_kernel(s1, s2, angle=180 * float(torch.rand((), generator=g)))
    else:
        k = disk_kernel(1 + v * (size / 2 - 2))
    return fit_kernel(k, size)


def fit_kernel(kernel: Tensor, size: int) -> Tensor:
    """Centre-crop or zero-pad a kernel to ``size x size`` (odd) and renormalise."""
    kh, kw = kernel.shape
    out = kernel.new_zeros(size, size)
    sy, sx = max(0, (kh - size) // 2), max(0, (kw - size) // 2)
    cropped = kernel[sy : sy + size, sx : sx + size]
    oy, ox = (size - cropped.shape[0]) // 2, (size - cropped.shape[1]) // 2
    out[oy : oy + cropped.shape[0], ox : ox + cropped.shape[1]] = cropped
    return _normalise(out)


def load_kernel(path: str | Path) -> Tensor:
    """Read a PSF from an image (PNG/TIFF/...), a ``.npy`` array or a text matrix; normalised.

    Raises:
        ValueError: naming the file, when it is unreadable, not 2-D, negative, all zero, or
            larger than :data:`MAX_KERNEL_SIZE`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix in (".txt", ".csv", ".dat", ""):
            array = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=2)
        else:
            array = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
            if array is None:
                raise ValueError("not a readable image")
            if array.ndim == 3:
                array = array[..., :3].mean(axis=2)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read blur kernel ({error})") from None
    array = np.asarray(array, dtype=np.float64).squeeze()
    if array.ndim != 2:
        raise ValueError(f"{path}: blur kernel must be a 2-D matrix, got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"{path}: blur kernel has negative or non-finite values")
    if array.sum() <= 0:
        raise ValueError(f"{path}: blur kernel is all zero")
    if max(array.shape) > MAX_KERNEL_SIZE:
        raise ValueError(f"{path}: blur kernel {array.shape[0]}x{array.shape[1]} exceeds {MAX_KERNEL_SIZE} pixels")
    return _normalise(torch.from_numpy(array.copy()))
