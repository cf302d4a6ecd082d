"""``restore bench``: shipped models against classical methods and published peers, in one run.

    python -m restore.bench --data ../shared/benchdata --peers ../shared/benchdata/peers --out bench/

Protocols (the literature's): denoising adds N(0, sigma^2) in float64 with a per-image seed,
leaves the noisy input unclipped, clips and rounds outputs to 8 bits, and scores gray PSNR on
gray sets and RGB PSNR on colour sets with no border crop; the shipped denoisers run blind (sigma
is withheld, so they estimate it), while BM3D, NLM and FFDNet are given the true sigma, as
published. Deblurring blurs with each Levin kernel (replicate boundary) and adds 1% noise;
inpainting uses seeded LaMa "thick" masks (or ``inpaint/masks_irregular``); SR scores the Y
channel with ``scale`` pixels shaved. Without
``--data`` the bundled example images are used. Peer loaders (DnCNN, FFDNet, OpenCV SR graphs)
live here, not in the shipped package.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import os
import platform
import resource
import sys
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from .allocator import keep_freed_memory
from .classical import CLASSICAL
from .engine import EngineSettings, run_restorer, select_device
from .io import IMAGE_SUFFIXES, read_image, write_bytes_atomic
from .masks import load_mask, sample_mask
from .methods import available_methods, load_method
from .metrics import psnr, ssim
from .operators import Blur, Downsample, modcrop
from .restorer import Degradation, Restorer

EXAMPLES = Path(__file__).parent / "examples"


@dataclass
class Case:
    """One benchmark input: what the method gets and the ground truth."""

    name: str
    x: Tensor
    y: Tensor
    degradation: Degradation


@dataclass
class Row:
    task: str
    dataset: str
    setting: str
    method: str
    psnr: float
    ssim: float
    seconds_per_image: float
    seconds_per_megapixel: float
    peak_rss_mb: float
    images: int


def _images(folder: Path, limit: int | None) -> list[tuple[str, Tensor]]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    return [(p.stem, read_image(p).to_tensor().double()) for p in files]


def _quantise(x: Tensor) -> Tensor:
    return torch.round(x.clamp(0, 1) * 255) / 255


def conv_stack(npz: Path) -> nn.Sequential:
    """3x3 convolutions with ReLU between, from a converted MatConvNet ``.npz`` (``conv{i}.weight/bias``)."""
    weights = np.load(npz)
    n = len([k for k in weights if k.endswith(".weight")])
    layers: list[nn.Module] = []
    for i in range(n):
        w = torch.from_numpy(weights[f"conv{i}.weight"])
        conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
        conv.weight.data, conv.bias.data = w, torch.from_numpy(weights[f"conv{i}.bias"])
        layers += [conv, nn.ReLU()] if i < n - 1 else [conv]
    return nn.Sequential(*layers).eval()


class DnCNNPeer(Restorer):
    """Published DnCNN weights (Zhang et al. 2017): 17 conv + ReLU, residual output ``y - net(y)``."""

    task = "denoise"

    def __init__(self, npz: Path):
        self.net = conv_stack(npz)
        self.name = f"DnCNN ({npz.stem.replace('DnCNN_', '')})"

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        return y - self.net(y.float())


class FFDNetPeer(Restorer):
    """Published FFDNet weights (Zhang et al. 2018): pixel-unshuffle x2 + noise map, convs, pixel-shuffle."""

    task = "denoise"
    multiple = 2

    def __init__(self, npz: Path):
        self.net = conv_stack(npz)
        self.name = f"FFDNet ({npz.stem.replace('FFDNet_', '')})"

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        down = nn.functional.pixel_unshuffle(y.float(), 2)
        level = torch.full((y.shape[0], 1, *down.shape[-2:]), float(degradation.sigma), device=y.device)
        return nn.functional.pixel_shuffle(self.net(torch.cat([down, level], 1)), 2)


class _PassThrough:
    """A ``cv2.dnn`` Python layer that returns its input unchanged.

    OpenCV's TensorFlow importer drops ``DepthToSpace``'s block size (4.x: "blocksize is
    required"; 5.0 never asks a Python layer for its output shape), so the dnn_superres graphs
    cannot run their last layer. Registered under that op's name, this layer lets the graph run
    up to the sub-pixel channels, and :class:`OpenCVSRPeer` does the depth-to-space itself.
    """

    def __init__(self, params, blobs):
        pass

    def getMemoryShapes(self, inputs):  # noqa: N802 (OpenCV's callback name)
        return [list(inputs[0])]

    def forward(self, inputs):
        return [inputs[0]]


# OpenCV 5.1 removed the TensorFlow importer that reads the dnn_superres graphs.
OPENCV_READS_TENSORFLOW = hasattr(cv2.dnn, "readNetFromTensorflow")


@functools.cache
def _warn_no_tensorflow_importer() -> None:
    print(
        f"restore bench: OpenCV {cv2.__version__} cannot read TensorFlow graphs, so the FSRCNN and ESPCN peers "
        "are left out (pip install 'opencv-python-headless<5.1' runs them)",
        file=sys.stderr,
    )


@functools.cache
def _register_pass_through() -> None:
    cv2.dnn_registerLayer("DepthToSpace", _PassThrough)  # twice aborts the process


class OpenCVSRPeer(Restorer):
    """An OpenCV dnn_superres graph (FSRCNN or ESPCN ``.pb``), run as ``cv2.dnn_superres`` does.

    The image goes to YCrCb; the network upscales Y (float, [0, 1]) and ends in a depth-to-space
    (TensorFlow NHWC order, which for one channel is the pixel shuffle); Cr and Cb are
    bicubic-upscaled; the result goes back to RGB.
    """

    task = "upscale"

    def __init__(self, pb: Path, scale: int):
        _register_pass_through()
        self.net = cv2.dnn.readNetFromTensorflow(str(pb))
        self.scale = scale
        self.name = f"{pb.stem.split('_')[0]} (OpenCV)"

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        s, out = self.scale, []
        for img in y:
            ycrcb = cv2.cvtColor(img.float().permute(1, 2, 0).cpu().numpy(), cv2.COLOR_RGB2YCrCb)
            self.net.setInput(np.ascontiguousarray(ycrcb[None, None, :, :, 0]))
            luma = nn.functional.pixel_shuffle(torch.from_numpy(self.net.forward().copy()), s)[0, 0].numpy()
            chroma = cv2.resize(ycrcb[..., 1:], (luma.shape[1], luma.shape[0]), interpolation=cv2.INTER_CUBIC)
            rgb = cv2.cvtColor(np.dstack([luma, chroma]), cv2.COLOR_YCrCb2RGB)
            out.append(torch.from_numpy(rgb).permute(2, 0, 1).to(y))
        return torch.stack(out).clamp(0, 1)


def denoise_cases(root: Path | None, sigma: int, gray: bool, limit: int | None) -> dict[str, list[Case]]:
    sets = {"Set12": "denoise/Set12", "BSD68": "denoise/BSD68"} if gray else {"CBSD68": "denoise/CBSD68"}
    if root is None:
        sets = {"examples": None}
    out: dict[str, list[Case]] = {}
    for name, sub in sets.items():
        images = _images(root / sub if root else EXAMPLES / "clean", limit)
        cases = []
        for stem, x in images:
            if root is None:
                x = x.mean(1, keepdim=True) if gray else (x if x.shape[1] == 3 else x.expand(-1, 3, -1, -1))
            g = torch.Generator().manual_seed(0)
            y = x + sigma / 255 * torch.randn(x.shape, generator=g, dtype=torch.float64)
            cases.append(Case(stem, x, y, Degradation(sigma=sigma / 255)))
        out[name] = cases
    return out


def deblur_cases(root: Path | None, limit: int | None) -> dict[str, list[Case]]:
    kernels = sorted((root / "deblur" / "kernels").glob("Levin09_k*.npy")) if root else []
    psfs = [torch.from_numpy(np.load(k)).double() for k in kernels]
    if not psfs:
        from .kernels import motion_kernel

        psfs = [motion_kernel(15, a) for a in (0, 45, 90, 135)]
    psfs = [k / k.sum() for k in psfs]
    sets = {"Set12 x Levin": "denoise/Set12", "BSD68 x Levin": "denoise/BSD68"} if root else {"examples": None}
    out = {}
    for name, sub in sets.items():
        cases = []
        for stem, x in _images(root / sub if root else EXAMPLES / "clean", limit):
            x = x.mean(1, keepdim=True)
            for i, psf in enumerate(psfs):
                g = torch.Generator().manual_seed(i)
                noise = 0.01 * torch.randn(x.shape, generator=g, dtype=torch.float64)
                y = Blur(psf, boundary="replicate").A(x) + noise
                cases.append(Case(f"{stem}_k{i + 1}", x, y, Degradation(sigma=0.01, psf=psf.float())))
        out[name] = cases
    return out


def inpaint_cases(root: Path | None, size: int, limit: int | None) -> dict[str, list[Case]]:
    folder = root / "denoise" / "CBSD68" if root else EXAMPLES / "clean"
    masks = sorted((root / "inpaint" / "masks_irregular").glob("*.png")) if root else []
    cases = []
    for i, (stem, x) in enumerate(_images(folder, limit)):
        x = x if x.shape[1] == 3 else x.expand(-1, 3, -1, -1)
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", antialias=True).clamp(0, 1)
        x = _quantise(x)
        g = torch.Generator().manual_seed(i)
        if masks:
            m = load_mask(masks[(i * 7) % len(masks)])
            mask = torch.nn.functional.interpolate(m, size=(size, size), mode="nearest")
        else:
            mask = sample_mask(size, size, "thick", g)
        cases.append(Case(stem, x, x * mask + (1 - mask), Degradation(mask=mask)))
    return {f"CBSD68 {size}px" if root else f"examples {size}px": cases}


def upscale_cases(root: Path | None, scale: int, limit: int | None) -> dict[str, list[Case]]:
    sets = {"Set5": "sr/Set5/HR", "Set14": "sr/Set14/HR"} if root else {"examples": None}
    out = {}
    for name, sub in sets.items():
        cases = []
        for stem, x in _images(root / sub if root else EXAMPLES / "clean", limit):
            x = modcrop(x if x.shape[1] == 3 else x.expand(-1, 3, -1, -1), scale)
            y = _quantise(Downsample(scale).A(x))
            cases.append(Case(stem, x, y, Degradation(scale=scale)))
        out[name] = cases
    return out


def restore_case(restorer: Restorer, case: Case, blind: bool = False) -> np.ndarray:
    """``restorer``'s ``(H, W, C)`` output for one case, through the engine untiled; ``blind`` withholds sigma."""
    pixels_in = case.y[0].permute(1, 2, 0).numpy().astype(np.float32)
    degradation = replace(case.degradation, sigma=None) if blind else case.degradation
    with torch.inference_mode():
        return run_restorer(restorer, pixels_in, degradation, EngineSettings(tile=0))


def measure(
    restorer: Restorer, cases: list[Case], crop: int = 0, y_channel: bool = False, blind: bool = False
) -> tuple:
    """Mean PSNR, SSIM, seconds per image and per megapixel, peak RSS and count; ``blind`` withholds sigma.

    One untimed pass over the first image comes first, so the times leave out one-off costs
    (oneDNN builds its kernels for each new shape on first use), as they would be over a folder.
    """
    scores_p, scores_s, seconds, pixels = [], [], 0.0, 0
    if cases:
        restore_case(restorer, cases[0], blind)
    for case in cases:
        t0 = time.perf_counter()
        out = restore_case(restorer, case, blind)
        seconds += time.perf_counter() - t0
        x_hat = _quantise(torch.from_numpy(out).permute(2, 0, 1)[None].double())
        pixels += case.x.shape[-1] * case.x.shape[-2]
        scores_p.append(float(psnr(x_hat, case.x, crop=crop, y_channel=y_channel)[0]))
        scores_s.append(float(ssim(x_hat, case.x, crop=crop, y_channel=y_channel)[0]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(cases)
    return np.mean(scores_p), np.mean(scores_s), seconds / n, seconds / (pixels / 1e6), peak, n


def _methods(
    task: str, peers: Path | None, sigma: int | None, gray: bool, skip: set[str], scale: int | None = None
) -> list[Restorer]:
    methods = [load_method(task, name) for name in available_methods(task) if name not in skip]
    methods = [m for m in methods if getattr(m, "scale", None) in (None, scale)]
    if peers and task == "denoise":
        kind = "gray" if gray else "color"
        for path in (peers / "dncnn" / f"DnCNN_{kind}_sigma{sigma}.npz", peers / "ffdnet" / f"FFDNet_{kind}.npz"):
            if path.exists():
                methods.append(DnCNNPeer(path) if "DnCNN" in path.name else FFDNetPeer(path))
    if peers and task == "upscale":
        for net in ("FSRCNN", "ESPCN"):
            path = peers / "opencv_dnn_superres" / f"{net}_x{scale}.pb"
            if path.exists() and not OPENCV_READS_TENSORFLOW:
                _warn_no_tensorflow_importer()
            elif path.exists():
                methods.append(OpenCVSRPeer(path, scale))
    return methods


SET_NAMES = ("Set12", "BSD68", "CBSD68", "Set5", "Set14", "examples")


def run_benchmark(
    data: Path | None,
    peers: Path | None,
    tasks: list[str],
    limit: int | None,
    skip: set[str],
    log: Callable,
    only_sets: set[str] | None = None,
) -> list[Row]:
    """`only_sets` keeps the datasets whose name starts with one of these words ("BSD68" keeps "BSD68 x Levin")."""
    rows: list[Row] = []
    blind_denoisers = set(available_methods("denoise")) - set(CLASSICAL["denoise"])

    def bench(task, sets, setting, methods, crop=0, y_channel=False):
        for dataset, cases in sets.items():
            if only_sets and dataset.split()[0] not in only_sets:
                continue
            for restorer in methods:
                blind = task == "denoise" and restorer.name in blind_denoisers
                result = measure(restorer, cases, crop, y_channel, blind)
                rows.append(Row(task, dataset, setting, restorer.name, *result))
                log(rows[-1])

    if "denoise" in tasks:
        for sigma in (15, 25, 50):
            bench(
                "denoise",
                denoise_cases(data, sigma, True, limit),
                f"sigma {sigma}",
                _methods("denoise", peers, sigma, True, skip),
            )
        bench("denoise", denoise_cases(data, 25, False, limit), "sigma 25", _methods("denoise", peers, 25, False, skip))
    if "deblur" in tasks:
        methods = _methods("deblur", None, None, True, skip)
        calibration = next(iter(deblur_cases(data, 2).values()))  # the NSR grid is tuned on 2 Set12 images
        candidates = [CLASSICAL["deblur"]["wiener"](nsr=n) for n in (1e-3, 3e-3, 1e-2, 3e-2)]
        best = max(candidates, key=lambda r: measure(r, calibration)[0])
        bench("deblur", deblur_cases(data, limit), "1% noise", [*methods, best])
    if "inpaint" in tasks:
        for size in (256, 512):
            has_masks = data is not None and (data / "inpaint" / "masks_irregular").is_dir()
            setting = "irregular masks" if has_masks else "thick masks"
            bench("inpaint", inpaint_cases(data, size, limit), setting, _methods("inpaint", None, None, False, skip))
    if "upscale" in tasks:
        for scale in (2, 3, 4):
            bench(
                "upscale",
                upscale_cases(data, scale, limit),
                f"x{scale}",
                _methods("upscale", peers, None, False, skip, scale),
                crop=scale,
                y_channel=True,
            )
    return rows


def read_rows(path: Path) -> list[Row]:
    """The rows of a results.csv that `write_outputs` wrote."""
    types = typing.get_type_hints(Row)
    with path.open(newline="") as f:
        return [Row(**{name: kind(record[name]) for name, kind in types.items()}) for record in csv.DictReader(f)]


def _row_key(row: Row) -> tuple[str, str, str, str]:
    return row.task, row.dataset, row.setting, row.method


def merge_rows(old: list[Row], new: list[Row]) -> list[Row]:
    """`old` with each row that `new` re-measured (same task, set, setting and method) replaced in place."""
    fresh = {_row_key(r): r for r in new}
    merged = [fresh.pop(_row_key(r), r) for r in old]
    return merged + list(fresh.values())


def machine_note() -> str:
    """Where a fresh table's times were taken: they compare only with times from the same machine.

    The CPU's vector kernels matter as much as its name: without AVX-512 the shipped gray denoiser
    ran 1.9x slower and BM3D only 1.5x, which moved their ratio from 24x to 18x.
    """
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    device = select_device()
    where = "CPU"
    if device.type == "cuda":
        where = f"{torch.cuda.get_device_name(device)}, CPU"
    elif device.type == "mps":
        where = "MPS, CPU"
    return (
        f"Timed on {where} {cpu} ({torch.backends.cpu.get_cpu_capability()} kernels), "
        f"{cpus} CPU(s) allowed, "
        f"{torch.get_num_threads()} torch thread(s); torch {torch.__version__}; {time.strftime('%Y-%m-%d')}.\n"
    )


def write_outputs(rows: list[Row], out: Path, notes: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    fields = list(Row.__dataclass_fields__)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for r in rows:
        writer.writerow(
            [getattr(r, f) if not isinstance(getattr(r, f), float) else f"{getattr(r, f):.4f}" for f in fields]
        )
    write_bytes_atomic(out / "results.csv", buffer.getvalue().encode())
    lines = [
        "| task | dataset | setting | method | PSNR | SSIM | s/image | s/MP | peak RSS MB | images |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.task} | {r.dataset} | {r.setting} | {r.method} | {r.psnr:.2f} | {r.ssim:.4f} | "
            f"{r.seconds_per_image:.3f} | {r.seconds_per_megapixel:.3f} | {r.peak_rss_mb:.0f} | {r.images} |"
        )
    write_bytes_atomic(out / "results.md", ("\n".join(lines) + "\n" + notes).encode())
    _chart(rows, out / "results.png")


def _chart(rows: list[Row], path: Path) -> None:
    """PSNR bars per (dataset, setting) group, one colour per method, drawn with OpenCV."""
    groups = sorted({(r.task, r.dataset, r.setting) for r in rows}, key=str)
    methods = sorted({r.method for r in rows})
    colours = [
        tuple(
            int(c)
            for c in cv2.applyColorMap(np.uint8([[i * 255 // max(1, len(methods) - 1)]]), cv2.COLORMAP_VIRIDIS)[0, 0]
        )
        for i in range(len(methods))
    ]
    width, row_h = 900, 22 * len(methods) + 30
    img = np.full((row_h * len(groups) + 20, width, 3), 255, np.uint8)
    lo = min(r.psnr for r in rows) - 1
    hi = max(r.psnr for r in rows) + 0.5
    for gi, key in enumerate(groups):
        top = 10 + gi * row_h
        cv2.putText(img, " / ".join(key), (10, top + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        for mi, method in enumerate(methods):
            match = [r for r in rows if (r.task, r.dataset, r.setting) == key and r.method == method]
            if not match:
                continue
            y0 = top + 24 + mi * 22
            length = int((match[0].psnr - lo) / (hi - lo) * (width - 420))
            cv2.rectangle(img, (240, y0), (240 + max(1, length), y0 + 16), colours[mi], -1)
            cv2.putText(img, method[:28], (10, y0 + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
            cv2.putText(
                img,
                f"{match[0].psnr:.2f} dB",
                (248 + length, y0 + 13),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.42,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
    cv2.imwrite(str(path), img)


def pin_to_cpus(cpus: list[int]) -> None:
    """Run this thread, and every thread it starts from now on, on ``cpus`` only; torch gets one thread each.

    A thread count alone does not bind every method: BM3D (the ``bm3d`` package) runs two threads
    whatever ``OMP_NUM_THREADS`` says, so a one-thread comparison would give it twice the cores.
    """
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("--cpus needs Linux (os.sched_setaffinity)")
    allowed = os.sched_getaffinity(0)
    if not cpus or not set(cpus) <= allowed:
        raise ValueError(f"--cpus {','.join(map(str, cpus))}: choose from the allowed CPUs {sorted(allowed)}")
    os.sched_setaffinity(0, cpus)
    torch.set_num_threads(len(cpus))


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="restore bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="benchmark data root (default: the bundled examples)")
    parser.add_argument(
        "--peers", type=Path, help="folder of peer weights (DnCNN, FFDNet .npz; OpenCV FSRCNN/ESPCN .pb)"
    )
    parser.add_argument("--tasks", default="denoise,deblur,inpaint,upscale")
    parser.add_argument("--limit", type=int, help="at most this many images per set (quick runs)")
    parser.add_argument("--skip", default="", help="comma-separated method names to leave out (e.g. bm3d)")
    parser.add_argument("--sets", default="", help=f"comma-separated sets to run (default all: {', '.join(SET_NAMES)})")
    parser.add_argument(
        "--cpus",
        type=lambda text: [int(c) for c in text.split(",")],
        help="comma-separated CPU ids to run on, with one torch thread each (e.g. 0), so that every method, BM3D's "
        "own threads included, gets the same cores",
    )
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the re-measured rows of the table already in --out, keeping its other rows and notes",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    keep_freed_memory()
    if args.cpus is not None:
        try:
            pin_to_cpus(args.cpus)
        except ValueError as error:
            print(f"restore bench: error: {error}", file=sys.stderr)
            return 2
    for flag, folder in (("--data", args.data), ("--peers", args.peers)):
        if folder is not None and not folder.is_dir():
            print(f"restore bench: error: {flag} {folder}: not a folder", file=sys.stderr)
            return 2
    unknown = set(args.tasks.split(",")) - {"denoise", "deblur", "inpaint", "upscale"}
    if unknown:
        print(f"restore bench: error: unknown task(s) {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    only_sets = set(filter(None, args.sets.split(",")))
    unknown_sets = ", ".join(sorted(only_sets - set(SET_NAMES)))
    if unknown_sets:
        print(f"restore bench: error: unknown set(s) {unknown_sets}; known: {', '.join(SET_NAMES)}", file=sys.stderr)
        return 2

    def log(row: Row) -> None:
        print(
            f"{row.task:8s} {row.dataset:14s} {row.setting:10s} {row.method:28s} {row.psnr:6.2f} dB "
            f"{row.ssim:.4f}  {row.seconds_per_image:.3f} s/img",
            flush=True,
        )

    with torch.no_grad():
        skip = set(filter(None, args.skip.split(",")))
        rows = run_benchmark(args.data, args.peers, args.tasks.split(","), args.limit, skip, log, only_sets)
    if not rows:
        chosen = f"--tasks {args.tasks}" + (f" --sets {args.sets}" if args.sets else "")
        where = f"under {args.data}" if args.data else "in the bundled examples (--data names the standard sets)"
        print(f"restore bench: error: nothing to measure for {chosen} {where}", file=sys.stderr)
        return 2
    notes = "\n" + machine_note()
    if args.merge and (args.out / "results.csv").is_file():
        rows = merge_rows(read_rows(args.out / "results.csv"), rows)
        table = args.out / "results.md"
        table_and_notes = table.read_text().split("\n\n", 1) if table.is_file() else []
        notes = "\n" + table_and_notes[1] if len(table_and_notes) == 2 else notes
    write_outputs(rows, args.out, notes)
    print(f"wrote {args.out}/results.md, results.csv and results.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
