"""Every architecture preset by name, so that a checkpoint can name what it holds.

``ARCHITECTURES`` is a literal dict: name -> (class, default keyword arguments). A checkpoint
stores ``model_spec(model)``, the name and the full resolved arguments, and
``build_model(name, **kwargs)`` rebuilds the same network. Argument values are plain ints,
floats, strings, bools and tuples, so the spec survives JSON (tuples come back as lists, which
the constructors accept).
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from .denoiser import NAFNET_DENOISER, NAFNET_DENOISER_SMALL, NAFNetDenoiser
from .ffc import LAMA_BIG, LAMA_LITE, LamaGenerator
from .sr import SuperResolutionNet
from .unrolled import HQS_UNROLLED, UnrolledHQS
from .wiener import WIENER_DECONV, WienerDeconvNet

_SR = {"in_channels": 3, "channels": 48, "n_blocks": 6}

ARCHITECTURES: dict[str, tuple[type[nn.Module], dict[str, Any]]] = {
    "lama_lite": (LamaGenerator, LAMA_LITE),
    "lama_big": (LamaGenerator, LAMA_BIG),
    "wiener_deconv": (WienerDeconvNet, WIENER_DECONV),
    "hqs_unrolled": (UnrolledHQS, HQS_UNROLLED),
    "nafnet_denoiser_small": (NAFNetDenoiser, NAFNET_DENOISER_SMALL),
    "nafnet_denoiser": (NAFNetDenoiser, NAFNET_DENOISER),
    "sr_x2": (SuperResolutionNet, {"scale": 2, **_SR}),
    "sr_x3": (SuperResolutionNet, {"scale": 3, **_SR}),
    "sr_x4": (SuperResolutionNet, {"scale": 4, **_SR}),
}

_SPEC_ATTRIBUTE = "architecture_spec"


def build_model(name: str, **overrides: Any) -> nn.Module:
    """Build the preset ``name`` with some of its arguments overridden.

    Unknown names and unknown argument names are errors (they would otherwise silently build a
    different network than a checkpoint describes). The resolved spec is recorded on the
    model for :func:`model_spec`.

    Example:
        >>> net = build_model("nafnet_denoiser_small", in_channels=1)
        >>> model_spec(net)[1]["in_channels"]
        1
    """
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    cls, defaults = ARCHITECTURES[name]
    accepted = set(inspect.signature(cls).parameters)
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise TypeError(f"{cls.__name__} ({name!r}) has no argument(s) {unknown}; it takes {sorted(accepted)}")
    kwargs = {**defaults, **overrides}
    model = cls(**kwargs)
    setattr(model, _SPEC_ATTRIBUTE, (name, dict(kwargs)))
    return model


def model_spec(model: nn.Module) -> tuple[str, dict[str, Any]]:
    """``(name, kwargs)`` such that ``build_model(name, **kwargs)`` rebuilds ``model``'s architecture.

    Only models made by :func:`build_model` carry a spec; others raise ``ValueError``.
    """
    spec = getattr(model, _SPEC_ATTRIBUTE, None)
    if spec is None:
        raise ValueError(f"{type(model).__name__} was not built by build_model, so it has no recorded spec")
    name, kwargs = spec
    return name, dict(kwargs)
