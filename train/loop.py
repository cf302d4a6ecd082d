"""One explicit training loop for every task, supervised or self-supervised.

A step: draw the batch for this step (seeded by the step), degrade it, run the network,
combine the configured loss terms, clip, step AdamW and the warm-up + cosine schedule,
update the EMA weights; every ``val_every`` steps validate the EMA model on held-out images;
every ``checkpoint_every`` steps save everything a bit-exact resume needs.
"""

from __future__ import annotations

import copy
import csv
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from restore.models.registry import build_model
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from restore.engine import select_device
from restore.estimate import estimate_sigma
from restore.learned import call_model, recorrupted_average
from restore.metrics import psnr, ssim

from .config import ConfigError, ModelConfig, TrainConfig, config_to_dict
from .data import (
    LazyImages,
    PairedPatchDataset,
    PatchDataset,
    Sample,
    centre_crop,
    list_images,
    load_images,
    load_pairs,
    noisy_once,
    split_holdout,
    synthesize,
)
from .losses import LossTerms, discriminator_step

CHECKPOINT = "last.pt"
BEST = "best.pt"


@dataclass
class TrainResult:
    step: int
    losses: list[float]
    best_psnr: float | None
    out_dir: Path


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 1% of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))


def model_file(model: str) -> Path:
    """A shipped model's weights file by name, or ``model`` itself as a path."""
    from restore.pretrained import PRETRAINED, weights_file

    path = weights_file(model) if model in PRETRAINED else Path(model)
    if not path.is_file():
        raise ConfigError(f"{model}: neither a shipped model nor a file")
    return path


def load_matching(model: nn.Module, source: dict[str, Tensor]) -> list[str]:
    """Copy the tensors of ``source`` whose name (or name under a submodule) and shape match ``model``'s."""
    own = model.state_dict()
    matching = {}
    for key, value in source.items():
        # the name itself, or the same name under one submodule (a denoiser inside an unrolled solver)
        names = [key] if key in own else [name for name in own if name.endswith(f".{key}")]
        if len(names) == 1 and own[names[0]].shape == value.shape:
            matching[names[0]] = value
    if not matching:
        raise ConfigError("run.init_from shares no tensor of matching name and shape with the model")
    model.load_state_dict(matching, strict=False)
    return sorted(matching)


