"""Regenerate the bundled example images in restore/examples from scikit-image's CC0 /
public-domain sample photographs (needs scikit-image). Seeded: the output is reproducible."""

from pathlib import Path

import numpy as np
import skimage.data as data
import torch

from restore.io import Image, array_to_tensor, write_image
from restore.kernels import motion_kernel
from restore.masks import mask_to_array, sample_mask
from restore.noise import GaussianNoise
from restore.operators import Blur, Downsample

ROOT = Path(__file__).resolve().parents[1] / "restore" / "examples"


def save(path: Path, x: torch.Tensor) -> None:
    write_image(path, Image(np.rint(x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)))


def main() -> None:
    g = torch.Generator().manual_seed(2026)
    clean = {
        "camera": data.camera()[96:352, 128:384],  # gray, CC0 (Lav Varshney)
        "chelsea": data.chelsea()[20:276, 60:316],  # CC0 (Stefan van der Walt)
        "coffee": data.coffee()[40:296, 150:406],  # CC0 (Rachel Michetti)
        "astronaut": data.astronaut()[0:256, 128:384],  # public domain (NASA)
        "rocket": data.rocket()[100:292, 200:392],  # public domain (SpaceX)
    }
    x = {name: array_to_tensor(a).double() for name, a in clean.items()}
    for name, t in x.items():
        save(ROOT / "clean" / f"{name}.png", t)
    for name in ("camera", "chelsea"):
        save(ROOT / "denoise" / f"{name}.png", GaussianNoise(25 / 255).sample(x[name], g))
    psf = motion_kernel(15, 30)
    (ROOT / "kernels").mkdir(parents=True, exist_ok=True)
    np.save(ROOT / "kernels" / "coffee.npy", psf.numpy())
    save(ROOT / "deblur" / "coffee.png", GaussianNoise(0.01).sample(Blur(psf, "replicate").A(x["coffee"]), g))
    mask = sample_mask(256, 256, "thick", g)
    write_image(ROOT / "masks" / "astronaut.png", Image(mask_to_array(mask)[..., None]))
    save(ROOT / "inpaint" / "astronaut.png", x["astronaut"] * mask + (1 - mask))
    save(ROOT / "upscale" / "rocket.png", Downsample(4).A(x["rocket"]))


if __name__ == "__main__":
    main()
