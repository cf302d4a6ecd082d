"""Run any restorer on an image of any size, in bounded memory.

The image stays in its file dtype; tiles are cut from it, padded to the restorer's multiple,
batched, restored on the chosen device and blended back into a float32 canvas with windows
that ignore each tile's outer ``margin`` pixels (where a tile lacks context) and cross-fade
over the rest of the overlap. For a method whose receptive field fits in the margin, the
tiled result equals the untiled one. Peak memory is the input, a float32 output canvas and
its weights, plus one batch of tiles: about 1.1 GB for an 8000x6000 RGB photograph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .io import array_to_tensor
from .restorer import Degradation, Restorer

Precision = Literal["fp32", "fp16", "bf16"]


@dataclass(frozen=True)
class EngineSettings:
    """How to run a restorer.

    Attributes:
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        tile: tile edge in input pixels (None: the restorer's preference; 0: never tile).
        margin: pixels at each inner tile edge given no weight (at least the restorer's context).
        blend: pixels over which neighbouring tiles cross-fade.
        batch_size: tiles per call.
        precision: autocast dtype on CUDA ("fp32" = off); FFTs inside models stay float32.
    """

    device: str = "auto"
    tile: int | None = None
    margin: int = 16
    blend: int = 16
    batch_size: int = 4
    precision: Precision = "fp32"


def select_device(name: str = "auto") -> torch.device:
    """ "auto" picks CUDA, then Apple MPS, then the CPU; an unavailable device is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("MPS was requested but is not available")
    return device


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of equal tiles covering ``length``; the last one is shifted back inside."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _edge_ramp(n: int, margin: int, blend: int, left: bool, right: bool) -> np.ndarray:
    d = np.arange(n, dtype=np.float32)
    rise = np.clip((d - margin + 0.5) / max(blend, 1), 0, 1)
    rise = 0.5 - 0.5 * np.cos(np.pi * rise)
    w = np.ones(n, np.float32)
    if left:
        w = np.minimum(w, rise)
    if right:
        w = np.minimum(w, rise[::-1])
    return w


@dataclass(frozen=True)
class _Tile:
    top: int
    left: int
    height: int
    width: int


def _tiles(h: int, w: int, tile: int, overlap: int) -> Iterator[_Tile]:
    for top in tile_starts(h, tile, overlap):
        for left in tile_starts(w, tile, overlap):
            yield _Tile(top, left, min(tile, h), min(tile, w))


def pad_to_multiple(x: Tensor, multiple: int, minimum: int = 0) -> Tensor:
    """Pad bottom/right (reflect, or replicate for tiny inputs) so H and W are multiples of ``multiple``
    and at least ``minimum``."""
    h, w = x.shape[-2:]
    ph, pw = (max(size, minimum) + (-max(size, minimum)) % multiple - size for size in (h, w))
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _autocast(device: torch.device, precision: Precision):
    if precision == "fp32" or device.type != "cuda":
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def run_restorer(
    restorer: Restorer,
    pixels: np.ndarray,
    degradation: Degradation,
    settings: EngineSettings = EngineSettings(),  # noqa: B008 (frozen dataclass)
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Restore an ``(H, W, C)`` image array (any dtype) into an ``(sH, sW, C)`` float32 array in [0, 1].

    Args:
        restorer: the method.
        pixels: the measurement, uint8/uint16 or float in [0, 1].
        degradation: what is known; its mask must be ``(1, 1, H, W)``.
        settings: device, tiling, batching and precision.
        progress: called as ``progress(tiles_done, tiles_total)``.
    """
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    h, w, c = pixels.shape
    if degradation.mask is not None and tuple(degradation.mask.shape[-2:]) != (h, w):
        m = tuple(degradation.mask.shape[-2:])
        raise ValueError(f"mask size {m[1]}x{m[0]} does not match image size {w}x{h}")
    device = select_device(settings.device) if restorer.device_capable else torch.device("cpu")
    scale = degradation.scale if restorer.task == "upscale" else 1
    tile = restorer.tile_size if settings.tile is None else settings.tile
    tile = max(h, w) if tile == 0 else tile
    margin = max(settings.margin, restorer.context(degradation))
    overlap = 2 * margin + settings.blend
    if tile <= overlap and tile < max(h, w):
        raise ValueError(f"tile size {tile} must exceed twice the margin plus blend ({overlap})")
    tiles = list(_tiles(h, w, tile, overlap))
    canvas = np.zeros((h * scale, w * scale, c), np.float32)
    weights = np.zeros((h * scale, w * scale, 1), np.float32)
    done = 0
    for start in range(0, len(tiles), settings.batch_size):
        batch = tiles[start : start + settings.batch_size]
        y = torch.cat([array_to_tensor(pixels[t.top : t.top + t.height, t.left : t.left + t.width]) for t in batch])
        deg = degradation
        if degradation.mask is not None:
            masks = [degradation.mask[..., t.top : t.top + t.height, t.left : t.left + t.width] for t in batch]
            deg = Degradation(degradation.sigma, degradation.psf, torch.cat(masks), degradation.scale)
        th, tw = y.shape[-2:]
        y = pad_to_multiple(y, restorer.multiple)
        if deg.mask is not None:
            deg = Degradation(deg.sigma, deg.psf, pad_to_multiple(deg.mask, restorer.multiple), deg.scale)
        y = y.to(device)
        if device.type == "cpu":
            y = y.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), _autocast(device, settings.precision):
            x_hat = restorer(y, deg)
        x_hat = x_hat[..., : th * scale, : tw * scale].float().clamp(0, 1).cpu()
        for t, out in zip(batch, x_hat, strict=True):
            wy = _edge_ramp(t.height * scale, margin * scale, settings.blend * scale, t.top > 0, t.top + t.height < h)
            wx = _edge_ramp(t.width * scale, margin * scale, settings.blend * scale, t.left > 0, t.left + t.width < w)
            window = (wy[:, None] * wx[None, :])[..., None]
            rows = slice(t.top * scale, (t.top + t.height) * scale)
            cols = slice(t.left * scale, (t.left + t.width) * scale)
            canvas[rows, cols] += out.permute(1, 2, 0).numpy() * window
            weights[rows, cols] += window
        done += len(batch)
        if progress is not None:
            progress(done, len(tiles))
    np.divide(canvas, np.maximum(weights, 1e-12), out=canvas)
    return canvas
