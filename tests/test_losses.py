"""Losses: values at known points, zero at equality, unbiasedness of the self-supervised losses."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import pywt
import torch
import torch.nn.functional as F

from restore.kernels import gaussian_kernel
from restore.learned import recorrupted_average
from restore.losses import (
    LPIPSLoss,
    PatchDiscriminator,
    VGGPerceptualLoss,
    charbonnier_loss,
    combine_losses,
    consistency_loss,
    discriminator_adversarial_loss,
    dwt2,
    feature_matching_loss,
    fft_loss,
    find_vgg19_weights,
    focal_frequency_loss,
    generator_adversarial_loss,
    gr2r_loss,
    gr2r_offset,
    gr2r_pair,
    idwt2,
    l1_loss,
    ms_ssim_loss,
    mse_loss,
    psnr_loss,
    r1_penalty,
    r2r_loss,
    r2r_offset,
    recorrupted_noise_level,
    ssim_loss,
    wavelet_loss,
)
from restore.losses.perceptual import VGG19_LAYERS, VGG19Features
from restore.metrics import psnr
from restore.noise import GammaNoise, GaussianNoise, PoissonGaussianNoise, PoissonNoise
from restore.operators import Blur, Downsample, Mask


@pytest.fixture(autouse=True)
def _few_threads():
    """Overrides the conftest's: one thread, since on this busy 2-core machine OpenMP barrier
    waits make two threads up to 20x slower on these small inputs."""
    torch.set_num_threads(1)


def _pair(shape=(2, 3, 32, 48), seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=dtype)
    return x + 0.1 * torch.randn(shape, generator=g, dtype=dtype), x


# --- pixel and structural ------------------------------------------------------------------------


def test_pixel_losses_values():
    x_hat, x = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    assert l1_loss(x_hat, x).item() == pytest.approx(0.5)
    assert mse_loss(x_hat, x).item() == pytest.approx(0.25)
    assert charbonnier_loss(x_hat, x, eps=1e-3).item() == pytest.approx(math.sqrt(0.25 + 1e-6))
    assert charbonnier_loss(x, x, eps=1e-3).item() == pytest.approx(1e-3)
    assert l1_loss(x_hat, x, reduction="sum").item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="same shape"):
        l1_loss(torch.zeros(2), torch.zeros(3))


def test_psnr_loss_is_minus_the_mean_psnr_and_weighs_every_image_equally_in_db():
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    error = 0.01 * torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    x_hat = (x + torch.cat([error, 10 * error])).requires_grad_()
    loss = psnr_loss(x_hat, x, eps=0)
    assert loss.item() == pytest.approx(-psnr(x_hat.detach(), x).mean().item(), rel=1e-5)
    loss.backward()
    # the image with 10x the error gets 1/10 of the gradient, where mse_loss would give it 10x
    norms = x_hat.grad.flatten(1).norm(dim=1)
    assert (norms[1] / norms[0]).item() == pytest.approx(0.1, rel=1e-4)


@pytest.mark.parametrize("loss", [ssim_loss, ms_ssim_loss])
def test_structural_losses_zero_at_equality_and_grow_with_noise(loss):
    x_hat, x = _pair((1, 3, 48, 48))
    x = x.clamp(0, 1)
    small = loss((x + 0.02 * torch.randn_like(x)), x)
    large = loss((x + 0.2 * torch.randn_like(x)), x)
    assert loss(x, x).abs().item() < 1e-6
    assert 0 < small < large


def test_ms_ssim_l1_mix_adds_the_l1_term():
    x_hat, x = _pair((1, 1, 48, 48))
    pure = ms_ssim_loss(x_hat, x)
    mixed = ms_ssim_loss(x_hat, x, l1_weight=0.16)
    assert not torch.isclose(pure, mixed)


# --- perceptual --------------------------------------------------------------------------------


def test_vgg_loss_with_random_weights_runs_and_is_zero_at_equality():
    loss = VGGPerceptualLoss(weights=None, layers=(("relu1_2", 1.0), ("relu2_2", 0.5)))
    x_hat, x = _pair((1, 3, 32, 32))
    x_hat.requires_grad_(True)
    value = loss(x_hat, x)
    value.backward()
    assert value > 0 and x_hat.grad.abs().sum() > 0
    assert loss(x, x).item() == 0.0
    assert all(not p.requires_grad for p in loss.parameters())
    assert loss(x[:, :1], x[:, :1]).item() == 0.0  # gray images are repeated to three channels


def test_vgg_layer_indices_match_torchvision():
    # torchvision vgg19().features: conv layers at these indices, pools at 4, 9, 18, 27, 36
    conv = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    assert [
        VGG19_LAYERS[f"conv{b}_{i}"] for b, n in zip(range(1, 6), (2, 2, 4, 4, 4), strict=True) for i in range(1, n + 1)
    ] == conv
    assert [VGG19_LAYERS[f"pool{b}"] for b in range(1, 6)] == [4, 9, 18, 27, 36]
    assert VGG19_LAYERS["relu5_4"] == 35


def test_vgg_loads_a_torchvision_state_dict(tmp_path, monkeypatch):
    # a torchvision vgg19 state dict: features.N for the 16 convs, plus a classifier that is ignored
    widths = [3, 64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512]
    conv = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    g = torch.Generator().manual_seed(0)
    state = {}
    for index, cin, cout in zip(conv[:5], widths[:5], widths[1:6], strict=True):
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=g)
        state[f"features.{index}.bias"] = torch.randn(cout, generator=g)
    state["classifier.0.weight"] = torch.randn(4, 4)
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(state, path)
    monkeypatch.setenv("RESTORE_VGG19_WEIGHTS", str(path))
    loss = VGGPerceptualLoss(layers=(("relu3_1", 1.0),))  # needs features.0 ... features.10
    assert torch.equal(loss.vgg.features[10].weight, state["features.10.weight"])
    with pytest.raises(KeyError, match="features.12"):
        VGG19Features(last=13).load_torchvision(state)


def test_vgg_missing_weights_error_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("RESTORE_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(FileNotFoundError) as info:
        VGGPerceptualLoss()
    message = str(info.value)
    assert str(tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth") in message
    assert "RESTORE_VGG19_WEIGHTS" in message and "weights=None" in message
    monkeypatch.setenv("RESTORE_VGG19_WEIGHTS", str(tmp_path / "nowhere.pth"))
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        find_vgg19_weights()


def test_lpips_without_the_package_raises_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "lpips", None)  # makes `import lpips` fail
    with pytest.raises(ImportError, match=r"restore\[metrics\]"):
        LPIPSLoss()


# --- frequency ---------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [fft_loss, focal_frequency_loss])
def test_frequency_losses_zero_at_equality_positive_otherwise(loss):
    x_hat, x = _pair()
    x_hat.requires_grad_(True)
    assert loss(x, x).item() == 0.0
    value = loss(x_hat, x)
    assert value > 0
    value.backward()
    assert torch.isfinite(x_hat.grad).all() and x_hat.grad.abs().sum() > 0


def test_fft_loss_separates_amplitude_and_phase():
    _, x = _pair((1, 1, 32, 32))
    shifted = torch.roll(x, shifts=(3, 5), dims=(-2, -1))  # same amplitude spectrum, new phase
    assert fft_loss(shifted, x, phase_weight=0.0).item() < 1e-6
    assert fft_loss(shifted, x, amplitude_weight=0.0).item() > 0.1
    scaled = 0.5 * x  # same phase, half the amplitude
    assert fft_loss(scaled, x, amplitude_weight=0.0).item() < 1e-5
    assert fft_loss(scaled, x, phase_weight=0.0).item() > 0.01


def test_fft_loss_gradient_is_finite_where_spectra_vanish():
    x = torch.full((1, 1, 8, 8), 0.5)  # a constant: every non-DC coefficient is exactly zero
    x_hat = x.clone().requires_grad_(True)
    fft_loss(x_hat, x).backward()
    assert torch.isfinite(x_hat.grad).all()


def test_focal_frequency_weights_the_worst_frequencies():
    # an error concentrated at one frequency costs more, per unit energy, than spread-out noise
    _, x = _pair((1, 1, 32, 32))
    n = torch.arange(32, dtype=torch.float32)
    wave = torch.cos(2 * math.pi * 5 * n / 32)[None, :] * torch.ones(32, 1)
    noise = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    wave = wave * 0.1 / wave.pow(2).mean().sqrt()
    noise = noise * 0.1 / noise.pow(2).mean().sqrt()
    # without the focal weight (alpha = 0) both cost the same, by Parseval
    flat_wave = focal_frequency_loss(x + wave, x, alpha=0.0)
    assert flat_wave.item() == pytest.approx(focal_frequency_loss(x + noise, x, alpha=0.0).item(), rel=1e-4)
    assert flat_wave.item() == pytest.approx(mse_loss(x + wave, x).item(), rel=1e-4)
    assert focal_frequency_loss(x + wave, x) > 1.5 * focal_frequency_loss(x + noise, x)


# --- wavelet -----------------------------------------------------------------------------------


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
def test_wavelet_transform_is_perfectly_invertible_and_orthogonal(wavelet):
    x = torch.rand(2, 3, 32, 48)
    ll, details = dwt2(x, wavelet=wavelet, levels=3)
    assert (idwt2(ll, details, wavelet=wavelet) - x).abs().max() < 1e-5
    energy = ll.pow(2).sum() + sum(d.pow(2).sum() for d in details)
    assert energy.item() == pytest.approx(x.pow(2).sum().item(), rel=1e-5)  # Parseval


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
def test_wavelet_coefficients_match_pywavelets(wavelet):
    x = torch.rand(1, 2, 32, 48, dtype=torch.float64)
    ll, details = dwt2(x, wavelet=wavelet, levels=2)
    reference = pywt.wavedec2(x.numpy(), wavelet, mode="periodization", level=2, axes=(-2, -1))
    np.testing.assert_allclose(ll.numpy(), reference[0], atol=1e-12)
    for level, (ch, cv, cd) in zip((1, 0), reference[1:], strict=True):
        np.testing.assert_allclose(details[level].numpy(), np.stack([ch, cv, cd], axis=2), atol=1e-12)


def test_wavelet_transform_gradcheck():
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dwt2(t, wavelet="db2", levels=2)[1][1], (x,))


@pytest.mark.parametrize("wavelet", ["haar", "db4"])
def test_wavelet_loss_zero_at_equality_positive_otherwise(wavelet):
    x_hat, x = _pair((1, 3, 37, 53))  # odd sizes are padded inside
    assert wavelet_loss(x, x, wavelet=wavelet).item() == 0.0
    assert wavelet_loss(x_hat, x, wavelet=wavelet) > 0


def test_wavelet_loss_band_weights_select_bands():
    _, x = _pair((1, 1, 32, 32))
    offset = x + 0.1  # a constant shift lives only in the approximation band
    only_details = wavelet_loss(offset, x, levels=2, detail_weights=(1.0, 1.0), approximation_weight=0.0)
    only_approx = wavelet_loss(offset, x, levels=2, detail_weights=(0.0, 0.0), approximation_weight=1.0)
    assert only_details.item() < 1e-6
    assert only_approx.item() == pytest.approx(0.1 * 4, rel=1e-4)  # orthonormal Haar LL gains 2 per level
    with pytest.raises(ValueError, match="detail weights"):
        wavelet_loss(x, x, levels=2, detail_weights=(1.0,))


def test_nonorthogonal_wavelet_is_rejected():
    with pytest.raises(ValueError, match="orthogonal"):
        dwt2(torch.rand(1, 1, 8, 8), wavelet="bior2.2")


# --- self-supervised ---------------------------------------------------------------------------


def _clean(seed: int, n: int = 8) -> torch.Tensor:
    """A smooth float64 image in [0.2, 0.8]: 8 x 512 x 512 = 2M pixels for tight Monte-Carlo averages."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 64, 64, generator=g, dtype=torch.float64)
    return 0.2 + 0.6 * F.interpolate(coarse, size=(512, 512), mode="bilinear", align_corners=False)


