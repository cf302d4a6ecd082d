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

from torch import Tensor

from .classical import PlugAndPlayRestorer
from .ensemble import SelfEnsemble
from .learned import ModelRestorer, load_model
from .restorer import Degradation, Restorer, Task


@dataclass(frozen=True)
class PretrainedModel:
    """A shipped model; its weights are ``<name>.safetensors`` and its card ``<name>.md``.

    ``pool_window``: the patch size a NAFNet denoiser last trained on; its channel attention then
    pools over windows of that size instead of the whole image (``NAFNetDenoiser.pool_locally``).
    """

    task: Task
    architecture: str
    args: dict = field(default_factory=dict)
    sha256: str = ""
    summary: str = ""
    pool_window: int | None = None


# Names that pick a shipped model by the image's channels: gray images -> first, colour -> second.
BY_CHANNELS: dict[str, tuple[str, str]] = {
    "restore-denoise": ("restore-denoise-gray", "restore-denoise-color"),
    "restore-deblur-hqs": ("restore-deblur-hqs-gray", "restore-deblur-hqs-color"),
}

# Names that average their model's answers over the first n geometric transforms of the input
# (restore.ensemble.SelfEnsemble). A second, quarter-turned pass lifts held-out gray deblurring
# by 0.09 dB (4 passes: 0.13, 8: 0.14) for twice the time; the single-pass models keep their names.
SELF_ENSEMBLE: dict[str, int] = {
    "restore-deblur-hqs": 2,
}

# Names that deblur by plug-and-play (restore.classical.PlugAndPlayRestorer) with a shipped denoiser.
PLUG_AND_PLAY: dict[str, str] = {
    "restore-deblur-pnp": "restore-denoise",
}

# Each task's default method, listed first by restore.methods (upscaling picks by scale instead).
DEFAULTS: dict[Task, str] = {
    "denoise": "restore-denoise",
    "deblur": "restore-deblur-hqs",
    "inpaint": "restore-inpaint",
}

# The NAF blocks of the shipped denoisers (and of the colour unrolled deblurrer's), grown from the small preset;
# the gray denoiser has one more at full resolution in its decoder (its card, eleventh run).
GROWN_BLOCKS: dict = {"enc_blocks": [1, 2, 4], "middle_blocks": 10, "dec_blocks": [2, 2, 1]}

