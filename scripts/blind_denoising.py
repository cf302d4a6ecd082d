"""How the shipped denoisers fare blind, on training images (never the benchmark sets).

1. Error of :func:`restore.estimate.estimate_sigma` on ``--images`` training images outside the
   config's held-out ones, plain patch PCA (``iterations=0``) against the default refinement on
   weakly textured patches, in the 0-255 scale, with seconds per image.
2. PSNR of ``--model`` on the config's held-out images (256 px crops) given the true sigma,
   the refined estimate and the plain-PCA one.

Usage:
    python scripts/blind_denoising.py [--config train/configs/denoise_gray.yaml] [--model restore-denoise-gray]
        [--images 40] [--sigmas 1 5 15 25 50] [--threads 1]

``--model`` takes a shipped name or an exported ``.safetensors`` (an earlier commit's weights, say).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from restore.train.config import load_config
from restore.train.data import list_images, load_images, split_holdout

from restore.estimate import estimate_sigma
from restore.methods import load_method
from restore.metrics import psnr


def estimator_errors(images: list[np.ndarray], sigma: float, iterations: int) -> tuple[np.ndarray, float]:
    errors, seconds = [], 0.0
    for i, image in enumerate(images):
        x = torch.from_numpy(image)[None]
        y = x + sigma / 255 * torch.randn(x.shape, generator=torch.Generator().manual_seed(200 + i))
        t0 = time.perf_counter()
        errors.append(float(estimate_sigma(y, iterations=iterations)[0]) * 255 - sigma)
        seconds += time.perf_counter() - t0
    return np.array(errors), seconds / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="train/configs/denoise_gray.yaml")
    parser.add_argument("--model", default="restore-denoise-gray")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[1, 5, 15, 25, 50])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_config(args.config).data
    train, held_out = split_holdout(list_images(data.train_dirs), data.val_holdout)
    picked = np.random.default_rng(1).choice(len(train), args.images, replace=False)
    images = load_images([train[i] for i in picked], data.channels, 64)

    columns = "mean error / mean |error| / max |error|"
    print(f"1. estimator, {len(images)} training images, {data.channels} channel(s): {columns}")
    for sigma in args.sigmas:
        line = [f"sigma {sigma:g}:"]
        for name, iterations in (("plain PCA", 0), ("refined", 5)):
            e, seconds = estimator_errors(images, sigma, iterations)
            line.append(f"{name} {e.mean():+.2f} / {np.abs(e).mean():.2f} / {np.abs(e).max():.2f} ({seconds:.3f} s)")
        print("  ".join(line))

    model = load_method("denoise", args.model).model
    columns = "PSNR given the true sigma / blind / blind with plain PCA"
    print(f"2. {args.model} on the {len(held_out)} held-out images of {args.config}: {columns}")
    crops = [torch.from_numpy(im)[None][..., :256, :256] for im in load_images(held_out, data.channels, 64)]
    for sigma in args.sigmas:
        scores = {"true": [], "blind": [], "plain": []}
        for i, x in enumerate(crops):
            y = (x + sigma / 255 * torch.randn(x.shape, generator=torch.Generator().manual_seed(i))).float()
            with torch.inference_mode():
                levels = {
                    "true": torch.tensor([sigma / 255]),
                    "blind": estimate_sigma(y),
                    "plain": estimate_sigma(y, iterations=0),
                }
                for kind, level in levels.items():
                    x_hat = torch.round(model(y, level).clamp(0, 1) * 255) / 255
                    scores[kind].append(float(psnr(x_hat, x)[0]))
        print(f"sigma {sigma:g}: " + " / ".join(f"{np.mean(v):.4f}" for v in scores.values()) + " dB")


if __name__ == "__main__":
    main()
