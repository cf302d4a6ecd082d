import pytest
import torch

from restore.estimate import estimate_sigma

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
