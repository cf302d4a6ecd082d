"""``restore demo``: the four tasks on the bundled example images, with the default methods."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from .batch import BatchOptions, collect_inputs, run_batch
from .engine import EngineSettings
from .evaluate import evaluate_folder
from .methods import load_method
from .restorer import Degradation

EXAMPLES = Path(str(resources.files("restore") / "examples"))


def demo_command(args: argparse.Namespace) -> int:
    settings = EngineSettings(device=args.device)
    jobs = {
        "denoise": (Degradation(), {}),
        "deblur": (Degradation(), {"kernel": EXAMPLES / "kernels"}),
        "inpaint": (Degradation(), {"mask": EXAMPLES / "masks"}),
        "upscale": (Degradation(scale=4), {}),
    }
    failed = 0
    for task, (degradation, sidecars) in jobs.items():
        restorer = load_method(task, device=args.device, scale=degradation.scale)
        out = args.output / task
        options = BatchOptions(output=out, overwrite=True, settings=settings, progress=not args.quiet, **sidecars)
        report = run_batch(collect_inputs([str(EXAMPLES / task)]), restorer, degradation, options)
        failed += report.failed
        scores = [r for r in evaluate_folder(out, EXAMPLES / "clean") if "psnr" in r]
        inputs = {r["image"]: r for r in evaluate_folder(EXAMPLES / task, EXAMPLES / "clean") if "psnr" in r}
        for r in scores:
            before = inputs.get(r["image"], {}).get("psnr")
            gain = f" (input {before:.2f} dB)" if before is not None else ""
            print(f"{task:8s} {restorer.name:20s} {r['image']:16s} PSNR {r['psnr']:6.2f} dB{gain}")
        print(report.summary(), file=sys.stderr)
    print(f"results in {args.output}/")
    return 1 if failed else 0