def _fixed_model(t: torch.Tensor) -> torch.Tensor:
    """A fixed, nonlinear denoiser whose error is comparable to the loss offsets."""
    return 0.5 * t + 0.5 * F.avg_pool2d(torch.tanh(t), 3, 1, 1, count_include_pad=False)


def test_r2r_minus_offset_matches_supervised_mse():
    sigma, alpha = 0.1, 1.0
    x = _clean(0)
    y = GaussianNoise(sigma).sample(x, torch.Generator().manual_seed(1))
    loss = r2r_loss(_fixed_model, y, GaussianNoise(sigma), alpha=alpha, generator=torch.Generator().manual_seed(2))
    same = r2r_loss(_fixed_model, y, sigma, alpha=alpha, generator=torch.Generator().manual_seed(2))
    assert loss.item() == same.item()  # a noise model or its sigma
    # the supervised MSE of the same model on the same recorrupted input
    z = torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=y.dtype)
    supervised = (_fixed_model(y + alpha * sigma * z) - x).pow(2).mean()
    offset = r2r_offset(sigma, alpha)
    assert offset.item() == pytest.approx(sigma**2 * (1 + 1 / alpha**2))
    assert (loss - offset).item() == pytest.approx(supervised.item(), rel=0.02)
    # the test has power: a Noise2Noise-style target with dependent noise is off by far more
    naive = (_fixed_model(y + alpha * sigma * z) - y).pow(2).mean()
    assert abs((naive - offset) / supervised - 1) > 0.2


