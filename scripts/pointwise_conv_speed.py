"""1x1 convolutions through oneDNN (:class:`PointwiseConv2d`) against PyTorch's own choice, on CPU.

PyTorch runs a 1x1 convolution on one thread through its im2col path, on more threads through
oneDNN. This prints, for the 1x1 layers of the shipped gray denoiser, milliseconds per call of
``F.conv2d`` (PyTorch's choice) and of ``PointwiseConv2d`` on channels_last maps; then seconds
per 512x512 image (gray; colour for inpainting) through the engine for whole methods, with the oneDNN route switched off
and on in alternation (``--rounds``), since this machine's speed drifts. With ``--peak-memory SIDE`` it prints
instead the peak RSS of fresh processes that denoise a SIDE x SIDE gray image three times, either way.

Usage:
    python scripts/pointwise_conv_speed.py [--threads 1] [--rounds 3] [--repeats 4]
        [--methods restore-denoise restore-deblur-pnp restore-upscale-x4 restore-inpaint] [--peak-memory 512]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from restore.models import common

from restore.allocator import keep_freed_memory
from restore.engine import EngineSettings, run_restorer
from restore.kernels import motion_kernel
from restore.methods import available_methods, load_method
from restore.restorer import Degradation

# (in, out, side) of the shipped gray denoiser's 1x1 layers at a 512x512 input
LAYERS = [(16, 32, 512), (16, 16, 512), (32, 64, 256), (64, 128, 128), (128, 256, 64), (128, 128, 64)]


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_layers(repeats: int) -> None:
    print("ms per call, channels_last: in -> out at side x side | F.conv2d | PointwiseConv2d | max |diff|")
    for c_in, c_out, side in LAYERS:
        x = torch.rand(1, c_in, side, side).contiguous(memory_format=torch.channels_last)
        conv = common.PointwiseConv2d(c_in, c_out)
        with torch.inference_mode():
            torch_choice = median_seconds(partial(F.conv2d, x, conv.weight, conv.bias), repeats)
            onednn = median_seconds(partial(conv, x), repeats)
            diff = float((conv(x) - F.conv2d(x, conv.weight, conv.bias)).abs().max())
        print(f"{c_in:4d} -> {c_out:3d} at {side:3d} | {torch_choice * 1e3:7.2f} | {onednn * 1e3:7.2f} | {diff:.1e}")


def task_of(name: str) -> str:
    return next(t for t in ("denoise", "deblur", "upscale", "inpaint") if name in available_methods(t))


def time_methods(methods: list[str], rounds: int, repeats: int) -> None:
    x = np.random.default_rng(0).random((512, 512, 3)).astype(np.float32)
    settings = EngineSettings(tile=0)
    runs = []
    for name in methods:
        task = task_of(name)
        restorer = load_method(task, name)
        known = torch.ones(1, 1, 512, 512)
        known[..., 128:384, 192:320] = 0
        degradation = {
            "deblur": Degradation(sigma=0.01, psf=motion_kernel(15, 30)),
            "upscale": Degradation(scale=4),
            "inpaint": Degradation(mask=known),
        }.get(task, Degradation())
        image = x if task == "inpaint" else x[..., :1]  # gray, but inpainting takes colour only
        image = image[::4, ::4] if task == "upscale" else image  # upscaling to 512x512
        runs.append((name, lambda r=restorer, i=image, d=degradation: run_restorer(r, i, d, settings)))
    print("\ns per 512x512 output image (gray; colour for inpainting), through the engine: " + ", ".join(methods))
    for _ in range(rounds):
        for label, route in (
            ("torch", mock.patch.object(common, "_onednn_applies", lambda x: False)),
            ("onednn", nullcontext()),
        ):
            with route:
                seconds = [median_seconds(run, repeats) for _, run in runs]
            print(f"{label:7s} " + " ".join(f"{s:.3f}" for s in seconds))


def peak_rss_mb(side: int) -> float:
    restorer = load_method("denoise", "restore-denoise-gray")
    y = np.random.default_rng(0).random((side, side, 1)).astype(np.float32)
    with torch.inference_mode():
        for _ in range(3):
            run_restorer(restorer, y, Degradation(), EngineSettings(tile=0))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["restore-denoise", "restore-deblur-pnp", "restore-upscale-x4", "restore-inpaint"],
    )
    parser.add_argument("--peak-memory", type=int, metavar="SIDE", help="peak RSS for a SIDE x SIDE image instead")
    parser.add_argument("--child", choices=["torch", "onednn"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    if args.child:
        if args.child == "torch":
            common._onednn_applies = lambda x: False
        print(f"{peak_rss_mb(args.peak_memory):.0f}")
        return
    if args.peak_memory:
        for route in ("torch", "onednn"):
            command = [sys.executable, __file__, "--child", route, "--peak-memory", str(args.peak_memory)]
            command += ["--threads", str(args.threads)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
            print(f"{route:7s} peak RSS {out} MB, {args.peak_memory}x{args.peak_memory} gray, restore-denoise-gray x3")
        return
    print(f"{args.threads} thread(s)")
    time_layers(max(args.repeats, 10))
    time_methods(args.methods, args.rounds, args.repeats)


if __name__ == "__main__":
    main()
