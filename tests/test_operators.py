import pytest
import torch

from restore.kernels import fit_kernel, gaussian_kernel, motion_kernel
from restore.operators import Blur, Composition, Downsample, Identity, Mask, imresize_matrix, modcrop


def _operators():
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(1, 1, 48, 48, generator=g) > 0.3).double()
    per_image_psf = torch.stack([gaussian_kernel(1.0, size=9), fit_kernel(motion_kernel(7, 45), 9)])
    return {
        "identity": Identity(),
        "blur-circular": Blur(gaussian_kernel(1.5)),
        "blur-replicate": Blur(motion_kernel(11, 30), boundary="replicate"),
        "blur-reflect": Blur(gaussian_kernel(2.0, 1.0, angle=20), boundary="reflect"),
        "blur-per-image": Blur(per_image_psf, boundary="replicate"),
        "downsample-2": Downsample(2),
        "downsample-3": Downsample(3),
        "downsample-4": Downsample(4),
        "mask": Mask(mask),
        "blur-then-downsample": Downsample(2) @ Blur(gaussian_kernel(1.2), boundary="replicate"),
        "composition": Composition([Mask(mask), Blur(gaussian_kernel(1.0))]),
    }


@pytest.mark.parametrize("name", list(_operators()))
def test_adjointness(name):
    op = _operators()[name]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 48, 48, generator=g, dtype=torch.float64)
    y = torch.randn(op.A(x).shape, generator=g, dtype=torch.float64)
    lhs = (op.A(x) * y).sum()
    rhs = (x * op.A_adjoint(y)).sum()
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_mask_is_idempotent_and_keeps_known_pixels():
    mask = (torch.rand(1, 1, 16, 16) > 0.5).float()
    op = Mask(mask)
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(op.A(op.A(x)), op.A(x))
    assert torch.equal(op.A(x)[mask.expand_as(x) > 0], x[mask.expand_as(x) > 0])


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downsample_size_and_constants(factor):
    op = Downsample(factor)
    x = torch.full((1, 1, 12 * factor, 7 * factor), 0.25, dtype=torch.float64)
    y = op.A(x)
    assert y.shape[-2:] == (12, 7)
    assert torch.allclose(y, torch.full_like(y, 0.25))
    assert op.input_size((12, 7)) == (12 * factor, 7 * factor)


def test_imresize_matrix_is_the_matlab_kernel():
    # x2 bicubic antialiased: interior rows are the cubic (a=-0.5) at half rate, i.e. the
    # 8 taps MATLAB uses: [-0.0234, -0.0703, 0.2266, 0.8672, ...]/2 symmetric around 2i+0.5.
    m = imresize_matrix(32, 0.5)
    row = m[8, 12:22]
    expected = torch.tensor(
        [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875],
        dtype=torch.float64,
    )
    assert torch.allclose(row[1:9], expected, atol=1e-7)
    assert torch.allclose(m.sum(dim=1), torch.ones(16, dtype=torch.float64))


def test_downsample_rejects_non_multiple_sizes():
    with pytest.raises(ValueError, match="multiple"):
        Downsample(3).A(torch.zeros(1, 1, 10, 9))
    assert modcrop(torch.zeros(1, 1, 10, 11), 3).shape[-2:] == (9, 9)


def test_blur_rejects_psf_larger_than_image():
    with pytest.raises(ValueError, match="larger than the image"):
        Blur(gaussian_kernel(5.0)).A(torch.zeros(1, 1, 8, 8))


def test_circular_blur_of_a_delta_is_the_kernel():
    k = motion_kernel(9, 0)
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    x[..., 16, 16] = 1
    y = Blur(k).A(x)
    kh, kw = k.shape
    patch = y[0, 0, 16 - kh // 2 : 16 - kh // 2 + kh, 16 - kw // 2 : 16 - kw // 2 + kw]
    assert torch.allclose(patch, k, atol=1e-12)
