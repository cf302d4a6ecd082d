"""Inpainting masks: LaMa-style seeded samplers and loading mask files.

Masks returned here are ``(1, 1, H, W)`` float tensors with **1 = known pixel, 0 = hole**
(what :class:`restore.operators.Mask` multiplies by). Files use the opposite, common
convention: white = hole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch
from torch import Tensor

MaskKind = Literal["thin", "medium", "thick", "box", "mix"]


@dataclass(frozen=True)
class StrokeSettings:
    """Irregular-stroke mask parameters at a 256 px reference size (scaled with the image)."""

    min_strokes: int
    max_strokes: int
    max_vertices: int
    max_length: int
    max_width: int


# After LaMa's training configs (Suvorov et al. 2022): "thin", "medium" and the large-mask "thick".
STROKES = {
    "thin": StrokeSettings(4, 20, 4, 40, 10),
    "medium": StrokeSettings(4, 5, 6, 100, 30),
    "thick": StrokeSettings(1, 5, 5, 200, 60),
}


def _uniform(g: torch.Generator | None, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g, dtype=torch.float64))


def _randint(g: torch.Generator | None, low: int, high: int) -> int:
    """Integer in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=g))


def _strokes(h: int, w: int, s: StrokeSettings, g: torch.Generator | None) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    scale = math.sqrt(h * w) / 256
    for _ in range(_randint(g, s.min_strokes, s.max_strokes)):
        x, y = _randint(g, 0, w - 1), _randint(g, 0, h - 1)
        for _ in range(1 + _randint(g, 0, s.max_vertices - 1)):
            angle = _uniform(g, 0, 2 * math.pi)
            length = _uniform(g, 10 * scale, s.max_length * scale)
            width = max(1, round(_uniform(g, 5 * scale, s.max_width * scale)))
            nx = int(np.clip(x + length * math.cos(angle), 0, w - 1))
            ny = int(np.clip(y + length * math.sin(angle), 0, h - 1))
            cv2.line(hole, (x, y), (nx, ny), 1, width)
            cv2.circle(hole, (nx, ny), width // 2, 1, -1)
            x, y = nx, ny
    return hole


def _boxes(h: int, w: int, g: torch.Generator | None) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    scale = math.sqrt(h * w) / 256
    margin, low, high = round(10 * scale), round(30 * scale), round(150 * scale)
    for _ in range(_randint(g, 1, 3)):
        bw = _randint(g, low, min(high, w - 2 * margin))
        bh = _randint(g, low, min(high, h - 2 * margin))
        x = _randint(g, margin, w - margin - bw)
        y = _randint(g, margin, h - margin - bh)
        hole[y : y + bh, x : x + bw] = 1
    return hole


def sample_mask(height: int, width: int, kind: MaskKind = "mix", generator: torch.Generator | None = None) -> Tensor:
    """A random LaMa-style mask ``(1, 1, H, W)``, 1 = known.

    ``"mix"`` draws LaMa's large-mask mixture: thick strokes (50%), medium strokes (25%),
    boxes (25%). Masks covering more than 70% of the image are redrawn, as in LaMa.
    """
    if min(height, width) < 32:
        raise ValueError(f"mask size {height}x{width} is too small (at least 32x32)")
    for _ in range(20):
        chosen = kind
        if kind == "mix":
            u = _uniform(generator, 0, 1)
            chosen = "thick" if u < 0.5 else "medium" if u < 0.75 else "box"
        if chosen == "box":
            hole = _boxes(height, width, generator)
        else:
            hole = _strokes(height, width, STROKES[chosen], generator)
        if 0 < hole.mean() <= 0.7:
            break
    return torch.from_numpy(1.0 - hole.astype(np.float32))[None, None]


def mask_from_array(array: np.ndarray) -> Tensor:
    """File-convention mask (any 8/16-bit gray or RGB(A), white = hole) -> ``(1, 1, H, W)``, 1 = known."""
    if array.ndim == 3:
        array = array[..., :3].max(axis=2)
    limit = np.iinfo(array.dtype).max if np.issubdtype(array.dtype, np.integer) else 1.0
    hole = array > limit / 2
    return torch.from_numpy((~hole).astype(np.float32))[None, None]


def mask_to_array(mask: Tensor) -> np.ndarray:
    """``(1, 1, H, W)`` mask, 1 = known -> uint8 image, white (255) = hole."""
    return ((mask[0, 0] < 0.5).numpy().astype(np.uint8)) * 255


def load_mask(path: str | Path) -> Tensor:
    """Read a mask file (white = hole); raises ``ValueError`` naming the file on failure."""
    path = Path(path)
    try:
        array = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    except OSError as error:
        raise ValueError(f"{path}: cannot read mask ({error.strerror or error})") from None
    if array is None:
        raise ValueError(f"{path}: not a readable mask image")
    return mask_from_array(array)
