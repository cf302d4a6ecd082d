"""Parameter counts, multiply-adds and CPU inference time of every registered architecture preset.

Each preset runs on a 512x512 input (the low-resolution input for SR, so x4 produces
2048x2048) in channels_last memory format under ``torch.inference_mode``; one warm-up pass,
then the best of ``--repeats`` timed passes. Multiply-adds are those of the convolutions
(transposed included), counted in the warm-up pass and divided by the output pixels.

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


def _count_conv_macs(model: torch.nn.Module, total: list[int]) -> list:
    def hook(module, inputs, output):
        taps = module.kernel_size[0] * module.kernel_size[1]
        if isinstance(module, torch.nn.ConvTranspose2d):  # each input value meets every tap of its group's outputs
            total[0] += inputs[0].numel() * module.out_channels // module.groups * taps
        else:
            total[0] += output.numel() * module.in_channels // module.groups * taps

    convs = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    return [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, convs)]


def benchmark(name: str, size: int, repeats: int) -> tuple[int, float, float, tuple[int, ...]]:
    """(parameters, multiply-adds per output pixel, best wall time in seconds, output shape) for one preset."""
    model = build_model(name).eval().to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters())
    inputs = example_inputs(model, size)
    macs = [0]
    hooks = _count_conv_macs(model, macs)
    with torch.inference_mode():
        out = model(*inputs)
        for h in hooks:
            h.remove()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(*inputs)
            times.append(time.perf_counter() - start)
    return n_params, macs[0] / (out.shape[0] * out.shape[-2] * out.shape[-1]), min(times), tuple(out.shape)


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
    print(f"{'preset':<24}{'params':>12}{'MACs/px':>12}{'seconds':>10}  output")
    for name in names:
        n_params, macs, seconds, shape = benchmark(name, args.size, args.repeats)
        print(f"{name:<24}{n_params:>12,}{macs:>12,.0f}{seconds:>10.2f}  {'x'.join(map(str, shape))}", flush=True)


if __name__ == "__main__":
    main()
