"""``restore``: batch restoration from the command line.

    restore denoise  INPUT... -o OUT [--sigma N|auto]
    restore deblur   INPUT... -o OUT (--kernel FILE | --motion LEN,ANGLE | --gaussian S | --disk R)
    restore inpaint  INPUT... -o OUT --mask FILE|DIR
    restore upscale  INPUT... -o OUT --scale 2|3|4
    restore degrade  INPUT... -o OUT [--noise ...] [--blur ...] [--mask ...] [--downscale S] [--seed N]
    restore evaluate OUTDIR --reference GTDIR
    restore demo     -o OUT

Noise levels on the command line are on the 0-255 scale, as in the literature.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .allocator import keep_freed_memory
from .batch import BatchOptions, collect_inputs, run_batch
from .engine import EngineSettings, select_device
from .ensemble import SelfEnsemble
from .restorer import TASKS, Degradation

EXIT_FAILED_FILES = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A problem with the command line itself; printed without a traceback."""


def _sigma_arg(text: str) -> float | None:
    if text == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        message = f"noise level must be a number (0-255 scale) or 'auto', got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"noise level must be between 0 and 255, got {value:g}")
    return value / 255.0


def _pair(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LENGTH,ANGLE, got {text!r}") from None
    return a, b


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or glob patterns")
    p.add_argument("-o", "--output", required=True, type=Path, help="output folder")
    p.add_argument("--method", help="method name or an exported .safetensors model (default: the shipped one)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--tile", type=int, help="tile size in pixels (default: the method's; 0 disables tiling)")
    p.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass (default: 4)")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default="fp32", help="autocast on CUDA")
    p.add_argument(
        "--self-ensemble",
        action="store_true",
        help="average the method over the 8 rotations and flips of each image (8x the time)",
    )
    p.add_argument("--format", choices=("png", "jpg", "tif", "webp", "bmp"), help="output format (default: as input)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--skip-existing", action="store_true", help="leave outputs that already exist")
    group.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--report", type=Path, help="write a JSON report of every file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="restore", description="Image restoration and super-resolution.")
    parser.add_argument("--version", action="version", version=f"restore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("denoise", help="remove noise")
    _add_common(p)
    p.add_argument("--sigma", type=_sigma_arg, default=None, help="noise std on 0-255, or 'auto' (default)")

    p = sub.add_parser("deblur", help="non-blind deblurring with a known or parametric kernel")
    _add_common(p)
    blur = p.add_mutually_exclusive_group(required=True)
    blur.add_argument(
        "--kernel", type=Path, help="PSF file (PNG/TIFF image, .npy or text matrix), or a folder matched by image name"
    )
    blur.add_argument("--motion", type=_pair, metavar="LEN,ANGLE", help="linear motion blur (pixels, degrees)")
    blur.add_argument("--gaussian", type=_positive, metavar="SIGMA", help="Gaussian blur std in pixels")
    blur.add_argument("--disk", type=_positive, metavar="R", help="defocus disk radius in pixels")
    p.add_argument("--sigma", type=_sigma_arg, default=None, help="noise std on 0-255, or 'auto' (default)")

    p = sub.add_parser("inpaint", help="fill holes given a mask (white = hole)")
    _add_common(p)
    p.add_argument("--mask", required=True, type=Path, help="mask file, or folder of masks matched by file name")

    p = sub.add_parser("upscale", help="super-resolution")
    _add_common(p)
    p.add_argument("--scale", type=int, choices=(2, 3, 4), default=4)

    p = sub.add_parser("degrade", help="synthesise degraded test inputs from clean images, seeded")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, type=Path)
    p.add_argument("--noise", help="gaussian:SIGMA | poisson:GAIN | poisson-gaussian:GAIN,SIGMA | gamma:LOOKS")
    p.add_argument("--blur", help="motion:LEN,ANGLE | gaussian:SIGMA | disk:R | shake:SIZE | kernel:FILE")
    p.add_argument("--mask", help="thick | medium | thin | box | mix | FILE")
    p.add_argument("--downscale", type=int, choices=(2, 3, 4))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("evaluate", help="PSNR/SSIM of restored images against references")
    p.add_argument("outputs", type=Path, help="folder of restored images")
    p.add_argument("--reference", required=True, type=Path, help="folder of ground-truth images (matched by name)")
    p.add_argument("--y-channel", action="store_true", help="evaluate luma only (SR convention)")
    p.add_argument("--crop", type=int, default=0, help="pixels shaved off each border (SR: the scale)")
    p.add_argument("--csv", type=Path, help="write the table as CSV (default: OUTDIR/metrics.csv)")

    p = sub.add_parser("demo", help="restore the bundled example images with the default methods")
    p.add_argument("-o", "--output", type=Path, default=Path("restored"))
    p.add_argument("--device", default="auto")
    p.add_argument("-q", "--quiet", action="store_true")

    p = sub.add_parser("methods", help="list the methods for each task")

    p = sub.add_parser("app", help="start the web app in the browser (needs the 'app' extra)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: 7860 or the next free one)")
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")

    p = sub.add_parser("bench", help="benchmark the methods against classical and published peers")
    from .bench import build_parser as build_bench_parser

    build_bench_parser(p)

    p = sub.add_parser("train", help="train a model from a YAML config (see train/configs)")
    from restore.train.__main__ import build_parser as build_train_parser

    build_train_parser(p)
    return parser


