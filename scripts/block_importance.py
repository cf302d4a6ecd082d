"""How much each NAF block of a denoiser is worth: held-out PSNR with the block skipped.

Every NAF block is residual, so skipping one leaves a working network. Scores the model on the images a
training config holds out for validation (never the benchmark sets), centre crops of 256 px as training validates,
Gaussian noise of each ``--sigmas`` at fixed seeds, the level given; then skips one block at a time and prints
the change of mean PSNR, or with ``--skip`` the change for those blocks skipped together. Blocks are named
``stage.index``: ``encoders.0.0``, ``middle.9``, ``decoders.2.1``. This is how the gray denoiser's
sixteenth run chose the blocks to prune before fine-tuning (its card).

Usage:
    python scripts/block_importance.py restore-denoise-gray [--config train/configs/denoise_gray.yaml]
        [--sigmas 15 25 50] [--skip decoders.2.1 middle.9] [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from restore.models.denoiser import NAFBlock
from restore.train.config import load_config
from restore.train.data import centre_crop, list_images, load_images, split_holdout
from torch import nn

from restore.learned import ModelRestorer, load_model
from restore.metrics import psnr
from restore.noise import GaussianNoise
from restore.pretrained import PRETRAINED, load_pretrained_restorer

CROP = 256


def held_out_crops(config: Path) -> list[torch.Tensor]:
    cfg = load_config(config)
    _, paths = split_holdout(list_images(cfg.data.train_dirs), cfg.data.val_holdout)
    return [centre_crop(image, CROP, 8) for image in load_images(paths, cfg.data.channels, 32)]


def mean_psnr(net: nn.Module, crops: list[torch.Tensor], sigma_255: float) -> float:
    scores = []
    with torch.inference_mode():
        for i, x in enumerate(crops):
            g = torch.Generator().manual_seed(1000 * int(sigma_255) + i)
            y = GaussianNoise(sigma_255 / 255).sample(x, g).contiguous(memory_format=torch.channels_last)
            x_hat = torch.round(net(y, sigma_255 / 255).clamp(0, 1) * 255) / 255
            scores.append(float(psnr(x_hat, x)[0]))
    return sum(scores) / len(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a shipped name or an exported .safetensors")
    parser.add_argument("--config", type=Path, default=Path("train/configs/denoise_gray.yaml"))
    parser.add_argument("--sigmas", type=float, nargs="+", default=[15, 25, 50])
    parser.add_argument("--skip", nargs="+", metavar="BLOCK", help="score these blocks skipped together")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.model in PRETRAINED:  # as the CLI runs it: scales folded, local pooling where its entry asks
        net = load_pretrained_restorer(args.model, device="cpu").model
    else:
        net = ModelRestorer(load_model(Path(args.model))[0], "denoise", args.model, device="cpu").model
    blocks = {name: module for name, module in net.named_modules() if isinstance(module, NAFBlock)}
    unknown = set(args.skip or ()) - set(blocks)
    if unknown:
        parser.error(f"no such blocks: {sorted(unknown)}; the model has {', '.join(blocks)}")
    crops = held_out_crops(args.config)

    def scores() -> list[float]:
        return [mean_psnr(net, crops, sigma) for sigma in args.sigmas]

    base = scores()
    print(f"{len(crops)} held-out crops, sigma {' / '.join(f'{s:g}' for s in args.sigmas)}")
    print(f"{'all blocks':16s} " + " ".join(f"{b:.4f}" for b in base))
    for names in [args.skip] if args.skip else [[name] for name in blocks]:
        for name in names:
            blocks[name].forward = lambda x: x
        changes = [s - b for s, b in zip(scores(), base, strict=True)]
        for name in names:
            del blocks[name].forward  # back to the class's forward
        print(f"{' + '.join(names):16s} " + " ".join(f"{c:+.4f}" for c in changes), flush=True)


if __name__ == "__main__":
    main()
