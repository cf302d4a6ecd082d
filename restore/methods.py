"""Which methods serve which task: the classical ones and the shipped or exported models.

Application layer. ``load_method(task, name)`` accepts a classical method's name, a shipped
model's name, or the path of an exported ``.safetensors`` model.
"""

from __future__ import annotations

from pathlib import Path

from .classical import CLASSICAL
from .restorer import Restorer, Task


def _shipped() -> dict[str, tuple[Task, int | None]]:
    """Shipped method names -> their task and upscaling factor, each task's default first."""
    try:
        from .pretrained import BY_CHANNELS, DEFAULTS, PLUG_AND_PLAY, PRETRAINED
    except ImportError:  # the learned half is optional for the core
        return {}
    models = {name: (entry.task, entry.args.get("scale")) for name, entry in PRETRAINED.items()}
    by_channels = {name: models[pair[0]] for name, pair in BY_CHANNELS.items()}
    plug_and_play = {name: ("deblur", None) for name in PLUG_AND_PLAY}
    shipped = {**by_channels, **plug_and_play, **models}
    return dict(sorted(shipped.items(), key=lambda item: item[0] not in DEFAULTS.values()))


def available_methods(task: Task) -> list[str]:
    """Method names for ``task``, the default first."""
    shipped = [name for name, (t, _) in _shipped().items() if t == task]
    return [*shipped, *CLASSICAL[task]]


def default_method(task: Task, scale: int | None = None) -> str:
    """The shipped model for ``task`` (for upscaling, the one of this ``scale``), else the first classical method."""
    if task == "upscale" and scale is not None:
        shipped = [n for n, (t, s) in _shipped().items() if t == task and s == scale]
        return shipped[0] if shipped else next(iter(CLASSICAL[task]))
    return available_methods(task)[0]


def load_method(task: Task, name: str | None = None, *, device: str = "auto", scale: int | None = None) -> Restorer:
    """Instantiate a method; raises ``ValueError`` with the valid choices for an unknown name."""
    name = name or default_method(task, scale)
    if name in CLASSICAL[task]:
        return CLASSICAL[task][name]()
    shipped = _shipped()
    if name in shipped:
        if shipped[name][0] != task:
            raise ValueError(f"model {name!r} is for {shipped[name][0]}, not {task}")
        from .pretrained import load_pretrained_restorer

        return load_pretrained_restorer(name, device=device)
    if name.endswith(".safetensors") or Path(name).is_file():
        from .learned import load_exported_restorer

        return load_exported_restorer(Path(name), task, device=device)
    raise ValueError(f"unknown method {name!r} for {task}; choose from {', '.join(available_methods(task))}")
