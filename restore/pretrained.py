"""The shipped models: one literal registry of names -> what they are and where their weights lie.

Application layer. Weights are safetensors files in ``restore/models/weights`` (the repository's
``models/weights``); loading checks the sha256 and the architecture recorded in the file, and
loads with ``strict=True``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .learned import ModelRestorer, load_model
from .restorer import Task


@dataclass(frozen=True)
class PretrainedModel:
    task: Task
    architecture: str
    args: dict = field(default_factory=dict)
    file: str = ""
    sha256: str = ""
    card: str = ""
    summary: str = ""


PRETRAINED: dict[str, PretrainedModel] = {
    "restore-denoise-gray": PretrainedModel(
        task="denoise",
        architecture="nafnet_denoiser_small",
        args={"in_channels": 1},
        file="restore-denoise-gray.safetensors",
        sha256="c601dac65813cd50ce73daee98ee4a1a7701d3451df48867d1a7260a7b889682",
        card="restore-denoise-gray.md",
        summary="blind Gaussian/Poisson-Gaussian denoiser, sigma 0-55; colour images channel by channel",
    ),
    "restore-deblur": PretrainedModel(
        task="deblur",
        architecture="wiener_deconv",
        args={"in_channels": 3},
        file="restore-deblur.safetensors",
        sha256="3e68afcdcf99b9ad3b2f2ac4f47ee858cbc0cf908c80e8951909c90cd070abbb",
        card="restore-deblur.md",
        summary="Wiener deconvolution network (image + feature Wiener branches, U-Net refinement), 0.5-3% noise",
    ),
    "restore-upscale-x4": PretrainedModel(
        task="upscale",
        architecture="sr_x4",
        args={"scale": 4},
        file="restore-upscale-x4.safetensors",
        sha256="435e88d56a70c10d5cb246f332654186aa699f6986442393ed259d2efc26a412",
        card="restore-upscale-x4.md",
        summary="x4 super-resolution (residual over bicubic, pixel shuffle)",
    ),
}


def weights_dir() -> Path:
    return Path(str(resources.files("restore.models") / "weights"))


def load_pretrained_restorer(name: str, *, device: str = "auto") -> ModelRestorer:
    entry = PRETRAINED[name]
    path = weights_dir() / entry.file
    if not path.is_file():
        raise RuntimeError(f"weights of {name!r} are missing: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry.sha256:
        raise RuntimeError(f"weights of {name!r} are corrupt: sha256 {digest} != {entry.sha256} ({path})")
    model, meta = load_model(path)
    mismatched = any(meta["args"].get(k) != v for k, v in entry.args.items())
    if meta["architecture"] != entry.architecture or meta["task"] != entry.task or mismatched:
        raise RuntimeError(f"{path}: holds {meta['architecture']} for {meta['task']}, registry says otherwise")
    channels = int(meta["args"].get("in_channels", 3))
    return ModelRestorer(model, entry.task, name, device=device, channels=channels, extra=meta["extra"])
