import pytest
import torch

from restore.estimate import _gradient_energy, _noise_only_gradient_energy, _PrefixCovariance, estimate_sigma

from .conftest import clean_example


@pytest.mark.parametrize("sigma", [15, 25, 50])
@pytest.mark.parametrize("name", ["chelsea", "coffee", "astronaut", "rocket"])
def test_noise_level_within_ten_percent(name, sigma):
    x = clean_example(name).double()
    g = torch.Generator().manual_seed(sigma)
    y = x + sigma / 255 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    estimate = float(estimate_sigma(y)[0]) * 255
    assert abs(estimate - sigma) < 0.1 * sigma


def test_gray_and_batch():
    x = clean_example("camera").double().repeat(2, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    y = x + torch.tensor([10.0, 30.0], dtype=torch.float64).view(2, 1, 1, 1) / 255 * torch.randn(
        x.shape, generator=g, dtype=torch.float64
    )
    est = estimate_sigma(y) * 255
    assert est.shape == (2,) and abs(est[0] - 10) < 1.5 and abs(est[1] - 30) < 3


@pytest.mark.parametrize("name", ["chelsea", "coffee", "astronaut", "rocket", "camera"])
def test_low_gray_noise_is_read_on_weakly_textured_patches(name):
    # Texture leaks into the smallest eigenvalues of all patches and over-reads low noise;
    # refining on the patches that noise alone explains removes most of it.
    x = clean_example(name).double().mean(1, keepdim=True)
    g = torch.Generator().manual_seed(5)
    y = x + 5 / 255 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    refined = float(estimate_sigma(y)[0]) * 255
    all_patches = float(estimate_sigma(y, iterations=0)[0]) * 255
    assert abs(refined - 5) < 0.3
    assert all_patches > 6


@pytest.mark.parametrize("patch, channels", [(7, 1), (5, 3)])
def test_noise_only_threshold_is_the_99th_percentile_of_white_noise_gradient_energy(patch, channels):
    noise = torch.randn(channels, 400, 400, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    energy = _gradient_energy(noise, patch)[::patch, ::patch].flatten()  # disjoint windows
    below = float((energy < _noise_only_gradient_energy(patch, channels)).double().mean())
    assert abs(below - 0.99) < 0.004


def test_prefix_covariance_is_the_covariance_of_each_prefix():
    rows = torch.rand(1000, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 3
    covariance = _PrefixCovariance(rows, block=64)
    for n in (2, 63, 64, 65, 640, 999, 1000):
        assert torch.allclose(covariance(n), torch.cov(rows[:n].T, correction=0), atol=1e-12)
