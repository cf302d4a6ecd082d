"""One image through one method: what the CLI, the app and the benchmark share.

Application layer: it resolves the noise level once per image (tiles must agree on it),
carries alpha through (resized for SR, untouched otherwise) and returns an
:class:`~restore.io.Image` in the input's bit depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import cv2

from .engine import EngineSettings, run_restorer
from .estimate import estimate_sigma
from .io import Image, array_to_tensor, quantize_inplace
from .restorer import Degradation, Restorer


def resolve_degradation(image: Image, restorer: Restorer, degradation: Degradation) -> Degradation:
    """Fill in what the method needs and can be measured: the noise level for denoising and deblurring."""
    if restorer.task in ("denoise", "deblur") and degradation.sigma is None:
        sigma = float(estimate_sigma(array_to_tensor(image.pixels))[0])
        degradation = replace(degradation, sigma=sigma)
    if degradation.psf is not None:
        kh, kw = degradation.psf.shape[-2:]
        if kh > image.height or kw > image.width:
            raise ValueError(f"blur kernel {kw}x{kh} is larger than the image {image.width}x{image.height}")
    if degradation.mask is not None and tuple(degradation.mask.shape[-2:]) != (image.height, image.width):
        mh, mw = degradation.mask.shape[-2:]
        raise ValueError(f"mask is {mw}x{mh} but the image is {image.width}x{image.height}")
    return degradation


def restore_image(
    image: Image,
    restorer: Restorer,
    degradation: Degradation,
    settings: EngineSettings = EngineSettings(),  # noqa: B008 (frozen dataclass)
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Image, Degradation]:
    """Restore ``image``; returns the result (input dtype, alpha carried) and the degradation used."""
    degradation = resolve_degradation(image, restorer, degradation)
    restored = run_restorer(restorer, image.pixels, degradation, settings, progress)
    alpha = image.alpha
    if alpha is not None and restorer.task == "upscale":
        s = degradation.scale
        alpha = cv2.resize(alpha, (image.width * s, image.height * s), interpolation=cv2.INTER_CUBIC)
    pixels = quantize_inplace(restored, image.pixels.dtype)
    return replace(image, pixels=pixels, alpha=alpha), degradation