def test_r2r_inference_pairs_its_draws_antithetically():
    # R2R inference averages f(y + alpha sigma z_t); with the draws in pairs z, -z the average of an
    # affine f is f(y) exactly, where independent draws leave a random error.
    y = _clean(0, n=1)[..., :64, :64].float() + 0.1 * torch.randn(
        1, 1, 64, 64, generator=torch.Generator().manual_seed(3)
    )
    sigma = torch.tensor([0.1])
    conv = torch.nn.Conv2d(1, 1, 3, padding=1).requires_grad_(False)

    def affine(t, level):
        return conv(t)

    paired = recorrupted_average(affine, y, sigma, alpha=0.5, draws=2)
    assert (paired - conv(y)).abs().max() < 1e-5
    single = recorrupted_average(affine, y, sigma, alpha=0.5, draws=1)
    assert (single - conv(y)).abs().max() > 1e-2
    # a nonlinear f still sees recorrupted inputs and the level sigma sqrt(1 + alpha^2)
    seen = []

    def nonlinear(t, level):
        seen.append(float(level))
        return _fixed_model(t)

    out = recorrupted_average(nonlinear, y, sigma, alpha=0.5, draws=4)
    assert seen == pytest.approx([0.1 * 1.25**0.5] * 4)
    assert (out - _fixed_model(y)).abs().mean() > 1e-4


