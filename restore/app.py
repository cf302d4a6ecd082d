"""The web app: the four tasks and a batch mode in the browser, and as a Gradio API.

Application layer (needs the ``app`` extra). :class:`Handlers` holds the event handlers as plain
methods that take and return plain values (file paths, numbers, arrays, Markdown), so they can be
tested without a server; :func:`build_app` wires them into a ``gr.Blocks`` and :func:`serve`
launches it with upload limits and a bounded queue.

Uploads arrive as files (``gr.File``), not as browser-decoded images, so 16-bit PNG/TIFF keep
their depth and the download is written in the input's format and bit depth. Pixel counts are
checked from the file header before anything is decoded. Nothing here accepts a server path
from the client, and messages name files by their upload name only.

    python app.py --port 7860          # or: restore app
"""

from __future__ import annotations

import argparse
import atexit
import functools
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import gradio as gr
import numpy as np
import torch
from gradio.utils import get_upload_folder as gradio_upload_folder
from PIL import Image as PILImage
from torch import Tensor

from .allocator import keep_freed_memory
from .engine import EngineSettings, select_device
from .estimate import estimate_sigma
from .io import IMAGE_SUFFIXES, Image, ImageError, encode_image, read_image
from .kernels import disk_kernel, gaussian_kernel, load_kernel, motion_kernel
from .masks import load_mask
from .methods import available_methods, default_method, load_method
from .metrics import LPIPSUnavailableError, lpips_distance, psnr, ssim
from .pipeline import restore_image
from .restorer import TASKS, Degradation, Restorer, Task

EXAMPLES = Path(str(resources.files("restore") / "examples"))
KERNEL_SUFFIXES = (".npy", ".txt", ".csv", *IMAGE_SUFFIXES)
KERNEL_KINDS = [("Motion", "motion"), ("Gaussian", "gaussian"), ("Defocus disk", "disk"), ("PSF file", "file")]
SCALES = (2, 3, 4)
DEFAULT = "default"  # as a method name: the task's default method
PREVIEW_EDGE = 4096  # longest side of the images sent to the browser; downloads stay full size
KERNEL_PREVIEW_EDGE = 160
RESULT_LIFETIME_S = 3600
# SSIM (float64) and LPIPS take seconds per megapixel on a CPU; larger images get PSNR only.
SLOW_METRICS_MAX_PIXELS = 2_000_000
# Gradio injects a live tracker into a parameter whose default is a Progress; outside an event
# (a direct call in a test) calling it does nothing.
PROGRESS = gr.Progress()

TITLES = {"denoise": "Denoise", "deblur": "Deblur", "inpaint": "Inpaint", "upscale": "Upscale"}
BLURBS = {
    "denoise": "Remove sensor noise. Leave **auto** on to measure the noise level from the photo.",
    "deblur": "Undo a known blur: describe it (motion, Gaussian, defocus disk) or upload the PSF.",
    "inpaint": "Paint over what should disappear (brush, eraser), or upload a mask (white = hole). "
    "Pixels outside the mask are kept exactly.",
    "upscale": "Super-resolution by 2, 3 or 4.",
}


@dataclass(frozen=True)
class AppConfig:
    """What the server accepts and where it computes.

    Attributes:
        max_upload_mb: largest accepted file (an image, a PSF, a mask or a zip).
        max_pixels: largest image, counted on the larger of input and result (x4 SR counts 16x).
        max_batch_files: most images in one batch.
        device: "auto", "cpu", "cuda", "mps" (models only; classical methods run on the CPU).
        tile: the engine's tile size (None: each method's own).
    """

    max_upload_mb: float = 50.0
    max_pixels: int = 50_000_000
    max_batch_files: int = 100
    device: str = "auto"
    tile: int | None = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@functools.lru_cache(maxsize=8)
def _cached_restorer(task: Task, name: str, device: str) -> Restorer:
    return load_method(task, name, device=device)


def display_name(path: str | Path) -> str:
    """The upload's own file name: Gradio keeps it as the last component of its cache path."""
    return Path(path).name


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g} MP"


def _safe_message(error: Exception, path: str | Path, name: str | None = None) -> str:
    """An error's text with the server-side path replaced by the upload's name."""
    return str(error).replace(str(path), name or display_name(path))


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype.kind in "ui":
        return np.rint(pixels.astype(np.float32) * (255.0 / np.iinfo(pixels.dtype).max)).astype(np.uint8)
    return np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)


