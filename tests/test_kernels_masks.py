import numpy as np
import pytest
import torch

from restore.kernels import (
    disk_kernel,
    gaussian_kernel,
    load_kernel,
    motion_kernel,
    sample_blur_kernel,
    sample_camera_shake,
)
from restore.masks import load_mask, mask_from_array, mask_to_array, sample_mask


def _check_kernel(k):
    assert k.dim() == 2 and k.shape[0] % 2 == 1
    assert (k >= 0).all() and abs(float(k.sum()) - 1) < 1e-9


def test_parametric_kernels_are_normalised_and_centred():
    for k in (gaussian_kernel(2.0), gaussian_kernel(3, 1, angle=30), disk_kernel(4.5), motion_kernel(15, 30)):
        _check_kernel(k)
        r = torch.arange(k.shape[0], dtype=torch.float64) - k.shape[0] // 2
        assert abs(float((k.sum(1) * r).sum())) < 0.3 and abs(float((k.sum(0) * r).sum())) < 0.3


def test_motion_kernel_direction():
    c = 11
    assert float(motion_kernel(21, 0)[c - 1 : c + 2].sum()) > 0.95  # horizontal: mass in the middle rows
    assert float(motion_kernel(21, 90)[:, c - 1 : c + 2].sum()) > 0.95


def test_random_kernels_are_seeded():
    a = sample_camera_shake(31, torch.Generator().manual_seed(5))
    b = sample_camera_shake(31, torch.Generator().manual_seed(5))
    c = sample_camera_shake(31, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    for seed in range(12):
        k = sample_blur_kernel(25, torch.Generator().manual_seed(seed))
        _check_kernel(k)
        assert k.shape == (25, 25)


def test_load_kernel_formats_and_errors(tmp_path):
    k = motion_kernel(9, 45).numpy()
    np.save(tmp_path / "k.npy", k * 7)
    np.savetxt(tmp_path / "k.txt", k)
    import cv2

    cv2.imwrite(str(tmp_path / "k.png"), np.rint(k / k.max() * 255).astype(np.uint8))
    for name in ("k.npy", "k.txt", "k.png"):
        loaded = load_kernel(tmp_path / name)
        _check_kernel(loaded)
        assert np.abs(loaded.numpy() - k).max() < 0.01
    np.save(tmp_path / "neg.npy", -k)
    with pytest.raises(ValueError, match="neg.npy.*negative"):
        load_kernel(tmp_path / "neg.npy")
    np.save(tmp_path / "zero.npy", np.zeros((5, 5)))
    with pytest.raises(ValueError, match="zero.npy.*all zero"):
        load_kernel(tmp_path / "zero.npy")
    np.save(tmp_path / "big.npy", np.ones((300, 300)))
    with pytest.raises(ValueError, match="exceeds"):
        load_kernel(tmp_path / "big.npy")
    with pytest.raises(ValueError, match="nothere.png"):
        load_kernel(tmp_path / "nothere.png")


@pytest.mark.parametrize("kind", ["thin", "medium", "thick", "box", "mix"])
def test_masks_are_binary_seeded_and_partial(kind):
    m = sample_mask(256, 320, kind, torch.Generator().manual_seed(0))
    assert m.shape == (1, 1, 256, 320)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert 0.0 < 1 - float(m.mean()) <= 0.7
    assert torch.equal(m, sample_mask(256, 320, kind, torch.Generator().manual_seed(0)))


def test_thick_masks_are_larger_than_thin_ones():
    def hole(kind):
        return np.mean(
            [1 - float(sample_mask(256, 256, kind, torch.Generator().manual_seed(s)).mean()) for s in range(10)]
        )

    assert hole("thick") > hole("thin")


def test_mask_files_white_is_hole(tmp_path):
    import cv2

    for dtype, white in ((np.uint8, 255), (np.uint16, 65535)):
        a = np.zeros((8, 8), dtype)
        a[2:4, 2:4] = white
        cv2.imwrite(str(tmp_path / "m.png"), a)
        m = load_mask(tmp_path / "m.png")
        assert float(m.sum()) == 64 - 4 and m[0, 0, 2, 2] == 0
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[0, 0] = 255
    assert mask_from_array(rgb)[0, 0, 0, 0] == 0
    assert np.array_equal(mask_to_array(mask_from_array(a)) > 0, a > 0)
