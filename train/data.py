"""Training data: image folders cut into random patches, and on-the-fly degradations.

Every random choice is drawn from a generator seeded by ``(seed, sample index)`` or
``(seed, step)``, so a run is reproducible with any number of worker processes and a resumed
run sees exactly the batches it would have seen.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from restore.io import IMAGE_SUFFIXES, ImageError, read_image
from restore.kernels import sample_blur_kernel
from restore.masks import sample_mask
from restore.noise import GaussianNoise, PoissonGaussianNoise
from restore.operators import Blur, Downsample

from .config import ConfigError, DataConfig, Task


def list_images(folders: list[str]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        path = Path(folder)
        if not path.is_dir():
            raise ConfigError(f"data folder {folder} does not exist")
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise ConfigError(f"data folder {folder} holds no images")
        files.extend(found)
    return files


def _to_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """``(H, W, C)`` uint8/16 -> float32 ``(channels, H, W)`` in [0, 1] (luma for gray)."""
    scale = float(np.iinfo(pixels.dtype).max) if pixels.dtype.kind in "ui" else 1.0
    x = pixels.astype(np.float32) / scale
    if channels == 1 and x.shape[2] == 3:
        x = x @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]
    elif channels == 3 and x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def load_images(paths: list[Path], channels: int, min_size: int) -> list[np.ndarray]:
    images = []
    for path in paths:
        try:
            pixels = read_image(path).pixels
        except ImageError as error:
            raise ConfigError(str(error)) from None
        if min(pixels.shape[:2]) >= min_size:
            images.append(_to_channels(pixels, channels))
    if not images:
        raise ConfigError(f"no training image is at least {min_size} px on each side")
    return images


def split_holdout(paths: list[Path], holdout: int) -> tuple[list[Path], list[Path]]:
    """Hold out ``holdout`` images for validation, chosen by a hash of their names (stable)."""
    ranked = sorted(paths, key=lambda p: zlib.crc32(p.name.encode()))
    val = set(ranked[:holdout])
    return [p for p in paths if p not in val], [p for p in paths if p in val]


def centre_crop(image: np.ndarray, size: int, multiple: int) -> Tensor:
    """The ``(1, C, h, w)`` middle of a ``(C, H, W)`` image, sides at most ``size`` cut to multiples of ``multiple``."""
    _, h, w = image.shape
    th, tw = min(h, size), min(w, size)
    th, tw = th - th % multiple, tw - tw % multiple
    top, left = (h - th) // 2, (w - tw) // 2
    return torch.from_numpy(image[:, top : top + th, left : left + tw].copy())[None]


class LazyImages:
    """Images read from disk on each access: for sets too large to hold in memory (``data.cache: false``)."""

    def __init__(self, paths: list[Path], channels: int, min_size: int):
        self.paths = [p for p in paths if min(read_image(p).pixels.shape[:2]) >= min_size]
        self.channels = channels
        if not self.paths:
            raise ConfigError(f"no training image is at least {min_size} px on each side")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return _to_channels(read_image(self.paths[index]).pixels, self.channels)


class PatchDataset(Dataset):
    """Random ``patch x patch`` crops with random flips and 90-degree rotations.

    Item ``i`` is a pure function of ``(seed, i)``. ``images`` is a list of ``(C, H, W)``
    arrays held in memory, or a :class:`LazyImages`.
    """

    def __init__(self, images, patch: int, seed: int, length: int = 10**9):
        self.images, self.patch, self.seed, self.length = images, patch, seed, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Tensor:
        rng = np.random.default_rng([self.seed, index])
        image = self.images[int(rng.integers(len(self.images)))]
        _, h, w = image.shape
        top, left = rng.integers(h - self.patch + 1), rng.integers(w - self.patch + 1)
        crop = image[:, top : top + self.patch, left : left + self.patch]
        crop = np.rot90(crop, k=int(rng.integers(4)), axes=(1, 2))
        if rng.random() < 0.5:
            crop = crop[:, :, ::-1]
        return torch.from_numpy(np.ascontiguousarray(crop))


class PairedPatchDataset(Dataset):
    """Aligned random crops of (clean, degraded) pairs; the degraded image may be ``ratio`` times smaller.

    Item ``i`` is a pure function of ``(seed, i)`` and returns ``(x, y)``.
    """

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], patch: int, seed: int, ratio: int = 1):
        if patch % ratio:
            raise ConfigError(f"patch size {patch} must be a multiple of the scale {ratio}")
        self.pairs, self.patch, self.seed, self.ratio = pairs, patch, seed, ratio

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        rng = np.random.default_rng([self.seed, index])
        x, y = self.pairs[rng.integers(len(self.pairs))]
        r, p = self.ratio, self.patch // self.ratio
        _, h, w = y.shape
        top, left = rng.integers(h - p + 1), rng.integers(w - p + 1)
        y = y[:, top : top + p, left : left + p]
        x = x[:, top * r : (top + p) * r, left * r : (left + p) * r]
        k, flip = int(rng.integers(4)), rng.random() < 0.5
        x, y = (np.rot90(a, k=k, axes=(1, 2)) for a in (x, y))
        if flip:
            x, y = x[:, :, ::-1], y[:, :, ::-1]
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def load_pairs(clean: list[Path], degraded_dir: str, channels: int, ratio: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pair each clean image with the same-named image in ``degraded_dir`` (any image extension)."""
    folder = Path(degraded_dir)
    if not folder.is_dir():
        raise ConfigError(f"degraded folder {degraded_dir} does not exist")
    by_stem = {p.stem: p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for path in clean:
        if path.stem not in by_stem:
            raise ConfigError(f"no degraded image named {path.stem}.* in {degraded_dir}")
        try:
            x = _to_channels(read_image(path).pixels, channels)
            y = _to_channels(read_image(by_stem[path.stem]).pixels, channels)
        except ImageError as error:
            raise ConfigError(str(error)) from None
        if x.shape[1] != y.shape[1] * ratio or x.shape[2] != y.shape[2] * ratio:
            raise ConfigError(f"{by_stem[path.stem]}: size does not match {path} at ratio {ratio}")
        pairs.append((x, y))
    return pairs


@dataclass
class Sample:
    """A training example: the clean target and what the network is given."""

    x: Tensor
    y: Tensor
    sigma: Tensor | None = None
    psf: Tensor | None = None
    mask: Tensor | None = None


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


def _with_gray_samples(x: Tensor, fraction: float, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """Turn a random ``fraction`` of a colour batch into gray images replicated over 3 channels.

    A colour model then also learns gray photographs, whose noise is the same in every channel.
    """
    if fraction <= 0 or x.shape[1] != 3:
        return x, None
    gray = (torch.rand(x.shape[0], generator=g) < fraction).view(-1, 1, 1, 1)
    luma = (x * torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return torch.where(gray, luma.expand_as(x), x), gray


def _share_noise(y: Tensor, z: Tensor, gray: Tensor | None) -> Tensor:
    """For the gray samples, use the first channel's noise in every channel."""
    if gray is None:
        return y
    return torch.where(gray, z + (y - z)[:, :1], y)


def synthesize(task: Task, x: Tensor, cfg: DataConfig, g: torch.Generator) -> Sample:
    """Degrade a clean batch ``x`` for ``task`` with the core's operators and samplers."""
    n = x.shape[0]
    x, gray = _with_gray_samples(x, cfg.gray_fraction, g)
    if task == "denoise":
        sigma = _uniform(n, cfg.sigma_min, cfg.sigma_max, g) / 255
        if cfg.noise == "gaussian":
            y = _share_noise(GaussianNoise(sigma).sample(x, g), x, gray)
            return Sample(x, y, sigma)
        # Poisson-Gaussian: pick a gain so the signal-dependent part has a comparable strength;
        # the network is told the equivalent std at mid-grey.
        gain = _uniform(n, 0.0, 1.0, g) * sigma**2 / 0.5
        use_pg = torch.rand(n, generator=g) < (1.0 if cfg.noise == "poisson-gaussian" else 0.3)
        gain = torch.where(use_pg, gain.clamp_min(1e-6), torch.full_like(gain, 1e-9))
        read = torch.where(use_pg, (sigma**2 - gain * 0.5).clamp_min(0).sqrt(), sigma)
        y = _share_noise(PoissonGaussianNoise(gain, read).sample(x, g), x, gray)
        return Sample(x, y, sigma)
    if task == "deblur":
        size = cfg.blur_kernel_size
        psf = torch.stack([sample_blur_kernel(size, g) for _ in range(n)]).float()
        sigma = _uniform(n, cfg.sigma_min, cfg.sigma_max, g) / 255
        z = Blur(psf, boundary="replicate").A(x)
        y = _share_noise(GaussianNoise(sigma).sample(z, g), z, gray)
        return Sample(x, y, sigma, psf=psf)
    if task == "inpaint":
        h, w = x.shape[-2:]
        mask = torch.cat([sample_mask(h, w, cfg.mask_kind, g) for _ in range(n)])
        return Sample(x, x * mask, mask=mask)
    if task == "upscale":
        return Sample(x, Downsample(cfg.scale).A(x.double()).float())
    raise ConfigError(f"unknown task {task!r}")


def noisy_once(images: list[np.ndarray], sigma_255: float, seed: int) -> list[np.ndarray]:
    """A fixed noisy realisation of each image: a noisy-only dataset made from clean images."""
    out = []
    for i, image in enumerate(images):
        g = torch.Generator().manual_seed(seed * 100_003 + i)
        x = torch.from_numpy(image)
        out.append(GaussianNoise(sigma_255 / 255).sample(x, g).numpy())
    return out


__all__ = [
    "LazyImages",
    "PairedPatchDataset",
    "PatchDataset",
    "load_pairs",
    "Sample",
    "centre_crop",
    "list_images",
    "load_images",
    "noisy_once",
    "split_holdout",
    "synthesize",
]
