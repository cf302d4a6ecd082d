"""Plug-and-play deblurring on held-out training images: the grid behind ``restore-deblur-pnp``'s settings.

Takes the images that training holds out for validation (never the benchmark sets), 160 px crops,
blurs each with 3 camera-shake kernels from :func:`restore.kernels.sample_camera_shake` (seeded)
plus Gaussian noise, and prints mean PSNR for the Wiener filter, the Wiener network
(``restore-deblur``) and :class:`restore.classical.PlugAndPlayRestorer` around ``restore-denoise``
for each setting of the grid.

With ``--data`` naming several folders, the held-out images are those a training config over
the same folders holds out (``data.val_holdout: 8``); ``--gray`` converts them to luma, and
``--models`` scores further deblurring models (shipped names or exported ``.safetensors``).

Usage:
    python scripts/tune_pnp.py [--data ../shared/traindata/Train400] [--noise 2.55] [--images 4]
        [--iterations 3 4 6] [--first 10 15 20] [--weight 0.23 0.4] [--ensemble 1]
        [--gray] [--models runs/restore-deblur-hqs.safetensors] [--models-ensemble 8]
"""

from __future__ import annotations

import argparse
import itertools

import kornia
import torch
from restore.train.data import list_images, split_holdout

from restore.classical import PlugAndPlayRestorer, WienerRestorer
from restore.ensemble import SelfEnsemble
from restore.io import array_to_tensor, read_image
from restore.kernels import sample_camera_shake
from restore.methods import load_method
from restore.metrics import psnr
from restore.operators import Blur
from restore.pretrained import load_pretrained_restorer
from restore.restorer import Degradation, Restorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=["../shared/traindata/Train400"])
    parser.add_argument("--noise", type=float, default=2.55, help="noise sigma on the 0-255 scale")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--iterations", type=int, nargs="+", default=[4])
    parser.add_argument("--first", type=float, nargs="+", default=[10.0], help="first denoiser level, 0-255")
    parser.add_argument("--weight", type=float, nargs="+", default=[0.23])
    parser.add_argument("--ensemble", type=int, default=1, help="geometric self-ensemble of the denoiser, 1-8")
    parser.add_argument("--gray", action="store_true", help="convert the held-out images to gray")
    parser.add_argument("--models", nargs="*", default=[], help="more deblurring models to score")
    parser.add_argument("--models-ensemble", type=int, default=1, help="self-ensemble of those models, 1-8")
    args = parser.parse_args()

    _, held_out = split_holdout(list_images(args.data), 8)
    g = torch.Generator().manual_seed(123)
    kernels = [(k / k.sum()).double() for k in (sample_camera_shake(25, g) for _ in range(3))]
    sigma = args.noise / 255
    cases = []
    for path in held_out[: args.images]:
        x = array_to_tensor(read_image(path).pixels).double()[..., :160, :160]
        if args.gray and x.shape[1] == 3:
            x = kornia.color.rgb_to_grayscale(x)
        for i, k in enumerate(kernels):
            noise = sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(i), dtype=torch.float64)
            y = (Blur(k, boundary="replicate").A(x) + noise).float()
            cases.append((x.float(), y, Degradation(sigma=sigma, psf=k.float())))

    def score(restorer: Restorer) -> float:
        with torch.inference_mode():
            return sum(float(psnr(restorer(y, d).clamp(0, 1), x)[0]) for x, y, d in cases) / len(cases)

    print(f"{len(cases)} cases from {args.data}, noise {args.noise}/255")
    network = load_pretrained_restorer("restore-deblur")
    print(f"wiener {score(WienerRestorer()):.2f} dB, restore-deblur {score(network):.2f} dB", flush=True)
    for name in args.models:
        print(f"{name} {score(SelfEnsemble(load_method('deblur', name), args.models_ensemble)):.2f} dB", flush=True)
    denoiser = SelfEnsemble(load_pretrained_restorer("restore-denoise"), args.ensemble)
    for iterations, first, weight in itertools.product(args.iterations, args.first, args.weight):
        pnp = PlugAndPlayRestorer(denoiser, iterations=iterations, first_level=first / 255, weight=weight)
        print(f"pnp iterations {iterations}, first level {first:g}, weight {weight:g}: {score(pnp):.2f} dB", flush=True)


if __name__ == "__main__":
    main()
