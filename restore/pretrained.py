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


PRETRAINED: dict[str, PretrainedModel] = {}


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
    if meta["architecture"] != entry.architecture or meta["task"] != entry.task:
        raise RuntimeError(f"{path}: holds {meta['architecture']} for {meta['task']}, registry says otherwise")
    channels = int(meta["args"].get("in_channels", 3))
    return ModelRestorer(model, entry.task, name, device=device, channels=channels, extra=meta["extra"])