PRETRAINED: dict[str, PretrainedModel] = {
    "restore-denoise-gray": PretrainedModel(
        task="denoise",
        architecture="nafnet_denoiser_small",
        args={"in_channels": 1, **GROWN_BLOCKS, "dec_blocks": [2, 2, 2]},
        sha256="6591eaa916501327d9c28d0b7d5ef7cd0072fc5c1e66ed4d3968af5f8ef3d693",
        summary="blind gray denoiser, sigma 0-55 (Gaussian and Poisson-Gaussian)",
    ),
    "restore-denoise-color": PretrainedModel(
        task="denoise",
        architecture="nafnet_denoiser_small",
        args={"in_channels": 3, **GROWN_BLOCKS},
        sha256="ebdb75c13cd8dea0625f190506f00ef5e1f9bca5f636824af1819fe7aa19d9ef",
        summary="blind colour denoiser, sigma 0-55 (Gaussian and Poisson-Gaussian)",
        pool_window=96,
    ),
    "restore-denoise-gray-r2r": PretrainedModel(
        task="denoise",
        architecture="nafnet_denoiser_small",
        args={"in_channels": 1, **GROWN_BLOCKS},
        sha256="7d6bbab2f81c09045ff960f8112229ada174f47a1ef8e90cb385b0aae0a3d914",
        summary="self-supervised (R2R) gray denoiser for sigma 25, trained from noisy images only",
        pool_window=96,
    ),
    "restore-deblur": PretrainedModel(
        task="deblur",
        architecture="wiener_deconv",
        args={"in_channels": 3},
        sha256="5523f5c5890e20c65f1e30ec5dad2cfbb6d2fb9228f8fbbcb34da3309bd20723",
        summary="Wiener deconvolution network (image + feature Wiener branches, U-Net refinement), 0.5-3% noise",
    ),
    "restore-deblur-hqs-gray": PretrainedModel(
        task="deblur",
        architecture="hqs_unrolled",
        args={"in_channels": 1, "iterations": 8},
        sha256="5c77375af64182a0eafbb38b63604fe63132668201e1c7519f235ed3fe88bdf9",
        summary="gray deblurring: 8 plug-and-play HQS steps around a denoiser trained end to end, 0.5-3% noise",
    ),
    "restore-deblur-hqs-color": PretrainedModel(
        task="deblur",
        architecture="hqs_unrolled",
        args={"in_channels": 3, "iterations": 4, **GROWN_BLOCKS},
        sha256="4c02b0fd71a7cb7a8b0ab73dbf37d3c46476c51140d0b5f102d5de879b37580b",
        summary="colour deblurring: 4 plug-and-play HQS steps around a denoiser trained end to end, 0.5-3% noise",
    ),
    "restore-inpaint": PretrainedModel(
        task="inpaint",
        architecture="lama_lite",
        args={"hole_fill": "telea"},
        sha256="3015d7b86ef8d4baf2dffe8c4eccb0dc9ca5436c962d49c692281f534148c9e7",
        summary="LaMa-style FFC generator (lite) refining OpenCV Telea's fill; large masks",
    ),
    "restore-upscale-x2": PretrainedModel(
        task="upscale",
        architecture="sr_x2",
        args={"scale": 2},
        sha256="bcdd530cbb0b0647eb3a78279875e557cc2284949e5e9bcc2fd0c24751aa1dea",
        summary="x2 super-resolution (residual over bicubic, pixel shuffle)",
    ),
    "restore-upscale-x3": PretrainedModel(
        task="upscale",
        architecture="sr_x3",
        args={"scale": 3},
        sha256="f98a69184301f5481c18cb08c7af6bd15edf4afe9875e52e190ab45664a4d265",
        summary="x3 super-resolution (residual over bicubic, pixel shuffle)",
    ),
    "restore-upscale-x4": PretrainedModel(
        task="upscale",
        architecture="sr_x4",
        args={"scale": 4},
        sha256="7c698c9c175ff0706dc5d13b98c98058e70c6891818f0161309a58dfdb6767cf",
        summary="x4 super-resolution (residual over bicubic, pixel shuffle)",
    ),
}


def weights_dir() -> Path:
    return Path(str(resources.files("restore.models") / "weights"))


def weights_file(name: str) -> Path:
    """Where the shipped model ``name``'s weights lie (its card is beside them, ``.md``)."""
    return weights_dir() / f"{name}.safetensors"


class ChannelDispatch(Restorer):
    """A gray and a colour model behind one name: each image goes to the model for its channels."""

    device_capable = True

    def __init__(self, name: str, gray: ModelRestorer, colour: ModelRestorer):
        self.name, self.task, self.gray, self.colour = name, gray.task, gray, colour
        self.tile_size = gray.tile_size

    def context(self, degradation: Degradation) -> int:
        return max(self.gray.context(degradation), self.colour.context(degradation))

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        return (self.gray if y.shape[1] == 1 else self.colour)(y, degradation)


def load_pretrained_restorer(name: str, *, device: str = "auto") -> Restorer:
    restorer = _load_one_pass(name, device)
    return SelfEnsemble(restorer, SELF_ENSEMBLE[name]) if name in SELF_ENSEMBLE else restorer


def _load_one_pass(name: str, device: str) -> Restorer:
    if name in PLUG_AND_PLAY:
        return PlugAndPlayRestorer(load_pretrained_restorer(PLUG_AND_PLAY[name], device=device))
    if name in BY_CHANNELS:
        gray, colour = BY_CHANNELS[name]
        return ChannelDispatch(
            name, load_pretrained_restorer(gray, device=device), load_pretrained_restorer(colour, device=device)
        )
    entry = PRETRAINED[name]
    path = weights_file(name)
    if not path.is_file():
        raise RuntimeError(f"weights of {name!r} are missing: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry.sha256:
        raise RuntimeError(f"weights of {name!r} are corrupt: sha256 {digest} != {entry.sha256} ({path})")
    model, meta = load_model(path)
    mismatched = any(meta["args"].get(k) != v for k, v in entry.args.items())
    if meta["architecture"] != entry.architecture or meta["task"] != entry.task or mismatched:
        raise RuntimeError(f"{path}: holds {meta['architecture']} for {meta['task']}, registry says otherwise")
    if entry.pool_window:
        model.pool_locally(entry.pool_window)
    return ModelRestorer(model, entry.task, name, device=device, extra=meta["extra"])