def preview_array(image: Image, max_edge: int = PREVIEW_EDGE) -> np.ndarray:
    """An 8-bit ``(H, W, 3)`` or ``(H, W)`` array for the browser, at most ``max_edge`` on its long side."""
    pixels = _to_8bit(image.pixels)
    h, w = pixels.shape[:2]
    if max(h, w) > max_edge:
        f = max_edge / max(h, w)
        pixels = cv2.resize(pixels, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return pixels


def kernel_image(psf: Tensor, edge: int = KERNEL_PREVIEW_EDGE) -> np.ndarray:
    """A PSF as a uint8 picture (peak = white), enlarged with square pixels to about ``edge``."""
    k = psf.double().cpu().numpy()
    k = k / max(k.max(), 1e-12)
    kh, kw = k.shape
    side = max(kh, kw)
    square = np.zeros((side, side))
    square[(side - kh) // 2 : (side - kh) // 2 + kh, (side - kw) // 2 : (side - kw) // 2 + kw] = k
    zoom = max(1, edge // side)
    return np.rint(np.kron(square, np.ones((zoom, zoom))) * 255).astype(np.uint8)


def mask_from_editor(value: dict | None, height: int, width: int) -> np.ndarray | None:
    """Holes painted in ``gr.ImageEditor`` layers -> ``(H, W)`` bool, True = hole (None: nothing painted).

    A painted pixel is any pixel a layer covers (alpha > 0); the eraser clears alpha. Layers are
    resized to the image when the editor showed a reduced preview.
    """
    if not value or not value.get("layers"):
        return None
    hole = np.zeros((height, width), bool)
    for layer in value["layers"]:
        if layer is None:
            continue
        a = np.asarray(layer)
        painted = a[..., 3] > 0 if a.ndim == 3 and a.shape[2] == 4 else (a.reshape(*a.shape[:2], -1).max(-1) > 0)
        if painted.shape != (height, width):
            painted = cv2.resize(painted.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        hole |= painted
    return hole if hole.any() else None


def safe_member_name(name: str) -> str | None:
    """A zip member's name reduced to harmless relative parts (no ``..``, no root, no drive).

    Used only to name entries of the result zip; nothing is ever written to disk under it.
    """
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    parts = [re.sub(r"[^\w.\- ]", "_", p).strip(" .") for p in parts if not re.fullmatch(r"[A-Za-z]:", p)]
    parts = [p for p in parts if p]
    return "/".join(parts) or None


@dataclass
class _Upload:
    """One file of a batch: the name it is shown and zipped under, and a local copy to read."""

    name: str
    path: Path


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


class Handlers:
    """The app's event handlers, bound to one configuration; each is callable without a server.

    Args:
        config: limits and device.
        uploads_only: accept only files inside Gradio's upload folder (and this object's own
            temporary files). Gradio itself lets a client name files under the temp directory
            or the working directory; the app built by :func:`build_app` refuses them.
    """

    def __init__(self, config: AppConfig | None = None, *, uploads_only: bool = False):
        self.config = config or AppConfig()
        self.upload_folder = Path(gradio_upload_folder()).resolve() if uploads_only else None
        self.settings = EngineSettings(device=self.config.device, tile=self.config.tile)
        self.workdir = Path(tempfile.mkdtemp(prefix="restore-app-")).resolve()
        atexit.register(shutil.rmtree, self.workdir, ignore_errors=True)
        self._lock = threading.Lock()

    # ----- inputs -----------------------------------------------------------------------------

    def _check_file(self, path: str | Path | None, what: str, suffixes: Sequence[str], name: str | None = None) -> Path:
        if not path:
            raise gr.Error(f"Upload {what} first.")
        path = Path(path)
        name = name or display_name(path)
        if self.upload_folder is not None and not (_inside(path, self.upload_folder) or _inside(path, self.workdir)):
            raise gr.Error(f"{name} was not uploaded: this server reads only files sent through its upload.")
        if path.suffix.lower() not in suffixes:
            kinds = ", ".join(s.lstrip(".").upper() for s in suffixes)
            raise gr.Error(f"{name} is not a supported file for {what} (expected {kinds}).")
        try:
            size = path.stat().st_size
        except OSError:
            raise gr.Error(f"{name} could not be read; upload it again.") from None
        if size > self.config.max_upload_bytes:
            raise gr.Error(f"{name} is {_mb(size)}; this server accepts files up to {self.config.max_upload_mb:g} MB.")
        return path

    def _check_pixels(self, name: str, pixels: int, what: str = "") -> None:
        if pixels > self.config.max_pixels:
            raise gr.Error(
                f"{name}{what} has {_megapixels(pixels)}; this server accepts images up to "
                f"{_megapixels(self.config.max_pixels)}."
            )

    def read(
        self, path: str | Path | None, what: str = "an image", *, scale: int = 1, name: str | None = None
    ) -> Image:
        """Check and decode an uploaded image; every problem is a ``gr.Error`` naming the upload (or ``name``)."""
        path = self._check_file(path, what, IMAGE_SUFFIXES, name)
        name = name or display_name(path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
                with PILImage.open(path) as header:  # reads the header only: no decompression bomb
                    width, height = header.size
        except PILImage.DecompressionBombError:  # Pillow's own ceiling, far above any sensible limit
            raise gr.Error(f"{name} is far larger than this server accepts.") from None
        except Exception:  # Pillow's errors for a non-image are of many types
            raise gr.Error(f"{name} is not a readable image (corrupt or not PNG, JPEG, TIFF, WebP or BMP).") from None
        self._check_pixels(name, width * height)
        if scale > 1:
            self._check_pixels(name, width * height * scale * scale, f" upscaled x{scale}")
        try:
            return read_image(path)
        except ImageError as error:
            raise gr.Error(_safe_message(error, path, name)) from None

    def restorer(self, task: Task, method: str | None, scale: int | None = None) -> Restorer:
        # Only listed names: load_method would also take a model file's path, which a client must not pass.
        choices = available_methods(task)
        name = default_method(task, scale) if method in (None, "", DEFAULT) else method
        if name not in choices:
            raise gr.Error(f"Unknown method {name!r} for {task}; choose one of {', '.join(choices)}.")
        try:
            return _cached_restorer(task, name, self.config.device)
        except (ValueError, RuntimeError, OSError) as error:
            raise gr.Error(f"Method {name} is not available here: {error}") from None

    def kernel(
        self,
        kind: str,
        motion_length: float = 15,
        motion_angle: float = 30,
        gaussian_sigma: float = 2,
        disk_radius: float = 4,
        psf_file: str | None = None,
    ) -> Tensor:
        """The blur kernel described by the deblur controls."""
        try:
            if kind == "motion":
                return motion_kernel(float(motion_length), float(motion_angle))
            if kind == "gaussian":
                return gaussian_kernel(float(gaussian_sigma))
            if kind == "disk":
                return disk_kernel(float(disk_radius))
        except ValueError as error:
            raise gr.Error(f"Blur kernel: {error}.") from None
        if kind != "file":
            raise gr.Error(f"Unknown kernel type {kind!r}; choose motion, gaussian, disk or file.")
        path = self._check_file(psf_file, "a PSF file", KERNEL_SUFFIXES)
        try:
            return load_kernel(path)
        except ValueError as error:
            raise gr.Error(_safe_message(error, path)) from None

    # ----- small UI helpers ---------------------------------------------------------------------

    def show_input(self, path: str | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The uploaded image on both sides of the slider, until there is a result."""
        if not path:
            return None
        p = preview_array(self.read(path))
        return p, p

    def show_noisy_input(self, path: str | None, auto: bool, sigma_255: float) -> tuple[Any, str, float]:
        """Preview plus the noise estimate; with ``auto`` the slider moves to the estimate."""
        if not path:
            return None, "", sigma_255
        image = self.read(path)
        p = preview_array(image)
        try:
            estimate = float(estimate_sigma(image.to_tensor())[0]) * 255
        except ValueError:  # smaller than the estimator's patches
            return (p, p), "The image is too small to estimate its noise level.", sigma_255
        return (
            (p, p),
            f"Estimated noise level: **σ ≈ {estimate:.1f}** (0-255 scale)",
            round(estimate, 1) if auto else sigma_255,
        )

    def show_editor(self, path: str | None) -> tuple[Any, dict | None]:
        if not path:
            return None, None
        p = preview_array(self.read(path))
        rgb = p if p.ndim == 3 else np.repeat(p[..., None], 3, axis=2)
        return (p, p), {"background": rgb, "layers": [], "composite": None}

    def kernel_preview(
        self,
        kind: str,
        motion_length: float = 15,
        motion_angle: float = 30,
        gaussian_sigma: float = 2,
        disk_radius: float = 4,
        psf_file: str | None = None,
    ) -> np.ndarray | None:
        """The kernel picture for the live preview; nothing while no PSF file is chosen."""
        if kind == "file" and not psf_file:
            return None
        return kernel_image(self.kernel(kind, motion_length, motion_angle, gaussian_sigma, disk_radius, psf_file))

    # ----- restoring -----------------------------------------------------------------------------

    def _result_dir(self) -> Path:
        with self._lock:
            now = time.time()
            for old in self.workdir.iterdir():
                if now - old.stat().st_mtime > RESULT_LIFETIME_S:
                    shutil.rmtree(old, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self.workdir))

    def _device_label(self, restorer: Restorer) -> str:
        if not restorer.device_capable:
            return "CPU"
        device = select_device(self.config.device)
        if device.type == "cuda":
            return f"GPU ({torch.cuda.get_device_name(device)})"
        return device.type.upper()

    def _restore(
        self, image: Image, restorer: Restorer, degradation: Degradation, progress: Any
    ) -> tuple[Image, Degradation, float]:
        def report(done: int, total: int) -> None:
            progress(done / total, desc=f"Restoring: tile {done} of {total}" if total > 1 else "Restoring")

        progress(0, desc="Restoring")
        start = time.perf_counter()
        try:
            restored, used = restore_image(image, restorer, degradation, self.settings, report)
        except (ValueError, RuntimeError, MemoryError) as error:
            raise gr.Error(f"Restoration failed: {error}") from None
        return restored, used, time.perf_counter() - start

    def _ground_truth(self, path: str | None) -> tuple[Image, str] | None:
        """The optional reference, read before restoring so that a bad upload fails fast."""
        return (self.read(path, "a ground truth"), display_name(path)) if path else None

    @staticmethod
    def _scores(restored: Image, before: Image, reference: tuple[Image, str] | None) -> str:
        if reference is None:
            return ""
        truth, name = reference
        if truth.pixels.shape != restored.pixels.shape:
            (h, w, c), (rh, rw, rc) = truth.pixels.shape, restored.pixels.shape
            return f"\n\nNo scores: {name} is {w}x{h}x{c} but the result is {rw}x{rh}x{rc}."
        x, x_hat = truth.to_tensor(), restored.to_tensor()
        parts = [f"PSNR **{float(psnr(x_hat, x)[0]):.2f} dB**"]
        if before.pixels.shape == truth.pixels.shape:
            parts[0] += f" (input {float(psnr(before.to_tensor(), x)[0]):.2f} dB)"
        if x.shape[-2] * x.shape[-1] > SLOW_METRICS_MAX_PIXELS:
            parts.append(f"SSIM and LPIPS are computed up to {_megapixels(SLOW_METRICS_MAX_PIXELS)}")
            return f"\n\nAgainst {name}: " + " · ".join(parts)
        if min(x.shape[-2:]) >= 11:
            parts.append(f"SSIM **{float(ssim(x_hat, x)[0]):.4f}**")
        if x.shape[1] in (1, 3):
            try:
                parts.append(f"LPIPS **{float(lpips_distance(x_hat, x)[0]):.4f}**")
            except LPIPSUnavailableError:
                pass
        return f"\n\nAgainst {name}: " + " · ".join(parts)

    def _finish(
        self,
        source: str,
        before: Image,
        restored: Image,
        restorer: Restorer,
        used: Degradation,
        seconds: float,
        reference: tuple[Image, str] | None,
    ) -> tuple[tuple[np.ndarray, np.ndarray], str, str]:
        """Slider pair, the download (input's format and bit depth) and the Markdown summary."""
        after = preview_array(restored)
        before_view = preview_array(before)
        if before_view.shape[:2] != after.shape[:2]:
            before_view = cv2.resize(before_view, after.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        stem = Path(display_name(source)).stem
        target = self._result_dir() / f"{stem}_{restorer.task}{before.suffix}"
        try:
            target.write_bytes(encode_image(restored, before.suffix))
        except ImageError as error:
            raise gr.Error(f"Cannot save the result: {error}") from None
        bits = 8 * restored.pixels.dtype.itemsize
        info = (
            f"**{restorer.name}** on **{self._device_label(restorer)}** in **{seconds:.2f} s** · "
            f"{before.width}x{before.height} → {restored.width}x{restored.height}, "
            f"{bits}-bit {before.suffix[1:].upper()}"
        )
        if restorer.task in ("denoise", "deblur") and used.sigma is not None:
            info += f" · noise σ = {used.sigma * 255:.1f}"
        info += self._scores(restored, before, reference)
        return (before_view, after), str(target), info

    def denoise(
        self,
        image_file: str | None,
        method: str | None = None,
        sigma_255: float = 25,
        sigma_auto: bool = True,
        ground_truth: str | None = None,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[tuple[np.ndarray, np.ndarray], str, str]:
        """Denoise an uploaded image; ``sigma_255`` is ignored when ``sigma_auto``."""
        image = self.read(image_file)
        restorer = self.restorer("denoise", method)
        reference = self._ground_truth(ground_truth)
        degradation = Degradation(sigma=None if sigma_auto else float(sigma_255) / 255)
        restored, used, seconds = self._restore(image, restorer, degradation, progress)
        return self._finish(image_file, image, restored, restorer, used, seconds, reference)

    def deblur(
        self,
        image_file: str | None,
        method: str | None = None,
        kernel_kind: str = "motion",
        motion_length: float = 15,
        motion_angle: float = 30,
        gaussian_sigma: float = 2,
        disk_radius: float = 4,
        psf_file: str | None = None,
        sigma_255: float = 2.55,
        sigma_auto: bool = True,
        ground_truth: str | None = None,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[tuple[np.ndarray, np.ndarray], str, str]:
        """Deblur with a parametric kernel (motion/gaussian/disk) or an uploaded PSF (``kernel_kind="file"``)."""
        image = self.read(image_file)
        restorer = self.restorer("deblur", method)
        reference = self._ground_truth(ground_truth)
        psf = self.kernel(kernel_kind, motion_length, motion_angle, gaussian_sigma, disk_radius, psf_file)
        degradation = Degradation(sigma=None if sigma_auto else float(sigma_255) / 255, psf=psf)
        restored, used, seconds = self._restore(image, restorer, degradation, progress)
        return self._finish(image_file, image, restored, restorer, used, seconds, reference)

    def inpaint(
        self,
        image_file: str | None,
        method: str | None = None,
        editor: dict | None = None,
        mask_file: str | None = None,
        ground_truth: str | None = None,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[tuple[np.ndarray, np.ndarray], str, str]:
        """Fill the holes painted in the editor and/or given by a mask file (white = hole)."""
        image = self.read(image_file)
        restorer = self.restorer("inpaint", method)
        reference = self._ground_truth(ground_truth)
        hole = mask_from_editor(editor, image.height, image.width)
        if mask_file:
            path = self._check_file(mask_file, "a mask", IMAGE_SUFFIXES)
            try:
                file_hole = load_mask(path)[0, 0].numpy() < 0.5
            except ValueError as error:
                raise gr.Error(_safe_message(error, path)) from None
            if file_hole.shape != (image.height, image.width):
                mh, mw = file_hole.shape
                raise gr.Error(f"The mask is {mw}x{mh} but the image is {image.width}x{image.height}.")
            hole = file_hole if hole is None else hole | file_hole
        if hole is None or not hole.any():
            raise gr.Error("Nothing to fill: paint over the area to remove, or upload a mask (white = hole).")
        known = torch.from_numpy((~hole).astype(np.float32))[None, None]
        restored, used, seconds = self._restore(image, restorer, Degradation(mask=known), progress)
        # Known pixels are copied back bit for bit, whatever the method does near the holes.
        pixels = np.where(hole[..., None], restored.pixels, image.pixels)
        restored = replace(restored, pixels=pixels, alpha=image.alpha)
        return self._finish(image_file, image, restored, restorer, used, seconds, reference)

    def upscale(
        self,
        image_file: str | None,
        method: str | None = None,
        scale: int | str = 4,
        ground_truth: str | None = None,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[tuple[np.ndarray, np.ndarray], str, str]:
        """Super-resolve by ``scale`` (2, 3 or 4)."""
        try:
            s = int(scale)
        except (TypeError, ValueError):
            s = 0
        if s not in SCALES:
            raise gr.Error(f"Scale must be 2, 3 or 4, got {scale!r}.")
        image = self.read(image_file, scale=s)
        restorer = self.restorer("upscale", method, scale=s)
        reference = self._ground_truth(ground_truth)
        restored, used, seconds = self._restore(image, restorer, Degradation(scale=s), progress)
        return self._finish(image_file, image, restored, restorer, used, seconds, reference)

    # ----- batch ---------------------------------------------------------------------------------

    def _unpack(self, files: Sequence[str], folder: Path, errors: list[str], task: str) -> list[_Upload]:
        """Uploaded images (and kernels, for deblurring) and the members of uploaded zips.

        Zip members are copied to files named by ``mkstemp``; their own names only label them.
        """
        uploads: list[_Upload] = []
        budget = 10 * self.config.max_upload_bytes  # all zip members together: a zip bomb stops here
        sidecar_suffixes = set(KERNEL_SUFFIXES if task == "deblur" else IMAGE_SUFFIXES)

        def local_copy(suffix: str) -> Path:
            fd, name = tempfile.mkstemp(suffix=suffix, dir=folder)
            os.close(fd)
            return Path(name)

        for file in files or []:
            path = Path(file)
            name = display_name(path)
            if path.suffix.lower() != ".zip":
                if path.suffix.lower() not in sidecar_suffixes:
                    errors.append(f"{name}: skipped, not an image or a zip")
                    continue
                uploads.append(_Upload(safe_member_name(name) or "image", path))
                continue
            try:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.infolist() if not m.is_dir()]
                    most = 4 * self.config.max_batch_files  # images, masks and kernels
                    if len(members) > most:
                        errors.append(f"{name}: holds {len(members)} files, only the first {most} are read")
                    for member in members[:most]:
                        member_name = safe_member_name(member.filename)
                        if member_name is None or member_name.startswith("__MACOSX/"):
                            continue
                        if Path(member_name).name.startswith("."):
                            continue
                        suffix = Path(member_name).suffix.lower()
                        if suffix not in sidecar_suffixes:
                            errors.append(f"{name}/{member_name}: skipped, not an image")
                            continue
                        limit = min(self.config.max_upload_bytes, budget)
                        with archive.open(member) as stream:
                            data = stream.read(limit + 1)  # the header's size may lie
                        if len(data) > limit:
                            errors.append(f"{name}/{member_name}: skipped, larger than {_mb(limit)} unpacked")
                            continue
                        budget -= len(data)
                        copy = local_copy(suffix)
                        copy.write_bytes(data)
                        uploads.append(_Upload(member_name, copy))
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as error:
                errors.append(f"{name}: not a readable zip ({error})")
        return uploads

    def batch(
        self,
        files: Sequence[str] | None,
        task: str = "denoise",
        method: str | None = None,
        sigma_255: float = 25,
        sigma_auto: bool = True,
        kernel_kind: str = "motion",
        motion_length: float = 15,
        motion_angle: float = 30,
        gaussian_sigma: float = 2,
        disk_radius: float = 4,
        psf_file: str | None = None,
        scale: int | str = 4,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[str, str]:
        """Restore several images (or zips of them) into one zip; returns its path and a report.

        For inpainting each image needs a mask named ``<stem>_mask.<ext>`` beside it (white = hole);
        for deblurring a ``<stem>_kernel.<ext>`` beside an image overrides the kernel controls.
        """
        if task not in TASKS:
            raise gr.Error(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
        if not files:
            raise gr.Error("Upload images or a zip of images first.")
        s = int(scale) if str(scale).isdigit() else 0
        if task == "upscale" and s not in SCALES:
            raise gr.Error(f"Scale must be 2, 3 or 4, got {scale!r}.")
        restorer = self.restorer(task, method, scale=s if task == "upscale" else None)
        for file in files:
            self._check_file(file, "a batch", (*KERNEL_SUFFIXES, ".zip"))
        base = Degradation(sigma=None if sigma_auto else float(sigma_255) / 255, scale=s if task == "upscale" else 1)
        folder = self._result_dir()
        errors: list[str] = []
        uploads = self._unpack(files, folder, errors, task)
        by_name = {u.name: u for u in uploads}
        sidecar = {"inpaint": "_mask", "deblur": "_kernel"}.get(task)
        images = [
            u
            for u in uploads
            if Path(u.name).suffix.lower() in IMAGE_SUFFIXES and not (sidecar and Path(u.name).stem.endswith(sidecar))
        ]
        if task == "deblur" and not all(
            self._find_sidecar(by_name, u.name, "_kernel", KERNEL_SUFFIXES) for u in images
        ):
            default_psf = self.kernel(kernel_kind, motion_length, motion_angle, gaussian_sigma, disk_radius, psf_file)
        else:
            default_psf = None
        if len(images) > self.config.max_batch_files:
            errors.append(f"only the first {self.config.max_batch_files} of {len(images)} images are restored")
            images = images[: self.config.max_batch_files]
        target = folder / f"restored_{task}.zip"
        done = 0
        start = time.perf_counter()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            written: set[str] = set()
            for i, upload in enumerate(images):
                progress((i, len(images)), desc=f"{upload.name}")
                try:
                    degradation = self._batch_degradation(task, upload, by_name, base, default_psf)
                    image = self.read(upload.path, scale=degradation.scale, name=upload.name)
                    restored, _ = restore_image(image, restorer, degradation, self.settings)
                    if task == "inpaint":
                        hole = degradation.mask[0, 0].numpy()[..., None] < 0.5
                        restored = replace(restored, pixels=np.where(hole, restored.pixels, image.pixels))
                    data = encode_image(restored, image.suffix)
                except gr.Error as error:  # already names the file
                    errors.append(error.message)
                    continue
                except (ImageError, ValueError, RuntimeError, MemoryError) as error:
                    errors.append(f"{upload.name}: {_safe_message(error, upload.path, upload.name)}")
                    continue
                entry = str(Path(upload.name).with_suffix(image.suffix))
                while entry in written:
                    entry = str(Path(entry).with_stem(Path(entry).stem + "_1"))
                written.add(entry)
                out.writestr(entry, data)
                done += 1
            if errors:
                out.writestr("errors.txt", "\n".join(errors) + "\n")
        seconds = time.perf_counter() - start
        if done == 0:
            listed = "; ".join(errors[:5]) or "no images found"
            raise gr.Error(f"No image was restored: {listed}")
        report = f"**{done}** of {len(images)} images restored with **{restorer.name}** in {seconds:.1f} s"
        if errors:
            shown = 50
            report += f", **{len(errors)}** problem(s):\n\n" + "\n".join(f"- {e}" for e in errors[:shown])
            if len(errors) > shown:
                report += f"\n- … and {len(errors) - shown} more in errors.txt"
        return str(target), report

    @staticmethod
    def _find_sidecar(
        by_name: dict[str, _Upload], image_name: str, tag: str, suffixes: Sequence[str]
    ) -> _Upload | None:
        stem = Path(image_name).with_suffix("")
        for suffix in suffixes:
            found = by_name.get(f"{stem}{tag}{suffix}")
            if found is not None:
                return found
        return None

    def _batch_degradation(
        self, task: str, upload: _Upload, by_name: dict[str, _Upload], base: Degradation, psf: Tensor | None
    ) -> Degradation:
        if task not in ("inpaint", "deblur"):
            return base
        tag = "_mask" if task == "inpaint" else "_kernel"
        found = self._find_sidecar(by_name, upload.name, tag, IMAGE_SUFFIXES if task == "inpaint" else KERNEL_SUFFIXES)
        if found is None and task == "inpaint":
            raise ValueError(f"no mask: add {Path(upload.name).stem}_mask.png beside it (white = hole)")
        if found is None:
            return replace(base, psf=psf)
        try:
            if task == "inpaint":
                return replace(base, mask=load_mask(found.path))
            return replace(base, psf=load_kernel(found.path))
        except ValueError as error:  # names our local copy: say which upload it was
            raise ValueError(_safe_message(error, found.path, found.name)) from None


# ----- the page ---------------------------------------------------------------------------------


def _example(*parts: str) -> str:
    return str(EXAMPLES.joinpath(*parts))


def _noise_controls(default: float, auto: bool = True) -> tuple[gr.Checkbox, gr.Markdown, gr.Slider]:
    sigma_auto = gr.Checkbox(value=auto, label="Estimate the noise level (auto)")
    estimate = gr.Markdown()
    sigma = gr.Slider(0, 100, value=default, step=0.5, label="Noise level σ (0-255 scale)", interactive=not auto)
    sigma_auto.change(lambda a: gr.Slider(interactive=not a), sigma_auto, sigma, queue=False, api_visibility="private")
    return sigma_auto, estimate, sigma


def _kernel_controls(prefix: str) -> list[gr.components.Component]:
    """Kernel type, its parameters (shown for the chosen type) and the PSF upload, as handler inputs."""
    kind = gr.Radio(KERNEL_KINDS, value="motion", label="Blur kernel", elem_id=f"{prefix}-kernel-kind")
    with gr.Column(visible=True) as motion:
        length = gr.Slider(1, 101, value=15, step=1, label="Motion length (pixels)")
        angle = gr.Slider(0, 180, value=30, step=1, label="Motion angle (degrees)")
    with gr.Column(visible=False) as gaussian:
        gsigma = gr.Slider(0.3, 20, value=2, step=0.1, label="Gaussian σ (pixels)")
    with gr.Column(visible=False) as disk:
        radius = gr.Slider(0.5, 30, value=4, step=0.5, label="Disk radius (pixels)")
    with gr.Column(visible=False) as file:
        psf = gr.File(label="PSF (image, .npy or text matrix)", file_types=list(KERNEL_SUFFIXES), type="filepath")
    groups = [motion, gaussian, disk, file]
    kind.change(
        lambda k: [gr.Column(visible=k == v) for _, v in KERNEL_KINDS],
        kind,
        groups,
        queue=False,
        api_visibility="private",
    )
    return [kind, length, angle, gsigma, radius, psf]


def _image_input(task: str, label: str) -> gr.File:
    return gr.File(label=label, file_types=list(IMAGE_SUFFIXES), type="filepath", elem_id=f"{task}-input")


def _ground_truth(task: str) -> gr.File:
    with gr.Accordion("Compare with the original (PSNR / SSIM / LPIPS)", open=False):
        return gr.File(label="Ground truth", file_types=list(IMAGE_SUFFIXES), type="filepath", elem_id=f"{task}-gt")


def _outputs(task: str) -> tuple[gr.ImageSlider, gr.File, gr.Markdown]:
    slider = gr.ImageSlider(
        label="Before / after",
        type="numpy",
        format="png",
        max_height=560,
        buttons=["fullscreen"],  # its download would be the 8-bit preview, not the result
        elem_id=f"{task}-slider",
    )
    info = gr.Markdown(label="Details", elem_id=f"{task}-info")
    download = gr.File(label="Download (input's format and bit depth)", elem_id=f"{task}-download")
    return slider, download, info


def _batch_methods(task: Task) -> list[tuple[str, str]]:
    methods = available_methods(task)
    return [(f"default ({methods[0]})", DEFAULT), *((m, m) for m in methods)]


def _method(task: str) -> gr.Dropdown:
    choices = available_methods(task)
    if task == "upscale":  # shipped SR models are per scale: let the scale pick by default
        options = [("default (the shipped model for this scale, else bicubic)", DEFAULT), *((m, m) for m in choices)]
        return gr.Dropdown(options, value=DEFAULT, label="Method", elem_id=f"{task}-method")
    return gr.Dropdown(choices, value=choices[0], label="Method", elem_id=f"{task}-method")


def build_app(config: AppConfig | None = None, handlers: Handlers | None = None) -> gr.Blocks:
    """The app as a ``gr.Blocks``, not launched (see :func:`serve`)."""
    h = handlers or Handlers(config, uploads_only=True)
    cfg = h.config
    header = (
        "# restore\nDenoise, deblur, inpaint and upscale photographs. Upload PNG, JPEG, TIFF, WebP or BMP "
        f"(8 or 16 bit, up to {cfg.max_upload_mb:g} MB and {_megapixels(cfg.max_pixels)}); "
        "the download keeps the input's format and bit depth."
    )
    with gr.Blocks(
        title="restore", analytics_enabled=False, delete_cache=(RESULT_LIFETIME_S, RESULT_LIFETIME_S)
    ) as demo:
        gr.Markdown(header)
        with gr.Tabs():
            with gr.Tab(TITLES["denoise"], id="denoise"):
                gr.Markdown(BLURBS["denoise"])
                with gr.Row():
                    with gr.Column(scale=1):
                        image = _image_input("denoise", "Noisy photo")
                        method = _method("denoise")
                        sigma_auto, estimate, sigma = _noise_controls(25)
                        truth = _ground_truth("denoise")
                        run = gr.Button("Denoise", variant="primary", elem_id="denoise-run")
                    with gr.Column(scale=2):
                        slider, download, info = _outputs("denoise")
                image.change(
                    h.show_noisy_input, [image, sigma_auto, sigma], [slider, estimate, sigma], api_visibility="private"
                )
                run.click(
                    h.denoise, [image, method, sigma, sigma_auto, truth], [slider, download, info], api_name="denoise"
                )
                gr.Examples(
                    [[_example("denoise", n), _example("clean", n)] for n in ("camera.png", "chelsea.png")],
                    [image, truth],
                    label="Examples (noise σ = 25, with the clean original)",
                )

            with gr.Tab(TITLES["deblur"], id="deblur"):
                gr.Markdown(BLURBS["deblur"])
                with gr.Row():
                    with gr.Column(scale=1):
                        image = _image_input("deblur", "Blurred photo")
                        method = _method("deblur")
                        kernel_inputs = _kernel_controls("deblur")
                        preview = gr.Image(
                            value=kernel_image(motion_kernel(15, 30)),
                            label="Kernel (live preview)",
                            interactive=False,
                            format="png",
                            buttons=[],
                            elem_id="deblur-kernel-preview",
                            height=180,
                        )
                        sigma_auto, estimate, sigma = _noise_controls(2.55)
                        truth = _ground_truth("deblur")
                        run = gr.Button("Deblur", variant="primary", elem_id="deblur-run")
                    with gr.Column(scale=2):
                        slider, download, info = _outputs("deblur")
                gr.on(
                    [c.change for c in kernel_inputs],
                    h.kernel_preview,
                    kernel_inputs,
                    preview,
                    trigger_mode="always_last",
                    show_progress="hidden",
                    api_visibility="private",
                )
                image.change(
                    h.show_noisy_input, [image, sigma_auto, sigma], [slider, estimate, sigma], api_visibility="private"
                )
                run.click(
                    h.deblur,
                    [image, method, *kernel_inputs, sigma, sigma_auto, truth],
                    [slider, download, info],
                    api_name="deblur",
                )
                kind, psf = kernel_inputs[0], kernel_inputs[5]
                gr.Examples(
                    [
                        [
                            _example("deblur", "coffee.png"),
                            "file",
                            _example("kernels", "coffee.npy"),
                            _example("clean", "coffee.png"),
                        ]
                    ],
                    [image, kind, psf, truth],
                    label="Example (15 px motion at 30°, its PSF and the sharp original)",
                )

            with gr.Tab(TITLES["inpaint"], id="inpaint"):
                gr.Markdown(BLURBS["inpaint"])
                with gr.Row():
                    with gr.Column(scale=1):
                        image = _image_input("inpaint", "Photo")
                        method = _method("inpaint")
                        editor = gr.ImageEditor(
                            label="Paint the holes",
                            type="numpy",
                            image_mode="RGBA",
                            sources=(),
                            transforms=(),
                            layers=False,
                            brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed"),
                            eraser=gr.Eraser(),
                            elem_id="inpaint-editor",
                        )
                        mask = gr.File(
                            label="…or a mask (white = hole)",
                            file_types=list(IMAGE_SUFFIXES),
                            type="filepath",
                            elem_id="inpaint-mask",
                        )
                        truth = _ground_truth("inpaint")
                        run = gr.Button("Inpaint", variant="primary", elem_id="inpaint-run")
                    with gr.Column(scale=2):
                        slider, download, info = _outputs("inpaint")
                image.change(h.show_editor, image, [slider, editor], api_visibility="private")
                run.click(h.inpaint, [image, method, editor, mask, truth], [slider, download, info], api_name="inpaint")
                gr.Examples(
                    [
                        [
                            _example("inpaint", "astronaut.png"),
                            _example("masks", "astronaut.png"),
                            _example("clean", "astronaut.png"),
                        ]
                    ],
                    [image, mask, truth],
                    label="Example (painted strokes, their mask and the original)",
                )

            with gr.Tab(TITLES["upscale"], id="upscale"):
                gr.Markdown(BLURBS["upscale"])
                with gr.Row():
                    with gr.Column(scale=1):
                        image = _image_input("upscale", "Small photo")
                        method = _method("upscale")
                        scale = gr.Radio(list(SCALES), value=4, label="Scale", elem_id="upscale-scale")
                        truth = _ground_truth("upscale")
                        run = gr.Button("Upscale", variant="primary", elem_id="upscale-run")
                    with gr.Column(scale=2):
                        slider, download, info = _outputs("upscale")
                image.change(h.show_input, image, slider, api_visibility="private")
                run.click(h.upscale, [image, method, scale, truth], [slider, download, info], api_name="upscale")
                gr.Examples(
                    [[_example("upscale", "rocket.png"), 4, _example("clean", "rocket.png")]],
                    [image, scale, truth],
                    label="Example (48x48, bicubic-downscaled x4, and the original)",
                )

            with gr.Tab("Batch", id="batch"):
                gr.Markdown(
                    "Several images, or zips of them, restored into one zip. Inpainting takes each image's mask "
                    "from `<name>_mask.png` beside it; deblurring uses `<name>_kernel.*` when present, else the "
                    "kernel below. Files that cannot be restored are listed, the others are kept."
                )
                with gr.Row():
                    with gr.Column(scale=1):
                        files = gr.File(
                            label="Images or zips",
                            file_count="multiple",
                            file_types=[*KERNEL_SUFFIXES, ".zip"],
                            type="filepath",
                            elem_id="batch-input",
                        )
                        task = gr.Radio(
                            [(TITLES[t], t) for t in TASKS], value="denoise", label="Task", elem_id="batch-task"
                        )
                        # Any task's method may come through the API, so the handler validates, not the
                        # dropdown; "default" is the chosen task's default method.
                        method = gr.Dropdown(
                            _batch_methods("denoise"),
                            value=DEFAULT,
                            label="Method",
                            allow_custom_value=True,
                            elem_id="batch-method",
                        )
                        with gr.Column(visible=True) as noise_group:
                            sigma_auto, _, sigma = _noise_controls(25)
                        with gr.Column(visible=False) as kernel_group:
                            kernel_inputs = _kernel_controls("batch")
                        with gr.Column(visible=False) as scale_group:
                            scale = gr.Radio(list(SCALES), value=4, label="Scale")
                        run = gr.Button("Restore all", variant="primary", elem_id="batch-run")
                    with gr.Column(scale=2):
                        result = gr.File(label="Results (zip)", elem_id="batch-download")
                        report = gr.Markdown(label="Report", elem_id="batch-report")

                def on_task(t: str) -> list[Any]:
                    return [
                        gr.Dropdown(choices=_batch_methods(t), value=DEFAULT),
                        gr.Column(visible=t in ("denoise", "deblur")),
                        gr.Column(visible=t == "deblur"),
                        gr.Column(visible=t == "upscale"),
                    ]

                task.change(
                    on_task,
                    task,
                    [method, noise_group, kernel_group, scale_group],
                    queue=False,
                    api_visibility="private",
                )
                run.click(
                    h.batch,
                    [files, task, method, sigma, sigma_auto, *kernel_inputs, scale],
                    [result, report],
                    api_name="batch",
                )
    return demo


def serve(
    demo: gr.Blocks,
    config: AppConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    concurrency: int = 1,
    prevent_thread_lock: bool = False,
) -> gr.Blocks:
    """Launch ``demo`` with a bounded queue and the upload limit; returns it (``demo.close()`` stops it)."""
    config = config or AppConfig()
    demo.queue(default_concurrency_limit=max(1, concurrency), max_size=32)
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        max_file_size=config.max_upload_bytes,
        prevent_thread_lock=prevent_thread_lock,
        show_error=False,  # gr.Error messages are shown; other exceptions do not leak their text
        quiet=prevent_thread_lock,
        theme=gr.themes.Soft(),
    )
    return demo


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="restore app", description="The restore web app (Gradio).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=None, help="port (default: 7860, or the next free one)")
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    p.add_argument("--max-size-mb", type=float, default=AppConfig.max_upload_mb, help="largest upload in MB")
    p.add_argument("--max-pixels", type=int, default=AppConfig.max_pixels, help="largest image in pixels")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--concurrency", type=int, default=1, help="jobs run at once; others wait in the queue")
    return p


def launch(
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    config: AppConfig | None = None,
    concurrency: int = 1,
) -> int:
    """Build and serve the app until interrupted."""
    config = config or AppConfig()
    keep_freed_memory()
    serve(build_app(config), config, host=host, port=port, share=share, concurrency=concurrency)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        select_device(args.device)
    except (ValueError, RuntimeError) as error:
        build_parser().error(str(error))
    config = AppConfig(max_upload_mb=args.max_size_mb, max_pixels=args.max_pixels, device=args.device)
    return launch(args.host, args.port, args.share, config, args.concurrency)
