"""Peak memory of the tiled engine on an 8000x6000 RGB photograph (issue: about 2 GB at most).

Runs a small convolutional restorer through the whole pipeline (tiles of 512 px, float32 canvas,
quantisation back to 8 bits) and prints the process's peak resident memory above what it held
before, next to the size of the image itself.
"""

import resource
import time

import numpy as np
import torch
from torch import nn

from restore.engine import EngineSettings
from restore.io import Image
from restore.pipeline import restore_image
from restore.restorer import Degradation, Restorer


class SmallConv(Restorer):
    device_capable = True

    def __init__(self):
        self.net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1)).eval()

    def __call__(self, y, degradation):
        return y + 0.01 * self.net(y)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    torch.set_num_threads(2)
    pixels = np.random.default_rng(0).integers(0, 256, (6000, 8000, 3), dtype=np.uint8)
    base = peak_mb()
    t0 = time.perf_counter()
    out, _ = restore_image(Image(pixels), SmallConv(), Degradation(), EngineSettings(tile=512, batch_size=4))
    print(f"input {pixels.nbytes / 2**20:.0f} MiB, output {out.pixels.nbytes / 2**20:.0f} MiB (uint8)")
    print(f"peak RSS above baseline: {peak_mb() - base:.0f} MiB; {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
