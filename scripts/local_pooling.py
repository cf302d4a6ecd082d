"""What local channel attention (``NAFNetDenoiser.pool_locally``) gives a denoiser, on training images.

1. PSNR on the config's held-out images at full size (never the benchmark sets), given the true
   sigma, restored as the benchmark does (the engine, untiled), with the attention pooled over the
   whole image and over windows of ``--patch`` px.
2. Seconds for one ``--size`` px square image on ``--threads`` threads, each way in alternation (median of 8).

Usage:
    python scripts/local_pooling.py [--config train/configs/denoise_gray.yaml] [--model restore-denoise-gray]
        [--patch 176] [--sigmas 15 25 50] [--size 512] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from restore.train.config import load_config
from restore.train.data import list_images, load_images, split_holdout

from restore.engine import EngineSettings, run_restorer
from restore.methods import load_method
from restore.metrics import psnr
from restore.restorer import Degradation


def median_seconds(model, y: torch.Tensor, ways: dict[str, int | None], repeats: int = 8) -> dict[str, float]:
    """Each way timed in turn, ``repeats`` rounds, so that drifts in machine speed hit both alike."""
    times = {way: [] for way in ways}
    for _ in range(repeats):
        for way, patch in ways.items():
            model.pool_locally(patch)
            t0 = time.perf_counter()
            with torch.inference_mode():
                model(y, 25 / 255)
            times[way].append(time.perf_counter() - t0)
    model.pool_locally(None)
    return {way: float(np.median(t)) for way, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="train/configs/denoise_gray.yaml")
    parser.add_argument("--model", default="restore-denoise-gray")
    parser.add_argument("--patch", type=int, default=176)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[15, 25, 50])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_config(args.config).data
    _, held_out = split_holdout(list_images(data.train_dirs), data.val_holdout)
    images = [torch.from_numpy(im)[None] for im in load_images(held_out, data.channels, 64)]
    restorer = load_method("denoise", args.model)
    model = restorer.model
    ways = {"global": None, f"{args.patch} px windows": args.patch}

    print(f"1. {args.model}, {len(images)} held-out images of {args.config}, full size, true sigma:")
    for sigma in args.sigmas:
        scores = {way: [] for way in ways}
        for i, x in enumerate(images):
            y = (x + sigma / 255 * torch.randn(x.shape, generator=torch.Generator().manual_seed(i))).float()
            pixels = y[0].permute(1, 2, 0).numpy()
            for way, patch in ways.items():
                model.pool_locally(patch)
                with torch.inference_mode():
                    out = run_restorer(restorer, pixels, Degradation(sigma=sigma / 255), EngineSettings(tile=0))
                x_hat = torch.round(torch.from_numpy(out).permute(2, 0, 1)[None].double() * 255) / 255
                scores[way].append(float(psnr(x_hat, x)[0]))
        means = [np.mean(v) for v in scores.values()]
        print(f"sigma {sigma:g}: " + " / ".join(f"{m:.4f}" for m in means) + f" dB, gain {means[1] - means[0]:+.4f}")

    y = torch.rand(1, data.channels, args.size, args.size).contiguous(memory_format=torch.channels_last)
    times = median_seconds(model, y, ways)
    ratio = times[f"{args.patch} px windows"] / times["global"]
    print(f"2. {args.size} px, {args.threads} thread(s): " + " / ".join(f"{t:.3f} s" for t in times.values()), end="")
    print(f", {ratio:.3f}x")


if __name__ == "__main__":
    main()
