"""Image files in and out: PNG, JPEG, TIFF, WebP, BMP; 8/16-bit; gray, RGB, RGBA.

Decoding is OpenCV's (it keeps 16-bit colour, which Pillow truncates); Pillow only reads the
EXIF orientation. Every failure is an :class:`ImageError` that names the file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image as PILImage
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
EIGHT_BIT_ONLY = (".jpg", ".jpeg", ".webp", ".bmp")


class ImageError(Exception):
    """A file could not be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class Image:
    """Decoded pixels, kept in their file's dtype until a tensor is asked for.

    Attributes:
        pixels: ``(H, W, C)`` uint8/uint16/float32 array, C = 1 (gray) or 3 (RGB order).
        alpha: ``(H, W)`` array of the same dtype, or None.
        suffix: the file's extension (``.png``), used to write the result alike.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    suffix: str = ".png"

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def channels(self) -> int:
        return self.pixels.shape[2]

    @property
    def max_value(self) -> float:
        return float(np.iinfo(self.pixels.dtype).max) if self.pixels.dtype.kind in "ui" else 1.0

    def to_tensor(self) -> Tensor:
        """``(1, C, H, W)`` float32 in [0, 1]."""
        return array_to_tensor(self.pixels)

    def with_pixels(self, tensor: Tensor, alpha: np.ndarray | None = None) -> Image:
        """A copy holding ``tensor`` (1, C, H, W) in [0, 1], quantised to this image's dtype."""
        pixels = tensor_to_array(tensor, self.pixels.dtype)
        return replace(self, pixels=pixels, alpha=self.alpha if alpha is None else alpha)


def array_to_tensor(array: np.ndarray) -> Tensor:
    scale = float(np.iinfo(array.dtype).max) if array.dtype.kind in "ui" else 1.0
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(scale)[None]


def tensor_to_array(tensor: Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """``(1, C, H, W)`` in [0, 1] -> ``(H, W, C)`` array of ``dtype`` (rounded, clipped)."""
    array = tensor.detach()[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        return np.rint(array * np.iinfo(dtype).max).astype(dtype)
    return array.astype(dtype)


def quantize_inplace(array: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """Float ``array`` in [0, 1] -> ``dtype``, reusing ``array``'s memory for the arithmetic.

    For large results (an 8000x6000 float canvas is 550 MiB) this avoids three temporary copies.
    """
    dtype = np.dtype(dtype)
    np.clip(array, 0, 1, out=array)
    if dtype.kind not in "ui":
        return array.astype(dtype, copy=False)
    array *= np.iinfo(dtype).max
    np.rint(array, out=array)
    return array.astype(dtype)


_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.swapaxes(a, 0, 1)[::-1],
}


def _exif_orientation(path: Path) -> int:
    try:
        with PILImage.open(path) as im:
            return int(im.getexif().get(0x0112, 1))
    except Exception:  # no EXIF, or a format Pillow does not know: nothing to rotate
        return 1


def read_image(path: str | Path) -> Image:
    """Read an image file, applying its EXIF orientation.

    Raises:
        ImageError: the file is missing, unreadable, not an image, or of an unsupported type.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as error:
        raise ImageError(f"{path}: cannot read file ({error.strerror or error})") from None
    if data.size == 0:
        raise ImageError(f"{path}: file is empty")
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if array is None:
        raise ImageError(f"{path}: not a readable image (corrupt or unsupported format)")
    if array.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageError(f"{path}: unsupported pixel type {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    channels = array.shape[2]
    alpha = None
    if channels == 4:
        alpha = array[..., 3]
        array = cv2.cvtColor(array[..., :3], cv2.COLOR_BGR2RGB)
    elif channels == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    elif channels == 2:  # gray + alpha
        alpha, array = array[..., 1], array[..., :1]
    elif channels != 1:
        raise ImageError(f"{path}: unsupported channel count {channels}")
    if array.ndim == 2:
        array = array[..., None]
    orientation = _exif_orientation(path)
    if orientation in _ORIENT:
        array = np.ascontiguousarray(_ORIENT[orientation](array))
        alpha = None if alpha is None else np.ascontiguousarray(_ORIENT[orientation](alpha))
    suffix = path.suffix.lower() if path.suffix.lower() in IMAGE_SUFFIXES else ".png"
    return Image(pixels=array, alpha=alpha, suffix=suffix)


def encode_image(image: Image, suffix: str, *, jpeg_quality: int = 95) -> bytes:
    """Encode to the bytes of a ``suffix`` file; 16-bit is reduced to 8 for 8-bit-only formats."""
    suffix = suffix.lower()
    pixels, alpha = image.pixels, image.alpha
    if suffix in EIGHT_BIT_ONLY and pixels.dtype != np.uint8:
        scale = 255.0 / (np.iinfo(pixels.dtype).max if pixels.dtype.kind in "ui" else 1.0)
        pixels = np.rint(pixels.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
        alpha = None if alpha is None else np.rint(alpha.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    if suffix in (".jpg", ".jpeg"):
        alpha = None  # JPEG has no alpha channel
    bgr = pixels[..., 0] if pixels.shape[2] == 1 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if alpha is not None:
        bgr = np.dstack([cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR) if bgr.ndim == 2 else bgr, alpha])
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101]  # above 100: lossless
    ok, buffer = cv2.imencode(suffix, bgr, params)
    if not ok:
        raise ImageError(f"cannot encode image as {suffix}")
    return buffer.tobytes()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise ImageError(f"{path}: cannot write ({error.strerror or error})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise ImageError(f"{path}: cannot write ({error.strerror or error})") from None


def write_image(path: str | Path, image: Image, *, jpeg_quality: int = 95) -> None:
    """Atomically write ``image`` in the format of ``path``'s extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageError(f"{path}: unsupported output format {suffix or '(none)'}")
    try:
        data = encode_image(image, suffix, jpeg_quality=jpeg_quality)
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None
    write_bytes_atomic(path, data)
