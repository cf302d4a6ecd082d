"""Export a run: EMA weights as self-describing safetensors, plus a Markdown model card."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import torch
import yaml
from restore.models.registry import build_model

from restore.learned import save_model

from .config import config_from_dict
from .loop import BEST, CHECKPOINT


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_run(run: Path, target: Path, *, checkpoint: str | None = None) -> Path:
    """Write ``target`` (.safetensors) from the run's best (else last) EMA weights, and ``target.md``."""
    run = Path(run)
    name = checkpoint or (BEST if (run / BEST).exists() else CHECKPOINT)
    state = torch.load(run / name, map_location="cpu", weights_only=False)
    cfg = config_from_dict(state["config"])
    model = build_model(cfg.model.name, **cfg.model.args)
    model.load_state_dict(state["ema"], strict=True)
    _, args = model.architecture_spec
    args = {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}
    extra = {"steps": state["step"], "val_psnr": state["best_psnr"]}
    if cfg.loss.r2r > 0:
        extra.update(r2r_alpha=cfg.loss.r2r_alpha, noisy_only=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_model(target, model, architecture=cfg.model.name, args=args, task=cfg.task, extra=extra)
    card = target.with_suffix(".md")
    card.write_text(model_card(target, cfg, state, args, run / "log.csv"))
    return card


def model_card(weights: Path, cfg, state: dict, args: dict, log: Path) -> str:
    params = sum(v.numel() for v in state["ema"].values())
    terms = {k: v for k, v in vars(cfg.loss).items() if isinstance(v, float) and v > 0 and k != "r2r_alpha"}
    last_val = None
    if log.exists():
        rows = [r for r in csv.DictReader(log.open()) if r.get("val_psnr")]
        last_val = rows[-1] if rows else None
    lines = [
        f"# {weights.stem}",
        "",
        f"- Task: {cfg.task}",
        f"- Architecture: `{cfg.model.name}` with {args} ({params / 1e6:.2f} M parameters)",
        f"- Weights: `{weights.name}`, sha256 `{sha256(weights)}` (EMA, decay {cfg.optim.ema_decay})",
        f"- Data: {', '.join(cfg.data.train_dirs)} ({cfg.data.mode}; {cfg.data.val_holdout} images held out for "
        "validation), random {0}x{0} patches, batch {1}".format(cfg.data.patch_size, cfg.data.batch_size),
        f"- Degradation: {_degradation(cfg)}",
        *(
            [
                f"- Initialised from: `{Path(cfg.run.init_from).name}`"
                + (" (tensors of matching name and shape)" if cfg.run.init_matching else "")
            ]
            if cfg.run.init_from
            else []
        ),
        f"- Losses: {', '.join(f'{k} x {v:g}' for k, v in terms.items())}",
        f"- Optimiser: AdamW lr {cfg.optim.lr:g}, warm-up {cfg.optim.warmup_steps} then cosine, "
        f"{state['step']} steps, gradient clip {cfg.optim.grad_clip:g}",
        "- Best validation PSNR on the held-out training images: "
        + (f"{state['best_psnr']:.2f} dB" if state["best_psnr"] is not None else "not measured")
        + (
            f" (last: {float(last_val['val_psnr']):.2f} dB, SSIM {float(last_val['val_ssim']):.4f})" if last_val else ""
        ),
        "",
        "## Reproduce",
        "",
        "```bash",
        "restore train CONFIG.yaml --export " + weights.name,
        "```",
        "",
        "with this resolved config:",
        "",
        "```yaml",
        yaml.safe_dump(state["config"], sort_keys=False).rstrip(),
        "```",
        "",
        "## Licence of the training data",
        "",
        "The training images are Berkeley Segmentation Dataset photographs (Train400, CBSD432) and T91,",
        "released for non-commercial research and education: these weights inherit that restriction.",
        "",
    ]
    return "\n".join(lines)


def _degradation(cfg) -> str:
    d = cfg.data
    if cfg.task == "denoise":
        if d.mode == "noisy":
            return f"noisy-only data: one fixed Gaussian realisation, sigma {d.fixed_noise_sigma:g}; R2R loss"
        return f"{d.noise} noise, sigma uniform in [{d.sigma_min:g}, {d.sigma_max:g}] (0-255 scale)"
    if cfg.task == "deblur":
        return (
            f"random {d.blur_kernel_size}px kernels (camera shake, motion, Gaussian, disk), noise sigma "
            f"[{d.sigma_min:g}, {d.sigma_max:g}]"
        )
    if cfg.task == "inpaint":
        return f"LaMa-style '{d.mask_kind}' masks"
    return f"x{d.scale} MATLAB-bicubic downscaling"