def _degradation_for(args: argparse.Namespace) -> Degradation:
    from .kernels import disk_kernel, gaussian_kernel, load_kernel, motion_kernel

    if args.command == "denoise":
        return Degradation(sigma=args.sigma)
    if args.command == "deblur":
        if args.kernel is not None:
            if args.kernel.is_dir():
                return Degradation(sigma=args.sigma)  # one kernel per image, matched by name
            try:
                psf = load_kernel(args.kernel)
            except ValueError as error:
                raise CLIError(str(error)) from None
        elif args.motion is not None:
            psf = motion_kernel(*args.motion)
        elif args.gaussian is not None:
            psf = gaussian_kernel(args.gaussian)
        else:
            psf = disk_kernel(args.disk)
        return Degradation(sigma=args.sigma, psf=psf)
    if args.command == "upscale":
        return Degradation(scale=args.scale)
    return Degradation()


def _run_task(args: argparse.Namespace) -> int:
    from .methods import load_method

    try:
        select_device(args.device)
    except (ValueError, RuntimeError) as error:
        raise CLIError(str(error)) from None
    degradation = _degradation_for(args)
    if args.command == "inpaint" and not args.mask.exists():
        raise CLIError(f"{args.mask}: mask file or folder does not exist")
    try:
        scale = args.scale if args.command == "upscale" else None
        restorer = load_method(args.command, args.method, device=args.device, scale=scale)
        restorer = SelfEnsemble(restorer) if args.self_ensemble else restorer
    except (ValueError, RuntimeError, OSError) as error:
        raise CLIError(str(error)) from None
    inputs = collect_inputs(args.inputs, exclude=args.output)
    if not inputs.files:
        raise CLIError("no images found in: " + ", ".join(args.inputs))
    options = BatchOptions(
        output=args.output,
        suffix=f".{args.format}" if args.format else None,
        skip_existing=args.skip_existing,
        overwrite=args.overwrite,
        mask=args.mask if args.command == "inpaint" else None,
        kernel=args.kernel if args.command == "deblur" and args.kernel is not None and args.kernel.is_dir() else None,
        settings=EngineSettings(
            device=args.device, tile=args.tile, batch_size=args.batch_size, precision=args.precision
        ),
        progress=not args.quiet,
    )
    report = run_batch(inputs, restorer, degradation, options)
    print(report.summary(), file=sys.stderr)
    if args.report:
        from .io import write_bytes_atomic

        write_bytes_atomic(args.report, json.dumps(report.as_dict(), indent=2).encode())
    return EXIT_FAILED_FILES if report.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    keep_freed_memory()
    try:
        if args.command in TASKS:
            return _run_task(args)
        if args.command == "degrade":
            from .degrade import degrade_command

            return degrade_command(args)
        if args.command == "evaluate":
            from .evaluate import evaluate_command

            return evaluate_command(args)
        if args.command == "demo":
            from .demo import demo_command

            return demo_command(args)
        if args.command == "bench":
            from .bench import run as run_bench

            return run_bench(args)
        if args.command == "train":
            from restore.train.__main__ import run as run_training

            return run_training(args)
        if args.command == "app":
            try:
                from .app import launch
            except ModuleNotFoundError as error:
                if error.name != "gradio":
                    raise
                raise CLIError("the web app needs gradio: pip install 'restore[app]'") from None
            return launch(host=args.host, port=args.port, share=args.share)
        if args.command == "methods":
            from .methods import available_methods

            for task in TASKS:
                print(f"{task}: {', '.join(available_methods(task))}")
            return 0
    except CLIError as error:
        print(f"restore {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
