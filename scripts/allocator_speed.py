"""Seconds per 512x512 gray image with and without :func:`restore.allocator.keep_freed_memory`.

The setting is process-wide, so each measurement runs in a fresh process; the two settings
alternate ``--rounds`` times, since this machine's speed drifts. Each process runs every method
once to warm up, then times ``--repeats`` passes through the engine (a motion blur of 15 px and
1% noise for the deblurring methods; the denoisers run blind). With ``--train CONFIG`` it times
200 training steps of that config (after 30 to warm up) instead, in steps per second.

Usage:
    python scripts/allocator_speed.py [--threads 2] [--rounds 2] [--repeats 4]
        [--methods restore-denoise restore-deblur-pnp restore-deblur-hqs] [--train CONFIG [--set KEY=VALUE ...]]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time


def time_methods(methods: list[str], threads: int, repeats: int) -> list[float]:
    import numpy as np
    import torch

    from restore.engine import EngineSettings, run_restorer
    from restore.kernels import motion_kernel
    from restore.methods import available_methods, load_method
    from restore.restorer import Degradation

    torch.set_num_threads(threads)
    x = np.random.default_rng(0).random((512, 512, 1)).astype(np.float32)
    seconds = []
    for name in methods:
        task = "denoise" if name in available_methods("denoise") else "deblur"
        restorer = load_method(task, name)
        degradation = Degradation(sigma=0.01, psf=motion_kernel(15, 30)) if task == "deblur" else Degradation()
        run_restorer(restorer, x, degradation, EngineSettings(tile=0))
        t0 = time.perf_counter()
        for _ in range(repeats):
            run_restorer(restorer, x, degradation, EngineSettings(tile=0))
        seconds.append((time.perf_counter() - t0) / repeats)
    return seconds


def time_training(config: str, overrides: list[str], out_dir: str) -> list[float]:
    from restore.train.config import load_config
    from restore.train.loop import Trainer

    never = ["run.val_every=1000000", "run.checkpoint_every=1000000", f"run.out_dir={out_dir}"]
    trainer = Trainer(load_config(config, [*overrides, *never]))
    trainer.fit(resume=False, progress=False, max_steps=30)
    t0 = time.perf_counter()
    trainer.fit(resume=False, progress=False, max_steps=230)
    return [200 / (time.perf_counter() - t0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--methods", nargs="+", default=["restore-denoise", "restore-deblur-pnp", "restore-deblur-hqs"])
    parser.add_argument("--train", metavar="CONFIG", help="time training steps of this config instead")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--child", choices=["default", "keep"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "keep":
            from restore.allocator import keep_freed_memory

            keep_freed_memory()
        if args.train:
            with tempfile.TemporaryDirectory() as out_dir:
                print(f"{time_training(args.train, args.overrides, out_dir)[0]:.2f}")
        else:
            print(" ".join(f"{s:.3f}" for s in time_methods(args.methods, args.threads, args.repeats)))
        return
    common = ["--threads", str(args.threads), "--repeats", str(args.repeats), "--methods", *args.methods]
    if args.train:
        common += ["--train", args.train, *(f"--set={o}" for o in args.overrides)]
        print(f"training steps per second, {args.train} {' '.join(args.overrides)}")
    else:
        print(f"seconds per 512x512 gray image, {args.threads} thread(s): " + ", ".join(args.methods))
    for _ in range(args.rounds):
        for mode in ("default", "keep"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, *common], capture_output=True, text=True)
            print(f"{mode:8s} {out.stdout.strip() or out.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
