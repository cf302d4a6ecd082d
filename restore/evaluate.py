"""``restore evaluate``: PSNR/SSIM of restored images against references matched by name."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from .batch import collect_inputs
from .io import IMAGE_SUFFIXES, ImageError, read_image, write_bytes_atomic
from .metrics import psnr, ssim


def _reference_for(reference: Path, relative: Path) -> Path | None:
    for folder in (reference / relative.parent, reference):
        for suffix in IMAGE_SUFFIXES:
            candidate = folder / f"{relative.stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def evaluate_folder(outputs: Path, reference: Path, *, y_channel: bool = False, crop: int = 0) -> list[dict]:
    """One row per restored image that has a reference: name, PSNR (dB), SSIM, or the error."""
    rows = []
    for source, relative in collect_inputs([str(outputs)]).files:
        ref_path = _reference_for(reference, relative)
        if ref_path is None:
            rows.append({"image": str(relative), "error": f"no reference named {relative.stem}.* in {reference}"})
            continue
        try:
            x_hat, x = read_image(source).to_tensor(), read_image(ref_path).to_tensor()
            if x_hat.shape != x.shape:
                raise ValueError(f"size {tuple(x_hat.shape[1:])} differs from the reference {tuple(x.shape[1:])}")
            rows.append(
                {
                    "image": str(relative),
                    "psnr": round(float(psnr(x_hat, x, y_channel=y_channel, crop=crop)[0]), 4),
                    "ssim": round(float(ssim(x_hat, x, y_channel=y_channel, crop=crop)[0]), 5),
                }
            )
        except (ImageError, ValueError) as error:
            rows.append({"image": str(relative), "error": f"{source}: {error}"})
    return rows


def evaluate_command(args: argparse.Namespace) -> int:
    for folder in (args.outputs, args.reference):
        if not folder.is_dir():
            print(f"restore evaluate: error: {folder} is not a folder", file=sys.stderr)
            return 2
    rows = evaluate_folder(args.outputs, args.reference, y_channel=args.y_channel, crop=args.crop)
    scored = [r for r in rows if "psnr" in r]
    width = max([len(r["image"]) for r in rows] + [5])
    print(f"{'image':<{width}}  {'PSNR':>8}  {'SSIM':>7}")
    for r in rows:
        if "psnr" in r:
            print(f"{r['image']:<{width}}  {r['psnr']:8.2f}  {r['ssim']:7.4f}")
        else:
            print(f"{r['image']:<{width}}  error: {r['error']}")
    if scored:
        mean_psnr = sum(r["psnr"] for r in scored) / len(scored)
        mean_ssim = sum(r["ssim"] for r in scored) / len(scored)
        print(f"{'mean':<{width}}  {mean_psnr:8.2f}  {mean_ssim:7.4f}   ({len(scored)} images)")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["image", "psnr", "ssim", "error"])
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(args.csv or args.outputs / "metrics.csv", buffer.getvalue().encode())
    return 0 if scored and len(scored) == len(rows) else 1
