"""Seconds per image of gray denoisers, timed in alternation in one process (this machine's speed drifts).

Each MODEL is a shipped name or an exported .safetensors, loaded as the CLI loads it (its NAF blocks' scales
folded, ``NAFBlock.fold_scales``), or a JSON object of ``nafnet_denoiser_small`` arguments that change the
shipped gray denoiser's blocks (random weights: for timing a variant before training it). ``--unfolded`` also
times each model with its scales left in place (so on its plain path too), ``--unfused`` folded but with the
blocks' oneDNN fusions off (``NAFBlock.forward_fused``). Prints the best of ``--rounds`` per model and its ratio to the
first. ``--profile`` prints instead where the first model spends its time on the first image, by operator.

Usage:
    python scripts/denoiser_speed.py restore-denoise-gray '{"dec_blocks": [2, 2, 2]}' [--unfolded] [--unfused]
        [--images ../shared/benchdata/denoise/Set12 | --size 512] [--rounds 5] [--threads 1] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from unittest import mock

import torch
from restore.models import denoiser
from restore.models.registry import build_model

from restore.io import read_image
from restore.learned import ModelRestorer, load_model
from restore.pretrained import PRETRAINED, weights_file


def load_denoiser(spec: str) -> torch.nn.Module:
    """The unfolded network that ``spec`` names (see the module's docstring)."""
    if spec.startswith("{"):
        entry = PRETRAINED["restore-denoise-gray"]
        return build_model(entry.architecture, **{**entry.args, **json.loads(spec)}).eval()
    return load_model(weights_file(spec) if spec in PRETRAINED else Path(spec))[0]


class Unfused(torch.nn.Module):
    """``net`` on its plain path: the folded blocks' oneDNN fusions turned off."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        with mock.patch.object(denoiser, "onednn_fusion_applies", lambda x: False):
            return self.net(y, sigma)


def gray_inputs(images: Path | None, size: int) -> list[torch.Tensor]:
    if images is None:
        return [torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))]
    tensors = [read_image(p).to_tensor() for p in sorted(images.glob("*.png"))]
    return [y for y in tensors if y.shape[1] == 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="MODEL")
    parser.add_argument("--unfolded", action="store_true", help="also time each model with its scales unfolded")
    parser.add_argument("--unfused", action="store_true", help="also time each model folded but unfused")
    parser.add_argument("--images", type=Path, help="a folder of gray PNGs (default: one random image)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="time the first model's operators instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nets = {}
    for spec in args.models:
        net = load_denoiser(spec)
        if args.unfolded:
            nets[f"{spec} (unfolded)"] = copy.deepcopy(net).to(memory_format=torch.channels_last)
        nets[spec] = ModelRestorer(net, "denoise", spec, device="cpu").model
        if args.unfused:
            nets[f"{spec} (unfused)"] = Unfused(nets[spec])
    inputs = [y.contiguous(memory_format=torch.channels_last) for y in gray_inputs(args.images, args.size)]
    best = dict.fromkeys(nets, float("inf"))
    with torch.inference_mode():
        for net in nets.values():
            net(inputs[0], 0.1)  # oneDNN builds its kernels on first use
        if args.profile:
            with torch.profiler.profile() as profile:
                next(iter(nets.values()))(inputs[0], 0.1)
            print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
            return
        for r in range(args.rounds):
            order = list(nets.items()) if r % 2 == 0 else list(reversed(nets.items()))
            elapsed = dict.fromkeys(nets, 0.0)
            for y in inputs:
                for name, net in order:
                    start = time.perf_counter()
                    net(y, 0.1)
                    elapsed[name] += time.perf_counter() - start
            best = {name: min(best[name], elapsed[name] / len(inputs)) for name in nets}
    first = best[next(iter(best))]
    print(f"{len(inputs)} image(s), {torch.get_num_threads()} thread(s), best of {args.rounds} rounds")
    for name, seconds in best.items():
        print(f"{name:60s} {seconds:.3f} s/image  {seconds / first:.3f}x")


if __name__ == "__main__":
    main()
