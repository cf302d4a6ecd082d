"""Write a colour denoiser as a gray one that computes the same thing on gray images.

The start of ``restore-denoise-gray``'s training (its card's Reproduce section): the shipped
colour model already denoises gray photographs (it trains on some), so the gray model starts
from it at the colour model's size and specialises on gray images.

Usage:
    python scripts/gray_denoiser_from_colour.py [--colour restore-denoise-color] OUT.safetensors
"""

from __future__ import annotations

import argparse

from restore.models.denoiser import gray_from_colour_state
from restore.models.registry import build_model
from restore.train.loop import model_file

from restore.learned import load_model, save_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the gray model file to write (.safetensors)")
    parser.add_argument(
        "--colour", default="restore-denoise-color", help="a shipped colour denoiser's name or a model file"
    )
    args = parser.parse_args()
    source = model_file(args.colour)
    colour, meta = load_model(source)
    gray_args = {**meta["args"], "in_channels": 1}
    gray = build_model(meta["architecture"], **gray_args)
    gray.load_state_dict(gray_from_colour_state(colour.state_dict()), strict=True)
    extra = {**meta["extra"], "converted_from": str(source)}
    save_model(args.out, gray, architecture=meta["architecture"], args=gray_args, task="denoise", extra=extra)
    print(f"wrote {args.out}: gray {meta['architecture']} {gray_args} from {source}")


if __name__ == "__main__":
    main()
