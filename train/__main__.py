"""``python -m restore.train CONFIG.yaml [--set key=value ...]`` (also ``restore train``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import ConfigError, load_config


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="restore train", description="Train a restoration model.")
    parser.add_argument("config", nargs="?", type=Path, help="YAML config (see train/configs)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.lr=1e-4 (repeatable)",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in run.out_dir")
    parser.add_argument(
        "--finetune",
        metavar="MODEL",
        help="start from a shipped model name or an exported "
        ".safetensors, with the fine-tuning preset (lr / 10, short warm-up); --set still wins",
    )
    parser.add_argument("--max-steps", type=int, help="stop after this many steps in total (for a quick look)")
    parser.add_argument(
        "--export",
        type=Path,
        metavar="FILE.safetensors",
        help="after training, export the best EMA weights and a model card",
    )
    parser.add_argument(
        "--validate",
        metavar="MODEL",
        help="score a shipped model name or an exported .safetensors on the config's held-out images and exit",
    )
    parser.add_argument("--plot", type=Path, metavar="RUN", help="draw RUN/log.csv to RUN/curves.png and exit")
    parser.add_argument("-q", "--quiet", action="store_true")
    return parser


def finetune_overrides(config: Path, model: str) -> list[str]:
    """The fine-tuning preset: start from ``model`` at a tenth of the config's learning rate."""
    from .loop import model_file

    path = model_file(model)
    lr = load_config(config).optim.lr
    return [f"run.init_from={path}", f"optim.lr={lr / 10:g}", "optim.warmup_steps=20"]


def run(args: argparse.Namespace) -> int:
    if args.plot is not None:
        from .plot import plot_run

        print(plot_run(args.plot))
        return 0
    if args.config is None:
        print("restore train: error: a CONFIG file is required", file=sys.stderr)
        return 2
    try:
        overrides = list(args.overrides)
        if args.finetune:
            overrides = [*finetune_overrides(args.config, args.finetune), *overrides]
        if args.validate:
            from .loop import model_file

            # the model as it is: its own architecture, every tensor
            overrides += [f"run.init_from={model_file(args.validate)}", "run.init_matching=false"]
        cfg = load_config(args.config, overrides)
        from .loop import Trainer

        if args.validate:
            from restore.learned import read_metadata

            try:
                meta = read_metadata(cfg.run.init_from)
            except ValueError as error:
                raise ConfigError(str(error)) from None
            cfg.model.name, cfg.model.args = meta["architecture"], meta["args"]
            scores = Trainer(cfg).validate()
            if not scores:
                raise ConfigError(f"{args.config} holds out no validation images (data.val_holdout, data.val_dir)")
            print(f"{args.validate}: validation PSNR {scores['val_psnr']:.4f} dB, SSIM {scores['val_ssim']:.4f}")
            return 0

        distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if distributed:
            import torch
            import torch.distributed as dist

            use_nccl = cfg.run.device != "cpu" and torch.cuda.is_available()
            dist.init_process_group("nccl" if use_nccl else "gloo")
        trainer = Trainer(cfg)
        result = trainer.fit(resume=not args.fresh, progress=not args.quiet, max_steps=args.max_steps)
        print(f"trained to step {result.step}; best validation PSNR {result.best_psnr}")
        if args.export is not None:
            from .export import export_run

            card = export_run(trainer.out, args.export)
            print(f"exported {args.export} and {card}")
    except ConfigError as error:
        print(f"restore train: error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
