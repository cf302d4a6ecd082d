"""Networks behind the :class:`~restore.restorer.Restorer` interface, and their checkpoints.

Application layer: it knows how each task calls its network, and reads the self-describing
safetensors files that training exports (architecture name, arguments and task live in the
file's metadata; weights load with ``strict=True``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor, nn

from restore.models.denoiser import NAFBlock

from .engine import select_device
from .estimate import estimate_sigma
from .restorer import Degradation, Restorer, Task


def call_model(
    task: Task,
    model: nn.Module,
    y: Tensor,
    *,
    sigma: Tensor | None = None,
    psf: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """The one place that knows each task's network signature."""
    if task == "denoise":
        return model(y, sigma)
    if task == "deblur":
        return model(y, psf, sigma)
    if task == "inpaint":
        return model(y, mask)
    return model(y)


class ModelRestorer(Restorer):
    """A trained network as a restorer; gray/colour inputs are adapted to the model's channels."""

    device_capable = True

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        name: str,
        *,
        device: str = "auto",
        extra: dict | None = None,
    ):
        self.device = select_device(device)
        # A denoiser trained with R2R saw recorrupted inputs y + alpha * sigma * z; at test time
        # it is run the same way and averaged over draws of z (Pang et al. 2021, Sec. 3.3).
        self.r2r_alpha = float((extra or {}).get("r2r_alpha", 0.0))
        self.r2r_draws = 8
        self.model = model.eval().to(self.device)
        for block in self.model.modules():
            if isinstance(block, NAFBlock):
                block.fold_scales()
        if self.device.type == "cpu":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.task, self.name = task, name
        # Image channels the network restores; an inpainting network's input also holds the mask.
        self.channels = getattr(model, "image_channels", None) or model.in_channels
        self.scale = getattr(model, "scale", None)
        self.tile_size = 1024 if task == "inpaint" else 512

    def context(self, degradation: Degradation) -> int:
        if degradation.psf is not None:
            return 2 * max(degradation.psf.shape[-2:])
        return 32

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        if self.task == "upscale" and self.scale != degradation.scale:
            raise ValueError(f"{self.name} upscales x{self.scale}, not x{degradation.scale}; choose another method")
        in_channels = y.shape[1]
        if in_channels == 3 and self.channels == 1:
            ys = y.reshape(-1, 1, *y.shape[-2:])  # each colour channel as a gray image
        elif in_channels == 1 and self.channels == 3:
            ys = y.expand(-1, 3, -1, -1)
        else:
            ys = y
        sigma = None
        if self.task in ("denoise", "deblur"):
            level = degradation.sigma if degradation.sigma is not None else float(estimate_sigma(y)[0])
            sigma = torch.full((ys.shape[0],), float(level), device=y.device)
        psf = None if degradation.psf is None else degradation.psf.to(y.device, torch.float32)
        mask = None
        if degradation.mask is not None:
            mask = degradation.mask.to(y.device, y.dtype).expand(y.shape[0], -1, -1, -1)
            mask = mask.repeat_interleave(ys.shape[0] // y.shape[0], dim=0)
        if self.r2r_alpha > 0 and self.task == "denoise":
            out = self._recorrupted_average(ys, sigma)
        else:
            out = call_model(self.task, self.model, ys, sigma=sigma, psf=psf, mask=mask)
        if in_channels == 3 and self.channels == 1:
            out = out.reshape(y.shape[0], 3, *out.shape[-2:])
        elif in_channels == 1 and self.channels == 3:
            out = out.mean(dim=1, keepdim=True)
        return out

    def _recorrupted_average(self, y: Tensor, sigma: Tensor) -> Tensor:
        return recorrupted_average(self.model, y, sigma, alpha=self.r2r_alpha, draws=self.r2r_draws)


def recorrupted_average(model: nn.Module, y: Tensor, sigma: Tensor, *, alpha: float, draws: int = 8) -> Tensor:
    """R2R inference: ``mean_t f(y + alpha sigma z_t)``, the network told the level ``sigma sqrt(1 + alpha^2)``.

    The draws come in antithetic pairs ``z, -z``, so the average cancels every odd-order term of ``f``
    in ``z`` (exactly for an affine ``f``) at no extra cost.
    """
    g = torch.Generator(device=y.device).manual_seed(0)
    spread = alpha * sigma.view(-1, 1, 1, 1)
    level = sigma * (1 + alpha**2) ** 0.5
    total = torch.zeros_like(y)
    for t in range(draws):
        if t % 2 == 0:
            z = spread * torch.randn(y.shape, generator=g, device=y.device, dtype=y.dtype)
        total += model(y + (-1) ** t * z, level)
    return total / draws


def save_model(path: str | Path, model: nn.Module, *, architecture: str, args: dict, task: Task, extra: dict) -> None:
    """Write weights as safetensors with the metadata that makes the file self-describing."""
    metadata = {
        "architecture": architecture,
        "args": json.dumps(args),
        "task": task,
        "extra": json.dumps(extra),
    }
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=metadata)


def read_metadata(path: str | Path) -> dict:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (OSError, SafetensorError) as error:
        raise ValueError(f"{path}: not a readable .safetensors file ({error})") from None
    if "architecture" not in meta:
        raise ValueError(f"{path}: not a restore model (no architecture in its metadata)")
    return {
        "architecture": meta["architecture"],
        "args": json.loads(meta.get("args", "{}")),
        "task": meta.get("task"),
        "extra": json.loads(meta.get("extra", "{}")),
    }


def load_model(path: str | Path) -> tuple[nn.Module, dict]:
    """Build the architecture named in the file and load its weights strictly."""
    from restore.models.registry import build_model

    try:
        meta = read_metadata(path)
        model = build_model(meta["architecture"], **meta["args"])
        model.load_state_dict(load_file(str(path)), strict=True)
    except (OSError, RuntimeError, KeyError, json.JSONDecodeError, SafetensorError) as error:
        raise ValueError(f"{path}: cannot load model ({error})") from None
    return model.eval(), meta


def load_exported_restorer(path: Path, task: Task, *, device: str = "auto") -> ModelRestorer:
    model, meta = load_model(path)
    if meta["task"] != task:
        raise ValueError(f"{path}: model is for {meta['task']}, not {task}")
    return ModelRestorer(model, task, path.stem, device=device, extra=meta["extra"])
