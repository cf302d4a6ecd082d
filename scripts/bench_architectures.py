"""Parameter counts and CPU inference time of every registered architecture preset.

Each preset runs on a 512x512 input (the low-resolution input for SR, so x4 produces
2048x2048) in channels_last memory format under ``torch.inference_mode``; one warm-up pass,
then the best of ``--repeats`` timed passes.

Usage:
    python scripts/bench_architectures.py [--size 512] [--repeats 2] [--threads N] [NAME ...]
"""

from __future__ import annotations

import argparse
import time

import torch
from restore.models.denoiser import NAFNetDenoiser
from restore.models.ffc import LamaGenerator
from restore.models.registry import ARCHITECTURES, build_model
from restore.models.sr import SuperResolutionNet
from restore.models.wiener import WienerDeconvNet

from restore.kernels import gaussian_kernel


def example_inputs(model: torch.nn.Module, size: int) -> tuple:
    """One image of ``size x size`` (3 channels) and whatever else the family's forward takes."""
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, size, size, generator=g).contiguous(memory_format=torch.channels_last)
    if isinstance(model, LamaGenerator):
        mask = (torch.rand(1, 1, size, size, generator=g) > 0.25).float()
        return y, mask.contiguous(memory_format=torch.channels_last)
    if isinstance(model, WienerDeconvNet):
        return y, gaussian_kernel(2.0).float(), 0.01
    if isinstance(model, NAFNetDenoiser):
        return y, 0.1
    if isinstance(model, SuperResolutionNet):
        return (y,)
    raise TypeError(f"no benchmark inputs for {type(model).__name__}")


def benchmark(name: str, size: int, repeats: int) -> tuple[int, float, tuple[int, ...]]:
    """(parameter count, best wall time in seconds, output shape) for one preset."""
    model = build_model(name).eval().to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters())
    inputs = example_inputs(model, size)
    with torch.inference_mode():
        out = model(*inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(*inputs)
            times.append(time.perf_counter() - start)
    return n_params, min(times), tuple(out.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="presets to run (default: all)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.names or list(ARCHITECTURES)
    unknown = sorted(set(names) - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown presets {unknown}; known: {', '.join(ARCHITECTURES)}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, input {args.size}x{args.size}")
    print(f"{'preset':<24}{'params':>12}{'seconds':>10}  output")
    for name in names:
        n_params, seconds, shape = benchmark(name, args.size, args.repeats)
        print(f"{name:<24}{n_params:>12,}{seconds:>10.2f}  {'x'.join(map(str, shape))}", flush=True)


if __name__ == "__main__":
    main()