def test_r2r_in_measurement_space_with_an_operator():
    sigma = 0.05
    blur = Blur(gaussian_kernel(1.0))
    x = _clean(3)
    y = GaussianNoise(sigma).sample(blur.A(x), torch.Generator().manual_seed(4))

    def model(t: torch.Tensor) -> torch.Tensor:
        return 0.7 * t + 0.15  # a biased "restorer", so the supervised error is not negligible

    loss = r2r_loss(model, y, sigma, alpha=1.0, generator=torch.Generator().manual_seed(5), operator=blur)
    z = torch.randn(y.shape, generator=torch.Generator().manual_seed(5), dtype=y.dtype)
    supervised = (blur.A(model(y + sigma * z)) - blur.A(x)).pow(2).mean()
    assert (loss - r2r_offset(sigma, 1.0)).item() == pytest.approx(supervised.item(), rel=0.02)


@pytest.mark.parametrize(
    "noise_model", [GaussianNoise(0.1), PoissonNoise(0.01), GammaNoise(20.0)], ids=["gaussian", "poisson", "gamma"]
)
def test_gr2r_minus_offset_matches_supervised_mse(noise_model):
    alpha = 0.5
    x = _clean(5, n=4)
    y = noise_model.sample(x, torch.Generator().manual_seed(6))
    y1, y2 = gr2r_pair(y, noise_model, alpha=alpha, generator=torch.Generator().manual_seed(7))
    loss = gr2r_loss(_fixed_model, y, noise_model, alpha=alpha, generator=torch.Generator().manual_seed(7))
    assert loss.item() == pytest.approx((_fixed_model(y1) - y2).pow(2).mean().item(), rel=1e-12)
    supervised = (_fixed_model(y1) - x).pow(2).mean()
    offset = gr2r_offset(y, noise_model, alpha=alpha)
    assert (loss - offset).item() == pytest.approx(supervised.item(), rel=0.03)


@pytest.mark.parametrize(
    "noise_model", [GaussianNoise(0.1), PoissonNoise(0.02), GammaNoise(10.0)], ids=["gaussian", "poisson", "gamma"]
)
def test_gr2r_pair_statistics(noise_model):
    # both halves are unbiased and their noises uncorrelated; y_1 has the documented noise level
    alpha = 0.3
    x = torch.full((4, 1, 256, 256), 0.5, dtype=torch.float64)
    y = noise_model.sample(x, torch.Generator().manual_seed(0))
    y1, y2 = gr2r_pair(y, noise_model, alpha=alpha, generator=torch.Generator().manual_seed(1))
    e1, e2 = y1 - x, y2 - x
    assert abs(e1.mean().item()) < 3e-3 and abs(e2.mean().item()) < 5e-3
    correlation = (e1 * e2).mean() / (e1.pow(2).mean() * e2.pow(2).mean()).sqrt()
    assert abs(correlation.item()) < 0.01
    # Var(y_1) equals the variance of fresh noise from the recorrupted noise model
    reference = recorrupted_noise_level(noise_model, alpha=alpha).sample(x, torch.Generator().manual_seed(2))
    assert e1.var().item() == pytest.approx((reference - x).var().item(), rel=0.03)


