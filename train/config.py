"""Typed training configs; YAML files mirror these dataclasses section by section.

Unknown keys are errors, and ``--set section.key=value`` overrides are cast by the field's type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Task = Literal["denoise", "deblur", "inpaint", "upscale"]


class ConfigError(ValueError):
    """A config file or override is wrong; the message says which key and why."""


@dataclass
class DataConfig:
    """Where images come from and how training pairs are made.

    ``mode``: "synthetic" degrades clean images on the fly; "paired" reads ``degraded_dir``
    beside clean ``train_dirs`` (matched by name); "noisy" trains from noisy images only (R2R):
    the ``train_dirs`` hold noisy images, or clean ones noised once with ``fixed_noise_sigma``
    (a fixed realisation, so the clean images are never seen). ``cache: false`` reads training
    images from disk for every patch instead of holding them in memory (large sets).
    ``gray_fraction`` of a colour model's samples are gray photographs (same noise in every
    channel), so one colour model serves gray images too.
    """

    train_dirs: list[str] = field(default_factory=list)
    val_dir: str | None = None
    val_holdout: int = 8
    val_size: int = 256
    mode: Literal["synthetic", "paired", "noisy"] = "synthetic"
    degraded_dir: str | None = None
    fixed_noise_sigma: float = 25.0
    channels: Literal[1, 3] = 3
    gray_fraction: float = 0.0
    patch_size: int = 96
    batch_size: int = 8
    workers: int = 0
    cache: bool = True
    noise: Literal["gaussian", "poisson-gaussian", "mixed"] = "gaussian"
    sigma_min: float = 0.0
    sigma_max: float = 55.0
    blur_kernel_size: int = 31
    mask_kind: Literal["thin", "medium", "thick", "box", "mix"] = "mix"
    scale: int = 4


@dataclass
class ModelConfig:
    name: str = "nafnet_denoiser_small"
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    """Weights of the loss terms (0 = off); ``r2r_alpha`` is R2R's recorruption strength."""

    l1: float = 1.0
    charbonnier: float = 0.0
    mse: float = 0.0
    psnr: float = 0.0
    ssim: float = 0.0
    fft: float = 0.0
    wavelet: float = 0.0
    perceptual: float = 0.0
    consistency: float = 0.0
    r2r: float = 0.0
    r2r_alpha: float = 0.5
    adversarial: float = 0.0
    feature_matching: float = 0.0
    r1: float = 0.0


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.99])
    warmup_steps: int = 100
    steps: int = 10000
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    discriminator_lr: float = 1e-4


@dataclass
class RunConfig:
    out_dir: str = "runs/run"
    seed: int = 0
    device: str = "auto"
    amp: Literal["off", "fp16", "bf16"] = "off"
    channels_last: bool = True
    threads: int = 0
    log_every: int = 25
    val_every: int = 500
    checkpoint_every: int = 250
    init_from: str | None = None
    # False: the checkpoint's own architecture, every tensor loaded. True: the config's model,
    # loading only the tensors whose names and shapes match (e.g. an x4 SR body into an x2 net).
    init_matching: bool = False


@dataclass
class TrainConfig:
    task: Task = "denoise"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


def _cast(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _cast(value, option, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"{key}: cannot be {value!r}")
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ConfigError(f"{key}: must be one of {', '.join(map(str, args))}, got {value!r}")
    if origin is list:
        if isinstance(value, str):
            value = yaml.safe_load(value) if value.startswith("[") else [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_cast(v, args[0], key) for v in value]
    if origin is dict:
        if isinstance(value, str):
            value = yaml.safe_load(value)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            number = hint(value) if not isinstance(value, str) else hint(float(value) if hint is float else value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}") from None
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return number
    if hint is str:
        if not isinstance(value, str | int | float):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    raise ConfigError(f"{key}: unsupported type {hint}")


def _build(cls: type, values: dict, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(prefix + k for k in unknown)}; valid: {', '.join(sorted(names))}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _cast(value, hint, prefix + name)
    return cls(**kwargs)


def config_from_dict(values: dict) -> TrainConfig:
    return _build(TrainConfig, values, "")


def _in_free_mapping(parts: list[str]) -> bool:
    """Whether the dotted key ``parts`` names an entry inside a ``dict`` field such as ``model.args``."""
    cls: Any = TrainConfig
    for part in parts[:-1]:
        hint = typing.get_type_hints(cls).get(part) if dataclasses.is_dataclass(cls) else None
        if typing.get_origin(hint) is dict:
            return True
        cls = hint
    return False


def apply_overrides(values: dict, overrides: list[str]) -> dict:
    """``["optim.lr=1e-4", "run.out_dir=runs/x"]`` applied to a raw config mapping."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep:
            raise ConfigError(f"override {override!r} is not KEY=VALUE")
        parts = key.strip().split(".")
        if _in_free_mapping(parts):  # no field type to cast by: model.args.iterations=6 is the number 6
            try:
                raw = yaml.safe_load(raw)
            except yaml.YAMLError as error:
                problem = getattr(error, "problem", None) or error
                raise ConfigError(f"override {override!r}: not a YAML value ({problem})") from None
        node = values
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {override!r}: {part} is not a section")
        node[parts[-1]] = raw
    return values


def load_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    values: dict = {}
    if path is not None:
        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except OSError as error:
            raise ConfigError(f"{path}: cannot read config ({error.strerror or error})") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML ({error})") from None
    return config_from_dict(apply_overrides(values, list(overrides)))


def config_to_dict(config: TrainConfig) -> dict:
    return dataclasses.asdict(config)
