import numpy as np
import pytest
import torch
from torch import nn

from restore.engine import EngineSettings, pad_to_multiple, run_restorer, tile_starts
from restore.restorer import Degradation, Restorer


class ConvRestorer(Restorer):
    """A fixed random 3-layer conv net: receptive field radius 3."""

    device_capable = True

    def __init__(self, scale: int = 1, multiple: int = 1):
        torch.manual_seed(0)
        self.scale = scale
        self.multiple = multiple
        self.task = "upscale" if scale > 1 else "denoise"
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 3 * scale * scale, 3, padding=1),
            nn.PixelShuffle(scale),
        )
        self.calls = []

    def context(self, degradation):
        return 3

    def __call__(self, y, degradation):
        self.calls.append(tuple(y.shape))
        assert y.shape[-2] % self.multiple == 0 and y.shape[-1] % self.multiple == 0
        out = torch.sigmoid(self.net(y))
        if degradation.mask is not None:
            out = out * degradation.mask
        return out


@pytest.mark.parametrize("scale", [1, 2])
def test_tiled_equals_untiled(scale):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (157, 203, 3), dtype=np.uint8)
    restorer = ConvRestorer(scale)
    deg = Degradation(scale=scale)
    whole = run_restorer(restorer, pixels, deg, EngineSettings(tile=0))
    tiled = run_restorer(restorer, pixels, deg, EngineSettings(tile=64, margin=4, blend=8, batch_size=3))
    assert whole.shape == (157 * scale, 203 * scale, 3)
    assert len(restorer.calls) > 2
    assert np.abs(whole - tiled).max() < 1e-4


def test_mask_is_tiled_with_the_image():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 65536, (101, 77, 3), dtype=np.uint16)
    mask = torch.from_numpy((rng.random((1, 1, 101, 77)) > 0.5).astype(np.float32))
    restorer = ConvRestorer()
    whole = run_restorer(restorer, pixels, Degradation(mask=mask), EngineSettings(tile=0))
    tiled = run_restorer(restorer, pixels, Degradation(mask=mask), EngineSettings(tile=48, margin=4, blend=8))
    assert np.abs(whole - tiled).max() < 1e-4
    assert (whole[mask[0, 0].numpy() == 0] == 0).all()


def test_padding_to_the_model_multiple_is_cropped_back():
    pixels = np.random.default_rng(2).integers(0, 256, (101, 77, 3), dtype=np.uint8)
    restorer = ConvRestorer(multiple=8)  # asserts that every call gets multiples of 8
    out = run_restorer(restorer, pixels, Degradation(), EngineSettings(tile=0))
    assert out.shape == (101, 77, 3) and restorer.calls == [(1, 3, 104, 80)]


def test_tile_starts_cover_the_axis():
    for length, tile, overlap in [(100, 40, 10), (64, 64, 8), (65, 64, 8), (1000, 256, 48)]:
        starts = tile_starts(length, tile, overlap)
        covered = np.zeros(length, bool)
        for s in starts:
            covered[s : s + tile] = True
        assert covered.all() and starts[-1] + min(tile, length) == length


def test_mask_size_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="mask size"):
        run_restorer(ConvRestorer(), np.zeros((10, 10, 3), np.uint8), Degradation(mask=torch.ones(1, 1, 9, 10)))


@pytest.mark.parametrize(
    ("size", "multiple", "minimum", "padded"), [(5, 8, 0, 8), (5, 8, 16, 16), (5, 4, 10, 12), (17, 8, 16, 24)]
)
def test_padding_reaches_the_next_multiple_at_or_above_the_minimum(size, multiple, minimum, padded):
    x = torch.rand(1, 1, size, size + 1)
    out = pad_to_multiple(x, multiple, minimum)
    assert out.shape[-2] == padded and out.shape[-1] % multiple == 0 and out.shape[-1] >= max(size + 1, minimum)
    assert torch.equal(out[..., :size, : size + 1], x)