def test_gr2r_rejects_unsupported_noise_and_alpha():
    y = torch.rand(1, 1, 8, 8)
    with pytest.raises(TypeError, match="PoissonGaussianNoise"):
        gr2r_pair(y, PoissonGaussianNoise(0.01, 0.01), alpha=0.5)
    with pytest.raises(ValueError, match="alpha"):
        gr2r_pair(y, GaussianNoise(0.1), alpha=1.0)


# --- adversarial -------------------------------------------------------------------------------


def test_patch_discriminator_shapes():
    d = PatchDiscriminator(n_layers=3, base_channels=16)
    logits, features = d(torch.rand(2, 3, 64, 96))
    assert logits.shape == (2, 1, 6, 10)
    assert [f.shape[1] for f in features] == [16, 32, 64, 128]


def test_non_saturating_losses_values():
    zeros = torch.zeros(2, 1, 4, 4)
    assert generator_adversarial_loss(zeros).item() == pytest.approx(math.log(2))
    assert discriminator_adversarial_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    confident = torch.full((2, 1, 4, 4), 20.0)
    assert discriminator_adversarial_loss(confident, -confident).item() < 1e-8
    # with an all-known mask the fake image counts as real: the fake term flips sign
    mask = torch.ones(2, 1, 32, 32)
    assert discriminator_adversarial_loss(confident, confident, mask=mask).item() < 1e-8


def test_r1_penalty_of_a_linear_discriminator_is_its_weight_norm():
    w = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    real = torch.rand(4, 3, 8, 8, dtype=torch.float64).requires_grad_(True)
    logits = (real * w).sum(dim=(1, 2, 3))
    assert r1_penalty(logits, real).item() == pytest.approx(w.pow(2).sum().item())
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(logits, real.detach())


def test_r1_penalty_trains_the_discriminator():
    d = PatchDiscriminator(n_layers=2, base_channels=8, norm="none")
    real = torch.rand(2, 3, 32, 32).requires_grad_(True)
    logits, _ = d(real)
    r1_penalty(logits, real).backward()
    # the input gradient depends on every weight (biases only shift the piecewise-linear regions)
    weights = [p for name, p in d.named_parameters() if name.endswith("weight")]
    assert weights and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_feature_matching_pulls_only_the_fake_features():
    real = [torch.rand(1, 4, 8, 8, requires_grad=True) for _ in range(2)]
    fake = [r.detach() + 0.5 for r in real]
    for f in fake:
        f.requires_grad_(True)
    loss = feature_matching_loss(fake, real)
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert all(r.grad is None for r in real) and all(f.grad is not None for f in fake)
    assert feature_matching_loss(real, real).item() == 0.0


# --- consistency and combination ---------------------------------------------------------------


def test_forward_consistency_is_zero_for_the_truth_and_blind_to_the_null_space():
    x = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    mask = (torch.rand(1, 1, 32, 32) > 0.5).double()
    for operator in (Blur(gaussian_kernel(1.0)), Downsample(2), Mask(mask)):
        y = operator.A(x)
        assert consistency_loss(x, y, operator).item() < 1e-20
        assert consistency_loss(x + 0.1, y, operator) > 0
    # changes in the holes are invisible to a mask
    assert consistency_loss(x + (1 - mask), Mask(mask).A(x), Mask(mask)).item() == 0.0
    assert consistency_loss(x + 0.1, x, Mask(torch.ones_like(mask)), distance="l1").item() == pytest.approx(0.1)


def test_combine_reports_each_term_and_sums_with_weights():
    a = torch.tensor(0.5, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    evaluated = []

    def expensive() -> torch.Tensor:
        evaluated.append(True)
        return torch.tensor(100.0)

    total, report = combine_losses(
        {"l1": a, "perceptual": b * 1.0, "gan": expensive}, {"l1": 1.0, "perceptual": 0.1, "gan": 0.0}
    )
    assert total.item() == pytest.approx(0.5 + 0.2)
    assert set(report) == {"l1", "perceptual"}
    assert report["perceptual"].item() == pytest.approx(2.0) and not report["perceptual"].requires_grad
    assert not evaluated  # zero weight: never computed
    total.backward()
    assert a.grad.item() == pytest.approx(1.0) and b.grad.item() == pytest.approx(0.1)
    with pytest.raises(KeyError, match="ssim"):
        combine_losses({"l1": a}, {"l1": 1.0, "ssim": 1.0})
