"""The interface every restoration method has, classical or learned.

A restorer maps a measurement ``y`` (N, C, H, W) in [0, 1] and a :class:`Degradation`
describing how it was made to an estimate ``x_hat``; the engine tiles, pads and batches
around it, so a method only has to be correct on one tile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from torch import Tensor

Task = Literal["denoise", "deblur", "inpaint", "upscale"]
TASKS: tuple[Task, ...] = ("denoise", "deblur", "inpaint", "upscale")


@dataclass(frozen=True)
class Degradation:
    """What is known about how ``y`` was degraded.

    Attributes:
        sigma: noise standard deviation on the [0, 1] scale (None: unknown, estimate it).
        psf: blur kernel ``(kh, kw)``, for deblurring.
        mask: ``(1, 1, H, W)``, 1 = known pixel, for inpainting.
        scale: upscaling factor, for super-resolution.
    """

    sigma: float | None = None
    psf: Tensor | None = None
    mask: Tensor | None = None
    scale: int = 1

    def crop(self, top: int, left: int, height: int, width: int) -> Degradation:
        """The same degradation restricted to a tile (only the mask is spatial)."""
        if self.mask is None:
            return self
        return replace(self, mask=self.mask[..., top : top + height, left : left + width])


class Restorer:
    """Base class: a named method for one task.

    Attributes:
        name: the method's name as the CLI and the app show it.
        task: which task it solves.
        multiple: H and W are padded to a multiple of this before the call.
        tile_size: preferred tile edge for the engine (a global method wants large tiles).
        device_capable: runs on an accelerator (False: the engine keeps it on the CPU).
    """

    name: str = "restorer"
    task: Task = "denoise"
    multiple: int = 1
    tile_size: int = 512
    device_capable: bool = False

    def context(self, degradation: Degradation) -> int:
        """Pixels of context each output pixel needs on every side (the tile margin)."""
        if degradation.psf is not None:
            return max(degradation.psf.shape[-2:])
        return 8

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        raise NotImplementedError
