"""How many times faster than BM3D a denoiser is, timed image by image in alternation.

``restore bench`` times each method over a whole set, one after the other, so a drift in this
machine's speed between two methods' turns moves their ratio (BM3D took 19-34 s per megapixel in
different runs). Here each image is denoised by BM3D (given the true sigma, as published) and then
by ``--method`` (blind, as the benchmark runs the shipped denoisers), on the benchmark's seeded
inputs, after one untimed pass of each; the ratio of summed times is printed per sigma with the
range of the per-image ratios. The process is pinned to ``--cpus`` (one core by default), since BM3D
runs two threads whatever ``OMP_NUM_THREADS`` says.

Usage:
    python scripts/bm3d_speed_ratio.py --data ../shared/benchdata [--set Set12] [--sigmas 15 25 50]
        [--method restore-denoise] [--cpus 0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from restore.allocator import keep_freed_memory
from restore.bench import Case, denoise_cases, machine_note, pin_to_cpus, restore_case
from restore.methods import load_method
from restore.restorer import Restorer


def seconds(restorer: Restorer, case: Case, blind: bool) -> float:
    t0 = time.perf_counter()
    restore_case(restorer, case, blind)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="benchmark data root (default: the bundled examples)")
    parser.add_argument("--set", default="Set12", help="Set12 or BSD68 (gray)")
    parser.add_argument("--sigmas", type=int, nargs="+", default=[15, 25, 50])
    parser.add_argument("--method", default="restore-denoise")
    parser.add_argument("--cpus", default="0", help="comma-separated CPU ids to run on (BM3D's own threads included)")
    args = parser.parse_args()
    keep_freed_memory()
    pin_to_cpus([int(c) for c in args.cpus.split(",")])
    bm3d, ours = load_method("denoise", "bm3d"), load_method("denoise", args.method)
    print(f"BM3D (true sigma) against {args.method} (blind), on CPU(s) {args.cpus}, image by image")
    print(machine_note(), end="")
    for sigma in args.sigmas:
        sets = denoise_cases(args.data, sigma, gray=True, limit=None)
        cases = sets.get(args.set) or next(iter(sets.values()))
        seconds(bm3d, cases[0], blind=False)
        seconds(ours, cases[0], blind=True)
        times = np.array([(seconds(bm3d, case, False), seconds(ours, case, True)) for case in cases])
        ratios = times[:, 0] / times[:, 1]
        megapixels = sum(case.x.shape[-1] * case.x.shape[-2] for case in cases) / 1e6
        print(
            f"sigma {sigma}: BM3D {times[:, 0].sum() / megapixels:.1f} s/MP, {args.method} "
            f"{times[:, 1].sum() / megapixels:.2f} s/MP: {times[:, 0].sum() / times[:, 1].sum():.1f}x "
            f"(per image {ratios.min():.1f}-{ratios.max():.1f}x, {len(cases)} images)"
        )


if __name__ == "__main__":
    main()
