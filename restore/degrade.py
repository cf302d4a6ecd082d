"""``restore degrade``: make seeded test inputs from clean images and record what was done.

Order of operations: blur (replicate boundary) -> downscale -> mask -> noise -> clip and
quantise to the input's bit depth. Kernels are written to ``OUT/kernels/<name>.npy`` and
masks to ``OUT/masks/<name>.png`` (white = hole) so ``restore deblur --kernel OUT/kernels``
and ``restore inpaint --mask OUT/masks`` can use them; ``OUT/degradations.json`` records
every parameter and seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .batch import collect_inputs
from .io import Image, ImageError, array_to_tensor, read_image, write_bytes_atomic, write_image
from .kernels import disk_kernel, gaussian_kernel, load_kernel, motion_kernel, sample_camera_shake
from .masks import load_mask, mask_to_array, sample_mask
from .noise import GammaNoise, GaussianNoise, PoissonGaussianNoise, PoissonNoise
from .operators import Blur, Downsample, Mask, modcrop


def _numbers(spec: str, name: str, count: int) -> list[float]:
    try:
        values = [float(v) for v in spec.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise ValueError(f"{name} needs {count} number(s), got {spec!r}")
    return values


def parse_noise(spec: str):
    kind, _, params = spec.partition(":")
    if kind == "gaussian":
        return GaussianNoise(_numbers(params, kind, 1)[0] / 255)
    if kind == "poisson":
        return PoissonNoise(_numbers(params, kind, 1)[0])
    if kind == "poisson-gaussian":
        gain, sigma = _numbers(params, kind, 2)
        return PoissonGaussianNoise(gain, sigma / 255)
    if kind == "gamma":
        return GammaNoise(_numbers(params, kind, 1)[0])
    raise ValueError(f"unknown noise {spec!r} (gaussian:SIGMA, poisson:GAIN, poisson-gaussian:GAIN,SIGMA, gamma:LOOKS)")


def parse_blur(spec: str, generator: torch.Generator) -> torch.Tensor:
    kind, _, params = spec.partition(":")
    if kind == "motion":
        return motion_kernel(*_numbers(params, kind, 2))
    if kind == "gaussian":
        return gaussian_kernel(_numbers(params, kind, 1)[0])
    if kind == "disk":
        return disk_kernel(_numbers(params, kind, 1)[0])
    if kind == "shake":
        return sample_camera_shake(int(_numbers(params or "31", kind, 1)[0]), generator)
    if kind == "kernel":
        return load_kernel(params)
    raise ValueError(f"unknown blur {spec!r} (motion:LEN,ANGLE, gaussian:SIGMA, disk:R, shake:SIZE, kernel:FILE)")


def image_seed(seed: int, relative: Path) -> int:
    """Per-image seed that depends on the name, not on the order of the batch."""
    return (seed * 1_000_003 + zlib.crc32(str(relative).encode())) % 2**63


def degrade_command(args: argparse.Namespace) -> int:
    if not (args.noise or args.blur or args.mask or args.downscale):
        print("restore degrade: error: give at least one of --noise, --blur, --mask, --downscale", file=sys.stderr)
        return 2
    try:
        noise = parse_noise(args.noise) if args.noise else None
        if args.blur:
            parse_blur(args.blur, torch.Generator())  # validate once, before the batch
    except (ValueError, OSError) as error:
        print(f"restore degrade: error: {error}", file=sys.stderr)
        return 2
    inputs = collect_inputs(args.inputs, exclude=args.output)
    records, failed = [], len(inputs.missing)
    for pattern in inputs.missing:
        print(f"error: {pattern}: no such file or matching image", file=sys.stderr)
    for source, relative in inputs.files:
        target = args.output / relative.with_suffix(".png")
        record: dict = {"input": str(source), "output": str(target), "seed": image_seed(args.seed, relative)}
        try:
            if target.exists() and not args.overwrite:
                raise ImageError(f"{target}: output exists (use --overwrite)")
            image = read_image(source)
            generator = torch.Generator().manual_seed(record["seed"])
            x = array_to_tensor(image.pixels).double()
            if args.downscale:
                x = modcrop(x, args.downscale)
            if args.blur:
                psf = parse_blur(args.blur, generator)
                x = Blur(psf, boundary="replicate").A(x)
                kernel_path = args.output / "kernels" / relative.with_suffix(".npy")
                kernel_path.parent.mkdir(parents=True, exist_ok=True)
                np.save(kernel_path, psf.numpy())
                record.update(blur=args.blur, kernel=str(kernel_path))
            if args.downscale:
                x = Downsample(args.downscale).A(x)
                record["downscale"] = args.downscale
            if args.mask:
                h, w = x.shape[-2:]
                if Path(args.mask).is_file():
                    mask = load_mask(args.mask)
                else:
                    mask = sample_mask(h, w, args.mask, generator)
                if tuple(mask.shape[-2:]) != (h, w):
                    raise ValueError(f"mask {args.mask} does not match the image size {w}x{h}")
                x = Mask(mask.double()).A(x) + (1 - mask.double())  # holes painted white
                mask_path = args.output / "masks" / relative.with_suffix(".png")
                write_image(mask_path, Image(mask_to_array(mask)[..., None]))
                record.update(mask=str(mask_path), hole_fraction=round(1 - float(mask.mean()), 4))
            if noise is not None:
                x = noise.sample(x, generator)
                record["noise"] = args.noise
            degraded = replace(image, alpha=None).with_pixels(x.clamp(0, 1).float())
            write_image(target, replace(degraded, alpha=None))
            records.append(record)
        except (ImageError, ValueError, RuntimeError) as error:
            failed += 1
            message = str(error) if str(source) in str(error) or "output exists" in str(error) else f"{source}: {error}"
            print(f"error: {message}", file=sys.stderr)
    write_bytes_atomic(args.output / "degradations.json", json.dumps(records, indent=2).encode())
    print(f"degraded {len(records)} image(s), {failed} failed; recorded in {args.output / 'degradations.json'}")
    return 1 if failed else 0