def _check_same_architecture(model: ModelConfig, meta: dict) -> None:
    """Refuse a config whose model differs from the checkpoint it fine-tunes, rather than drop its settings."""
    differing = {k: v for k, v in model.args.items() if k in meta["args"] and meta["args"][k] != v}
    if model.name != meta["architecture"] or differing:
        raise ConfigError(
            f"run.init_from holds {meta['architecture']} {meta['args']}, but the config asks for {model.name} "
            f"{differing or model.args}; set run.init_matching=true to build the config's model and load the "
            "checkpoint's tensors of matching name and shape into it"
        )


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.out = Path(cfg.run.out_dir)
        if cfg.run.threads:
            torch.set_num_threads(cfg.run.threads)
        self.device = select_device(cfg.run.device)
        if self.device.type == "cuda" and _world() > 1:  # torchrun: one GPU per process
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(self.device)
        if cfg.task != "denoise" and cfg.data.mode == "noisy":
            raise ConfigError("data.mode=noisy (R2R) is for the denoise task")
        if cfg.data.mode == "paired" and cfg.task not in ("denoise", "upscale"):
            raise ConfigError("data.mode=paired supports the denoise and upscale tasks")
        min_size = cfg.data.patch_size
        paths = list_images(cfg.data.train_dirs)
        if cfg.data.val_dir:
            val_paths = list_images([cfg.data.val_dir])
        else:
            paths, val_paths = split_holdout(paths, cfg.data.val_holdout)
        self.val_images = load_images(val_paths, cfg.data.channels, 32) if val_paths else []
        self.paired = cfg.data.mode == "paired" or (cfg.data.mode == "noisy" and cfg.loss.r2r == 0)
        if cfg.data.mode == "paired":
            if not cfg.data.degraded_dir:
                raise ConfigError("data.mode=paired needs data.degraded_dir")
            ratio = cfg.data.scale if cfg.task == "upscale" else 1
            pairs = load_pairs(paths, cfg.data.degraded_dir, cfg.data.channels, ratio)
            self.dataset = PairedPatchDataset(pairs, cfg.data.patch_size, cfg.run.seed, ratio)
        elif cfg.data.mode == "synthetic" and not cfg.data.cache:
            self.dataset = PatchDataset(LazyImages(paths, cfg.data.channels, min_size), min_size, cfg.run.seed)
        else:
            images = load_images(paths, cfg.data.channels, min_size)
            if cfg.data.mode == "noisy":
                noisy = noisy_once(images, cfg.data.fixed_noise_sigma, cfg.run.seed)
                # with a supervised loss, the same fixed noisy images paired with their clean
                # originals: the baseline that R2R on the noisy images alone is measured against
                if self.paired:
                    self.dataset = PairedPatchDataset(list(zip(images, noisy, strict=True)), min_size, cfg.run.seed)
                else:
                    self.dataset = PatchDataset(noisy, min_size, cfg.run.seed)
            else:
                self.dataset = PatchDataset(images, min_size, cfg.run.seed)
        torch.manual_seed(cfg.run.seed)
        if cfg.run.init_from:  # fine-tuning: the architecture is the checkpoint's
            from restore.learned import load_model

            try:
                init, meta = load_model(model_file(cfg.run.init_from))
            except ValueError as error:
                raise ConfigError(str(error)) from None
            if meta["task"] != cfg.task and not cfg.run.init_matching:
                raise ConfigError(f"run.init_from is a {meta['task']} model, but the task is {cfg.task}")
            if not cfg.run.init_matching:
                _check_same_architecture(cfg.model, meta)
                cfg.model.name, cfg.model.args = meta["architecture"], meta["args"]
        self.model = build_model(cfg.model.name, **cfg.model.args).to(self.device)
        self.transferred: list[str] = []  # the init_from tensors loaded
        if cfg.run.init_from and cfg.run.init_matching:
            self.transferred = load_matching(self.model, init.state_dict())
        elif cfg.run.init_from:
            self.model.load_state_dict(init.state_dict(), strict=True)
            self.transferred = sorted(init.state_dict())
        if cfg.run.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.net: nn.Module = self.model
        if _world() > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        o = cfg.optim
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, o.warmup_steps, o.steps)
        )
        amp = cfg.run.amp != "off" and self.device.type == "cuda"
        self.autocast_dtype = torch.float16 if cfg.run.amp == "fp16" else torch.bfloat16
        self.amp = amp
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp and cfg.run.amp == "fp16")
        self.losses = LossTerms(cfg.loss, cfg.task, cfg.data.channels, self.device)
        self.discriminator = self.losses.discriminator
        self.d_optimizer = None
        if self.discriminator is not None:
            self.discriminator.to(self.device)
            self.d_optimizer = torch.optim.AdamW(
                self.discriminator.parameters(), lr=o.discriminator_lr, betas=(0.5, 0.99)
            )
        self.step = 0
        self.best_psnr: float | None = None
        self.columns = ["step", "lr", "loss", *self.losses.names, "d_loss", "val_psnr", "val_ssim", "steps_per_s"]

    # -- state ------------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "discriminator": None if self.discriminator is None else self.discriminator.state_dict(),
            "d_optimizer": None if self.d_optimizer is None else self.d_optimizer.state_dict(),
            "best_psnr": self.best_psnr,
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
            "config": config_to_dict(self.cfg),
        }

    def load_state(self, state: dict) -> None:
        self.step = state["step"]
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.discriminator is not None and state.get("discriminator") is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.best_psnr = state["best_psnr"]
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])

    def save(self, name: str) -> None:
        if _rank() != 0:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.out / f".{name}.tmp"
        torch.save(self.state(), tmp)
        os.replace(tmp, self.out / name)
        (self.out / "config.yaml").write_text(yaml.safe_dump(config_to_dict(self.cfg), sort_keys=False))

    def resume(self) -> bool:
        path = self.out / CHECKPOINT
        if not path.exists():
            return False
        self.load_state(torch.load(path, map_location=self.device, weights_only=False))
        return True

    # -- steps ------------------------------------------------------------------------------
    def _to_device(self, sample: Sample) -> Sample:
        def move(t):
            if t is None:
                return None
            t = t.to(self.device)
            return t.contiguous(memory_format=torch.channels_last) if self.cfg.run.channels_last and t.dim() == 4 else t

        return Sample(move(sample.x), move(sample.y), move(sample.sigma), move(sample.psf), move(sample.mask))

    def _forward(self, net: nn.Module, s: Sample) -> Tensor:
        return call_model(self.cfg.task, net, s.y, sigma=s.sigma, psf=s.psf, mask=s.mask)

    def train_step(self, x: Tensor) -> dict[str, float]:
        g = torch.Generator().manual_seed(self.cfg.run.seed * 1_000_003 + self.step * 7919 + _rank())
        if self.paired:
            x, y = x
            sigma = None
            if self.cfg.task == "denoise":
                known = self.cfg.data.mode == "noisy"
                sigma = torch.full((x.shape[0],), self.cfg.data.fixed_noise_sigma / 255) if known else estimate_sigma(y)
            sample = Sample(x=x, y=y, sigma=sigma)
        elif self.cfg.data.mode == "noisy":
            sigma = torch.full((x.shape[0],), self.cfg.data.fixed_noise_sigma / 255)
            sample = Sample(x=torch.full_like(x, float("nan")), y=x, sigma=sigma)  # no clean target exists
        else:
            sample = synthesize(self.cfg.task, x, self.cfg.data, g)
        s = self._to_device(sample)
        self.net.train()
        # R2R feeds the network y + alpha * sigma * z, whose noise std is sigma * sqrt(1 + alpha^2).
        level = s.sigma
        if self.cfg.loss.r2r > 0 and level is not None:
            level = level * (1 + self.cfg.loss.r2r_alpha**2) ** 0.5

        def forward(y: Tensor) -> Tensor:
            return self._forward(self.net, Sample(s.x, y, level, s.psf, s.mask))

        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.amp):
            total, terms = self.losses(forward, s, g)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.unscale_(self.optimizer)
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.discriminator is not None:
            terms.update(discriminator_step(self.discriminator, self.d_optimizer, self.losses, s, terms.pop("_x_hat")))
        terms.pop("_x_hat", None)
        with torch.no_grad():
            decay = min(self.cfg.optim.ema_decay, (1 + self.step) / (10 + self.step))
            for e, m in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                e.lerp_(m.detach(), 1 - decay)
            for e, m in zip(self.ema.buffers(), self.model.buffers(), strict=True):
                e.copy_(m)
        self.step += 1
        return {"loss": float(total.detach()), **terms}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """PSNR/SSIM of the EMA model on centre crops of the held-out images, fixed degradations."""
        if not self.val_images:
            return {}
        size = self.cfg.data.val_size
        scores_psnr, scores_ssim = [], []
        multiple = self.cfg.data.scale if self.cfg.task == "upscale" else 8
        for i, image in enumerate(self.val_images):
            x = centre_crop(image, size, multiple)
            g = torch.Generator().manual_seed(10_000 + i)
            if self.cfg.data.mode == "noisy":
                cfg = copy.copy(self.cfg.data)
                cfg.sigma_min = cfg.sigma_max = cfg.fixed_noise_sigma
                sample = synthesize("denoise", x, cfg, g)
            else:
                sample = synthesize(self.cfg.task, x, self.cfg.data, g)
            s = self._to_device(sample)
            if self.cfg.loss.r2r > 0:
                x_hat = recorrupted_average(self.ema, s.y, s.sigma, alpha=self.cfg.loss.r2r_alpha)
            else:
                x_hat = self._forward(self.ema, s)
            x_hat = x_hat.float().clamp(0, 1).cpu()
            x_hat = torch.round(x_hat * 255) / 255
            scores_psnr.append(float(psnr(x_hat, sample.x)[0]))
            scores_ssim.append(float(ssim(x_hat, sample.x)[0]))
        return {"val_psnr": float(np.mean(scores_psnr)), "val_ssim": float(np.mean(scores_ssim))}

    def fit(self, *, resume: bool = True, progress: bool = True, max_steps: int | None = None) -> TrainResult:
        if resume and self.resume() and _rank() == 0:
            print(f"resumed from {self.out / CHECKPOINT} at step {self.step}")
        total = self.cfg.optim.steps if max_steps is None else min(self.cfg.optim.steps, max_steps)
        bs = self.cfg.data.batch_size
        world, rank = _world(), _rank()
        indices = range((self.step * world + rank) * bs, total * world * bs)
        sampler = [i for i in indices if (i // bs) % world == rank]
        loader = DataLoader(
            self.dataset,
            batch_size=bs,
            sampler=sampler,
            num_workers=self.cfg.data.workers,
            persistent_workers=self.cfg.data.workers > 0,
        )
        log_path = self.out / "log.csv"
        self.out.mkdir(parents=True, exist_ok=True)
        losses: list[float] = []
        bar = tqdm(total=total, initial=self.step, disable=not progress or rank != 0, dynamic_ncols=True)
        t0, steps0 = time.perf_counter(), self.step
        writer = _tensorboard(self.out) if rank == 0 else None
        for x in loader:
            if self.step >= total:
                break
            terms = self.train_step(x)
            losses.append(terms["loss"])
            bar.update(1)
            row = {"step": self.step, "lr": self.scheduler.get_last_lr()[0], **terms}
            if self.step % self.cfg.run.val_every == 0 or self.step == total:
                row.update(self.validate())
                if "val_psnr" in row and (self.best_psnr is None or row["val_psnr"] > self.best_psnr):
                    self.best_psnr = row["val_psnr"]
                    self.save(BEST)
            if self.step % self.cfg.run.log_every == 0 or "val_psnr" in row:
                row["steps_per_s"] = (self.step - steps0) / (time.perf_counter() - t0)
                bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k not in ("step", "lr")})
                if rank == 0:
                    _append_csv(log_path, row, self.columns)
                    if writer is not None:
                        for k, v in row.items():
                            if k != "step":
                                writer.add_scalar(k, v, self.step)
            if self.step % self.cfg.run.checkpoint_every == 0 or self.step == total:
                self.save(CHECKPOINT)
        bar.close()
        return TrainResult(self.step, losses, self.best_psnr, self.out)


def _append_csv(path: Path, row: dict, fields: list[str]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    try:
        return SummaryWriter(str(out / "tensorboard"))
    except Exception:  # tensorboard package absent or broken: CSV is always written
        return None
