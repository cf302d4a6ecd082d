"""Perceptual losses: distances between deep features (VGG19) and LPIPS.

Both hold pretrained weights, which are read from local files only: nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
VGG19_ENV = "RESTORE_VGG19_WEIGHTS"

# torchvision's configuration "E": conv widths, "M" = 2x2 max pool.
_VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _vgg19_layer_names() -> dict[str, int]:
    """``relu{block}_{i}`` / ``conv{block}_{i}`` / ``pool{block}`` -> index in ``features``."""
    names, index, block, conv = {}, 0, 1, 1
    for item in _VGG19_CONFIG:
        if item == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index, conv = index + 2, conv + 1
    return names


VGG19_LAYERS = _vgg19_layer_names()
"""Layer name -> index in torchvision's ``vgg19().features`` (e.g. ``relu2_2`` -> 8)."""

DEFAULT_VGG_LAYERS = (
    ("relu1_1", 1 / 32),
    ("relu2_1", 1 / 16),
    ("relu3_1", 1 / 8),
    ("relu4_1", 1 / 4),
    ("relu5_1", 1.0),
)
"""pix2pixHD's layer weights (Wang et al. 2018), deeper layers weighted more."""


def find_vgg19_weights(path: str | Path | None = None) -> Path:
    """Locate the torchvision ImageNet VGG19 weights without downloading them.

    Looks at ``path`` if given, else ``$RESTORE_VGG19_WEIGHTS``, else
    ``torch.hub.get_dir()/checkpoints/vgg19-dcbb9e9d.pth``; raises ``FileNotFoundError``
    naming every place it looked and where the file comes from.
    """
    if path is not None:
        candidates = [Path(path)]
    else:
        candidates = [Path(os.environ[VGG19_ENV])] if os.environ.get(VGG19_ENV) else []
        candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"VGG19 ImageNet weights not found (looked in: {looked}). Download {VGG19_URL} into "
        f"{Path(torch.hub.get_dir()) / 'checkpoints'} or point ${VGG19_ENV} at the file; "
        "pass weights=None for random weights (tests only)."
    )


class VGG19Features(nn.Module):
    """torchvision's VGG19 convolutional stack, up to layer index ``last``.

    The layers live in ``self.features`` with torchvision's indices, so a torchvision
    ``vgg19`` ImageNet state dict (``features.N.weight``/``bias``) loads into it directly.

    Shape:
        ``(N, 3, H, W) -> (N, C_last, H / 2^p, W / 2^p)`` with ``p`` the pools before ``last``.
    """

    def __init__(self, *, last: int = 36):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _VGG19_CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.features = nn.Sequential(*layers[: last + 1])

    def load_torchvision(self, state_dict: dict[str, Tensor]) -> None:
        """Load the ``features.*`` entries of a torchvision VGG19 state dict (classifier ignored)."""
        wanted = self.state_dict().keys()
        subset = {k: v for k, v in state_dict.items() if k in wanted}
        missing = sorted(set(wanted) - set(subset))
        if missing:
            raise KeyError(f"VGG19 state dict lacks {missing[:4]}{'...' if len(missing) > 4 else ''}")
        self.load_state_dict(subset, strict=True)


