import kornia
import pytest
import torch

from restore.classical import NonLocalMeansRestorer, RichardsonLucyRestorer, WienerRestorer
from restore.kernels import gaussian_kernel, motion_kernel
from restore.masks import sample_mask
from restore.metrics import psnr
from restore.operators import Blur
from restore.restorer import Degradation
from restore.solvers import hqs_deconvolve, pull_push_fill, wiener_deconvolve, wiener_filter_fft

from .conftest import clean_example


def test_wiener_inverts_noise_free_circular_blur():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 40, 52, generator=g, dtype=torch.float64)
    psf = gaussian_kernel(0.8)  # transfer function stays well away from zero
    y = Blur(psf).A(x)
    x_hat = wiener_filter_fft(y, psf, 0.0)
    assert ((x_hat - x).norm() / x.norm()) < 1e-8


def test_wiener_with_a_prior_is_the_proximal_step_of_the_blur():
    # x = argmin ||k * x - y||^2 + nsr ||x - z||^2  <=>  A^T (A x - y) + nsr (x - z) = 0
    g = torch.Generator().manual_seed(1)
    y, z = torch.rand(2, 1, 2, 36, 44, generator=g, dtype=torch.float64)
    blur, nsr = Blur(motion_kernel(9, 30)), 0.05
    x = wiener_filter_fft(y, blur.psf, nsr, prior=z)
    assert (blur.A_adjoint(blur.A(x) - y) + nsr * (x - z)).abs().max() < 1e-10
    assert (x - wiener_filter_fft(y, blur.psf, nsr)).abs().max() > 1e-2


def test_hqs_calls_the_denoiser_at_falling_levels_and_returns_the_input_size():
    x, y, psf = _blurred_noisy("chelsea", sigma=0.02)
    levels = []

    def smooth(v, level):
        levels.append(float(level.max()))
        return kornia.filters.gaussian_blur2d(v, (5, 5), (0.7, 0.7), border_type="reflect")

    x_hat = hqs_deconvolve(y, psf, 0.02, smooth, iterations=5, first_level=0.2)
    assert x_hat.shape == y.shape
    assert levels[0] == pytest.approx(0.2) and levels[-1] == pytest.approx(0.02)
    assert all(a > b for a, b in zip(levels, levels[1:], strict=False))
    assert psnr(x_hat.clamp(0, 1), x) > psnr(wiener_deconvolve(y, psf, nsr=0.05).clamp(0, 1), x)


def _blurred_noisy(name="coffee", psf=None, sigma=0.01, seed=0):
    x = clean_example(name).double()
    psf = motion_kernel(11, 20) if psf is None else psf
    g = torch.Generator().manual_seed(seed)
    y = Blur(psf, boundary="replicate").A(x) + sigma * torch.randn(x.shape, generator=g, dtype=torch.float64)
    return x, y, psf


def test_wiener_improves_psnr_on_real_image_with_one_percent_noise():
    for name in ("coffee", "chelsea", "camera"):
        x, y, psf = _blurred_noisy(name)
        x_hat = wiener_deconvolve(y, psf, sigma=0.01).clamp(0, 1)
        assert psnr(x_hat, x) > psnr(y.clamp(0, 1), x) + 1.0, name


def test_classical_restorers_improve_psnr():
    x, y, psf = _blurred_noisy("chelsea", gaussian_kernel(1.6), sigma=0.01)
    deg = Degradation(sigma=0.01, psf=psf)
    before = psnr(y.float().clamp(0, 1), x.float())
    for restorer in (WienerRestorer(), RichardsonLucyRestorer(iterations=20)):
        assert psnr(restorer(y.float(), deg), x.float()) > before + 0.5, restorer.name
    g = torch.Generator().manual_seed(3)
    noisy = (x + 25 / 255 * torch.randn(x.shape, generator=g, dtype=torch.float64)).float()
    denoised = NonLocalMeansRestorer()(noisy, Degradation(sigma=25 / 255))
    assert psnr(denoised, x.float()) > psnr(noisy.clamp(0, 1), x.float()) + 4


def test_wiener_with_mirror_boundary_does_not_ring_at_the_frame():
    x, y, psf = _blurred_noisy("coffee", motion_kernel(15, 0), sigma=0.0)
    frame = torch.zeros_like(x, dtype=torch.bool)
    frame[..., :8, :] = frame[..., -8:, :] = frame[..., :, :8] = frame[..., :, -8:] = True
    mirror = wiener_deconvolve(y, psf, nsr=1e-3)
    circular = wiener_deconvolve(y, psf, nsr=1e-3, boundary="circular")
    err_mirror = (mirror - x)[frame].abs().mean()
    err_circular = (circular - x)[frame].abs().mean()
    assert err_mirror < 0.5 * err_circular


def test_pull_push_fill_keeps_known_pixels_and_reproduces_smooth_images():
    g = torch.Generator().manual_seed(0)
    mask = sample_mask(128, 100, kind="thick", generator=g).float()
    rows, cols = torch.meshgrid(torch.linspace(0, 1, 128), torch.linspace(0, 1, 100), indexing="ij")
    constant = torch.full((1, 3, 128, 100), 0.3)
    assert torch.allclose(pull_push_fill(constant, mask), constant, atol=1e-6)
    ramp = (0.2 + 0.5 * cols + 0.2 * rows).expand(1, 3, 128, 100)
    filled = pull_push_fill(ramp, mask)
    assert torch.equal(filled * mask, ramp * mask)
    hole = (1 - mask).bool().expand_as(ramp)
    mean_fill = (ramp * mask).sum() / (3 * mask.sum())
    assert (filled - ramp)[hole].abs().mean() < 0.6 * (mean_fill - ramp)[hole].abs().mean()
    assert torch.allclose(pull_push_fill(ramp, torch.zeros_like(mask)), torch.full_like(ramp, 0.5))