class VGGPerceptualLoss(nn.Module):
    """Weighted distance between VGG19 features, ``sum_l w_l mean |phi_l(x_hat) - phi_l(x)|``.

    The feature-reconstruction loss of Johnson, Alahi, Fei-Fei ("Perceptual Losses for Real-Time
    Style Transfer and Super-Resolution", ECCV 2016) on several VGG19 layers. Inputs in [0, 1]
    are normalised with the ImageNet mean and std; one-channel inputs are repeated to three.
    The network is frozen and kept in eval mode; gradients flow to ``x_hat`` only.

    Args:
        layers: ``(name, weight)`` pairs, names from :data:`VGG19_LAYERS` (``"relu3_4"``...).
        distance: ``"l1"`` or ``"mse"`` between feature maps.
        weights: ``"imagenet"`` to find torchvision's file (see :func:`find_vgg19_weights`), a path
            to such a file, or ``None`` for random weights (tests).

    Shape:
        ``x_hat, x: (N, 1 or 3, H, W)`` -> scalar.

    Example:
        >>> loss = VGGPerceptualLoss(weights=None, layers=(("relu2_2", 1.0),))
        >>> x = torch.rand(1, 3, 32, 32)
        >>> float(loss(x, x))
        0.0
    """

    def __init__(
        self,
        *,
        layers: Sequence[tuple[str, float]] = DEFAULT_VGG_LAYERS,
        distance: Literal["l1", "mse"] = "l1",
        weights: Literal["imagenet"] | str | Path | None = "imagenet",
    ):
        super().__init__()
        unknown = [name for name, _ in layers if name not in VGG19_LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG19 layers {unknown}; known: {', '.join(VGG19_LAYERS)}")
        if distance not in ("l1", "mse"):
            raise ValueError(f"unknown distance {distance!r}")
        self.layers = [(VGG19_LAYERS[name], float(w)) for name, w in layers]
        self.distance = distance
        self.vgg = VGG19Features(last=max(index for index, _ in self.layers))
        if weights is not None:
            path = find_vgg19_weights(None if weights == "imagenet" else weights)
            self.vgg.load_torchvision(torch.load(path, map_location="cpu", weights_only=True))
        self.vgg.requires_grad_(False)
        self.vgg.eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGGPerceptualLoss:
        super().train(mode)
        self.vgg.eval()  # batch-independent and dropout-free whatever the trainer does
        return self

    def _features(self, x: Tensor) -> dict[int, Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[1] != 3:
            raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
        h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        wanted = {index for index, _ in self.layers}
        out = {}
        for index, layer in enumerate(self.vgg.features):
            h = layer(h)
            if index in wanted:
                out[index] = h
        return out

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        if x_hat.shape != x.shape:
            raise ValueError(f"x_hat and x must have the same shape, got {tuple(x_hat.shape)} and {tuple(x.shape)}")
        f_hat = self._features(x_hat)
        with torch.no_grad():
            f = self._features(x)
        total = x_hat.new_zeros(())
        for index, weight in self.layers:
            diff = f_hat[index] - f[index]
            total = total + weight * (diff.abs().mean() if self.distance == "l1" else diff.pow(2).mean())
        return total


LPIPS_BACKBONES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}


class LPIPSLoss(nn.Module):
    """LPIPS distance (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a
    Perceptual Metric", CVPR 2018) via the optional ``lpips`` package.

    ``lpips`` ships its linear calibration layers but takes the backbone from torchvision's
    cache; both are checked up front, so a missing file is an error here, not a download.
    Inputs in [0, 1] are mapped to [-1, 1]; the backbone is frozen.

    Args:
        net: backbone, ``"alex"`` (the usual choice for a loss), ``"vgg"`` or ``"squeeze"``.

    Shape:
        ``x_hat, x: (N, 3, H, W)`` -> scalar (mean over the batch).
    """

    def __init__(self, *, net: Literal["alex", "vgg", "squeeze"] = "alex"):
        super().__init__()
        if net not in LPIPS_BACKBONES:
            raise ValueError(f"unknown LPIPS backbone {net!r}; choose from {sorted(LPIPS_BACKBONES)}")
        try:
            import lpips
        except ImportError as error:
            raise ImportError(
                "LPIPSLoss needs the optional `lpips` package (and torchvision): pip install 'restore[metrics]'"
            ) from error
        backbone = Path(torch.hub.get_dir()) / "checkpoints" / LPIPS_BACKBONES[net]
        if not backbone.is_file():
            raise FileNotFoundError(
                f"LPIPS backbone weights for net={net!r} not found at {backbone}; place torchvision's "
                f"{LPIPS_BACKBONES[net]} there (this loss never downloads)."
            )
        self.model = lpips.LPIPS(net=net, verbose=False)
        self.model.requires_grad_(False)
        self.model.eval()

    def train(self, mode: bool = True) -> LPIPSLoss:
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        return self.model(x_hat, x, normalize=True).mean()
