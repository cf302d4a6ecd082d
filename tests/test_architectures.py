"""Architectures: shapes at awkward sizes, gradients everywhere, and what each design is for."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from restore.models.common import PointwiseConv2d, onednn_conv, onednn_fusion_applies
from restore.models.denoiser import ChannelAttention, LayerNorm2d, NAFBlock, NAFNetDenoiser, gray_from_colour_state
from restore.models.ffc import (
    LAMA_BIG,
    FFCResnetBlock,
    FourierUnit,
    LamaGenerator,
    SpectralTransform,
    convert_lama_state_dict,
)
from restore.models.registry import ARCHITECTURES, build_model, model_spec
from restore.models.sr import SuperResolutionNet
from restore.models.unrolled import UnrolledHQS
from restore.models.wiener import WienerDeconvNet

from restore import estimate
from restore.classical import opencv_inpaint
from restore.kernels import gaussian_kernel, motion_kernel
from restore.operators import Blur
from restore.solvers import pull_push_fill

SIZES = [(37, 53), (31, 47), (64, 96)]


@pytest.fixture(autouse=True)
def _few_threads():
    """Overrides the conftest's: one thread, since on this busy 2-core machine OpenMP barrier
    waits make two threads up to 20x slower on these small inputs."""
    torch.set_num_threads(1)


def _inputs(model: torch.nn.Module, h: int, w: int, *, batch: int = 2, seed: int = 0) -> tuple:
    """Positional inputs for one forward pass of any registered family."""
    g = torch.Generator().manual_seed(seed)
    if isinstance(model, LamaGenerator):
        y = torch.rand(batch, model.image_channels, h, w, generator=g)
        mask = (torch.rand(batch, 1, h, w, generator=g) > 0.4).float()
        return y, mask
    if isinstance(model, WienerDeconvNet):
        y = torch.rand(batch, model.in_channels, h, w, generator=g)
        return y, gaussian_kernel(1.5).float(), torch.full((batch,), 0.02)
    if isinstance(model, UnrolledHQS):
        y = torch.rand(batch, model.in_channels, h, w, generator=g)
        return y, motion_kernel(9, 30.0).float(), torch.tensor([0.01, 0.03][:batch])
    if isinstance(model, NAFNetDenoiser):
        y = torch.rand(batch, model.in_channels, h, w, generator=g)
        return y, torch.tensor([0.05, 0.1][:batch])
    if isinstance(model, SuperResolutionNet):
        return (torch.rand(batch, 3, h, w, generator=g),)
    raise AssertionError(f"no inputs defined for {type(model).__name__}: add it to _inputs")


def _expected_shape(model: torch.nn.Module, inputs: tuple) -> tuple[int, ...]:
    y = inputs[0]
    if isinstance(model, SuperResolutionNet):
        return (*y.shape[:2], y.shape[2] * model.scale, y.shape[3] * model.scale)
    return tuple(y.shape)


_BUILT: dict[str, torch.nn.Module] = {}


def _shared(name: str) -> torch.nn.Module:
    """One instance per preset for the read-only tests (Big LaMa has 51M parameters)."""
    if name not in _BUILT:
        _BUILT[name] = build_model(name).eval()
    return _BUILT[name]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_output_shape_and_finite(name, size):
    model = _shared(name)
    inputs = _inputs(model, *size)
    with torch.no_grad():
        out = model(*inputs)
    assert tuple(out.shape) == _expected_shape(model, inputs)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_backward_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = build_model(name).train()
    # zero-initialised residual scales and output layers would hide unused parameters behind
    # exactly-zero gradients: move them off zero so every parameter must receive a signal
    with torch.no_grad():
        for p in model.parameters():
            if (p == 0).all():
                p.normal_(0, 0.1)
    inputs = _inputs(model, 37, 53)
    out = model(*inputs)
    (out * torch.randn_like(out)).sum().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead[:5]}"


def test_registry_specs_rebuild_and_serialise():
    for name in ARCHITECTURES:
        if name == "lama_big":
            continue  # same class and code path as lama_lite; building it again costs seconds
        model = build_model(name)
        spec_name, kwargs = model_spec(model)
        assert spec_name == name
        restored = json.loads(json.dumps(kwargs))  # checkpoints store the spec as JSON
        rebuilt = build_model(spec_name, **restored)
        rebuilt.load_state_dict(model.state_dict(), strict=True)
    assert json.dumps(ARCHITECTURES["lama_big"][1])


def test_registry_rejects_unknowns():
    with pytest.raises(KeyError, match="nafnet_denoiser_small"):
        build_model("nafnet_denoiser_smal")
    with pytest.raises(TypeError, match="widht"):
        build_model("nafnet_denoiser_small", widht=8)
    with pytest.raises(ValueError, match="build_model"):
        model_spec(SuperResolutionNet(scale=2, channels=8, n_blocks=1))


# --- FFC / LaMa -------------------------------------------------------------------------------


def _far_change(block: torch.nn.Module, ratio: float, channels: int = 16) -> float:
    """Largest output change at least 20 pixels away from a single perturbed input pixel."""
    n_global = int(channels * ratio)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, channels, 40, 40, generator=g, dtype=torch.float64)
    x2 = x.clone()
    x2[0, :, 5, 5] += 1.0
    with torch.no_grad():
        out = torch.cat(block(x[:, : channels - n_global], x[:, channels - n_global :]), dim=1)
        out2 = torch.cat(block(x2[:, : channels - n_global], x2[:, channels - n_global :]), dim=1)
    return (out2 - out)[..., 25:, 25:].abs().max().item()


def test_ffc_has_a_global_receptive_field_and_a_plain_block_does_not():
    torch.manual_seed(0)
    ffc = FFCResnetBlock(channels=16, ratio=0.75).double().eval()
    plain = FFCResnetBlock(channels=16, ratio=0.0).double().eval()  # two 3x3 convs: radius 2
    assert _far_change(ffc, 0.75) > 1e-4
    assert _far_change(plain, 0.0) == 0.0


@pytest.mark.parametrize("size", [(13, 20), (15, 15), (7, 30), (1, 1)])
def test_local_fourier_unit_handles_odd_and_non_square_sizes(size):
    st = SpectralTransform(in_channels=16, out_channels=16, enable_lfu=True).eval()
    x = torch.rand(2, 16, *size)
    out = st(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_local_fourier_unit_tiles_the_quadrant_spectrum():
    # on an even size the LFU output repeats with period (H/2, W/2): it is a tiled half-size map
    torch.manual_seed(0)
    st = SpectralTransform(in_channels=16, out_channels=16, enable_lfu=True).double().eval()
    u = torch.rand(1, 8, 12, 18, dtype=torch.float64)
    tiled = st._local_fourier(u)
    assert torch.allclose(tiled[..., :6, :9], tiled[..., 6:, 9:])


def test_fourier_unit_runs_fft_in_float32_under_autocast():
    fu = FourierUnit(in_channels=4, out_channels=4).eval()
    x = torch.rand(1, 4, 9, 14)
    reference = fu(x)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        out = fu(x.bfloat16())  # CPU has no bfloat16 FFT: this fails unless the unit casts
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), reference, atol=0.05)


def test_fourier_unit_gradcheck():
    torch.manual_seed(0)
    fu = FourierUnit(in_channels=2, out_channels=2).double().eval()
    x = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fu, (x,))


@pytest.mark.parametrize("size", [(31, 47), (1, 1), (4, 300)])
def test_lama_with_local_fourier_units_on_odd_and_tiny_sizes(size):
    net = build_model("lama_lite", enable_lfu=True, n_blocks=1).eval()
    y, mask = _inputs(net, *size)
    with torch.no_grad():
        assert net(y, mask).shape == y.shape


def test_lama_composites_known_pixels_and_fills_holes():
    torch.manual_seed(0)
    net = build_model("lama_lite").eval()
    y, mask = _inputs(net, 37, 53)
    with torch.no_grad():
        x_hat = net(y, mask)
    known = mask.bool().expand_as(y)
    assert torch.equal(x_hat[known], y[known])
    # the holes come from the network, not from the (zeroed) input
    assert (x_hat[~known] - y[~known]).abs().mean() > 1e-3


@pytest.mark.parametrize("hole_fill", ["telea", "pull_push"])
def test_untrained_lama_with_a_classical_fill_is_that_fill_and_learns_a_correction(hole_fill):
    torch.manual_seed(0)
    net = build_model("lama_lite", hole_fill=hole_fill).eval()
    y, mask = _inputs(net, 40, 44)
    fill = opencv_inpaint(y, mask, "telea") if hole_fill == "telea" else pull_push_fill(y, mask)
    with torch.no_grad():
        assert torch.allclose(net(y, mask), fill, atol=1e-6)
        net.head.bias.fill_(0.1)
        assert torch.allclose(net(y, mask), fill + 0.1 * (1 - mask), atol=1e-6)
    with pytest.raises(ValueError, match="out_activation"):
        LamaGenerator(hole_fill=hole_fill, out_activation="sigmoid")


def test_lama_big_has_the_published_shape():
    name, kwargs = "lama_big", ARCHITECTURES["lama_big"][1]
    assert kwargs == LAMA_BIG
    model = _shared(name)
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(n_params - 51e6) / 51e6 < 0.01  # "Big LaMa, 51M parameters" (Suvorov et al. 2022, Table 1)
    # LaMa key names and shapes, from the published FFCResNetGenerator layout
    lama_shapes = {
        "generator.model.1.ffc.convl2l.weight": (64, 4, 7, 7),
        "generator.model.4.ffc.convl2g.weight": (384, 256, 3, 3),
        "generator.model.5.conv1.ffc.convg2g.fu.conv_layer.weight": (384, 384, 1, 1),
        "generator.model.22.conv2.bn_g.running_var": (384,),
        "generator.model.24.weight": (512, 256, 3, 3),
        "generator.model.31.bias": (64,),
        "generator.model.34.weight": (3, 64, 7, 7),
    }
    fake = {k: torch.zeros(s) for k, s in lama_shapes.items()}
    converted = convert_lama_state_dict(fake, n_downsampling=3, n_blocks=18)
    ours = model.state_dict()
    assert len(converted) == len(fake)
    for key, value in converted.items():
        assert key in ours and ours[key].shape == value.shape, key


# --- Wiener deconvolution ------------------------------------------------------------------------


def test_wiener_branch_inverts_a_circular_blur_exactly():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 40, 56, generator=g, dtype=torch.float64)
    psf = gaussian_kernel(1.0)  # transfer function bounded away from zero
    y = Blur(psf, boundary="circular").A(x)
    net = WienerDeconvNet(boundary="circular", min_nsr=0.0).double()
    x_img = net.image_wiener(y, psf, 0.0)
    assert ((x_img - x).norm() / x.norm()).item() < 1e-6


def test_fresh_wiener_net_returns_its_image_branch():
    net = WienerDeconvNet(in_channels=1, widths=(8, 16))
    y, psf = torch.rand(1, 1, 31, 47), motion_kernel(9, 30.0).float()
    with torch.no_grad():
        assert torch.allclose(net(y, psf, 0.02), net.image_wiener(y, psf, 0.02), atol=1e-6)


def _smooth_ramp_image(size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(1, 3, 6, 6, generator=g, dtype=torch.float64)
    x = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)
    ramp = torch.linspace(0, 1, size, dtype=torch.float64)
    return 0.5 * x + 0.5 * ramp[:, None] * ramp[None, :]  # strongly non-periodic


@pytest.mark.parametrize("psf", [gaussian_kernel(2.0), motion_kernel(11, 30.0).double()], ids=["gauss", "motion"])
def test_wiener_taper_stops_boundary_ringing(psf):
    x = _smooth_ramp_image()
    y = Blur(psf, boundary="replicate").A(x)  # a real photograph's blur, not a periodic one
    errors = {}
    for boundary in ("taper", "circular"):
        net = WienerDeconvNet(boundary=boundary, min_nsr=1e-3).double()
        errors[boundary] = (net.image_wiener(y, psf, 0.0) - x).pow(2).mean().sqrt().item()
    assert errors["taper"] < errors["circular"] / 5


def test_wiener_accepts_per_image_psfs_up_to_the_image_size():
    net = WienerDeconvNet(in_channels=1, widths=(8, 16)).eval()
    psfs = torch.stack([gaussian_kernel(2.0, size=31), gaussian_kernel(4.0, size=31)]).float()
    y = torch.rand(2, 1, 31, 47)
    with torch.no_grad():
        out = net(y, psfs, 0.01)
        single = net(y[1:], psfs[1], 0.01)
    assert out.shape == y.shape and torch.isfinite(out).all()
    assert torch.allclose(out[1:], single, atol=1e-5)
    with pytest.raises(ValueError, match="larger than the image"):
        net(y[:, :, :20], psfs, 0.01)


# --- denoiser -----------------------------------------------------------------------------------


def test_unrolled_hqs_levels_fall_from_the_first_level_or_twice_sigma_to_sigma():
    net = UnrolledHQS(iterations=3, width=8, enc_blocks=(1,), middle_blocks=1, dec_blocks=(1,)).eval()
    y, psf, sigma = torch.rand(2, 1, 40, 44), motion_kernel(9, 30.0).float(), torch.tensor([0.01, 0.03])
    levels = []
    net.denoiser.register_forward_pre_hook(lambda module, args: levels.append(args[1]))
    with torch.no_grad():
        net(y, psf, sigma)
    assert len(levels) == 3
    assert torch.allclose(levels[0], torch.tensor([10 / 255, 0.06])) and torch.allclose(levels[-1], sigma)
    assert (levels[1] < levels[0]).all() and (levels[1] > levels[2]).all()
    torch.testing.assert_close(net.log_weights.exp(), torch.full((3,), 0.23))


def test_denoiser_noise_level_is_an_input():
    torch.manual_seed(0)
    net = build_model("nafnet_denoiser_small", in_channels=1).eval()
    with torch.no_grad():
        for p in net.parameters():  # leave the "identity at init" state so sigma matters
            if (p == 0).all():
                p.normal_(0, 0.1)
    y = torch.rand(2, 1, 31, 47)
    with torch.no_grad():
        as_float = net(y, 0.1)
        as_tensor = net(y, torch.tensor([0.1, 0.1]))
        other = net(y, 0.3)
    assert torch.equal(as_float, as_tensor)
    assert (other - as_float).abs().max() > 1e-4


def test_gray_from_colour_computes_the_colour_denoiser_on_a_replicated_gray_image():
    torch.manual_seed(0)
    colour = build_model("nafnet_denoiser_small", in_channels=3, middle_blocks=1).eval()
    with torch.no_grad():
        for p in colour.parameters():  # leave the "identity at init" state: the blocks must matter
            p.add_(torch.randn_like(p) * 0.1)
    gray = build_model("nafnet_denoiser_small", in_channels=1, middle_blocks=1).eval()
    gray.load_state_dict(gray_from_colour_state(colour.state_dict()), strict=True)
    y = torch.rand(2, 1, 29, 40)
    with torch.no_grad():
        expected = colour(y.expand(-1, 3, -1, -1), 0.1).mean(1, keepdim=True)
        assert (colour(y.expand(-1, 3, -1, -1), 0.1) - expected).abs().max() > 1e-3  # channels differ
        torch.testing.assert_close(gray(y, 0.1), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="colour denoiser"):
        gray_from_colour_state(gray.state_dict())


def test_blind_mode_uses_the_core_noise_estimator(monkeypatch):
    calls = []

    def fake_estimator(y: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(y.shape))
        return torch.full((y.shape[0],), 0.07)

    monkeypatch.setattr(estimate, "estimate_sigma", fake_estimator)
    torch.manual_seed(0)
    net = build_model("nafnet_denoiser_small").eval()
    with torch.no_grad():
        for p in net.parameters():
            if (p == 0).all():
                p.normal_(0, 0.1)
    y = torch.rand(2, 3, 31, 47)
    deblur = WienerDeconvNet(in_channels=3, widths=(8, 16)).eval()
    psf = gaussian_kernel(1.0).float()
    with torch.no_grad():
        assert torch.equal(net(y), net(y, 0.07))
        assert torch.equal(deblur(y, psf), deblur(y, psf, 0.07))
    assert calls == [(2, 3, 31, 47)] * 2


def test_blind_mode_with_the_real_estimator():
    g = torch.Generator().manual_seed(0)
    x = F.interpolate(torch.rand(1, 1, 8, 8, generator=g), size=(64, 96), mode="bilinear", align_corners=False)
    y = x + 0.1 * torch.randn(x.shape, generator=g)
    net = build_model("nafnet_denoiser_small", in_channels=1).eval()
    sigma = estimate.estimate_sigma(y)
    assert sigma.shape == (1,) and 0.05 < sigma.item() < 0.2
    with torch.no_grad():
        assert torch.allclose(net(y), net(y, sigma))


# --- super-resolution ---------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fresh_sr_net_is_bicubic_upsampling(scale):
    net = build_model(f"sr_x{scale}").eval()
    y = torch.rand(1, 3, 31, 47)
    with torch.no_grad():
        out = net(y)
    bicubic = F.interpolate(y, scale_factor=scale, mode="bicubic", align_corners=False)
    assert torch.equal(out, bicubic)


def test_sr_rejects_unsupported_scale():
    with pytest.raises(ValueError, match="scale"):
        SuperResolutionNet(scale=5)


def test_fresh_nafblock_is_the_identity():
    block = NAFBlock(channels=8)
    x = torch.rand(2, 8, 9, 13)
    assert torch.equal(block(x), x)  # beta = gamma = 0 at init
    with torch.no_grad():
        block.beta.fill_(0.5)
    assert not torch.allclose(block(x), x)


def _trained_block():
    torch.manual_seed(0)
    block = NAFBlock(channels=8)
    with torch.no_grad():
        for parameter in block.parameters():  # scales and norms away from their initial ones and zeros
            parameter.add_(0.3 * torch.randn_like(parameter))
    return block


def test_folding_the_scales_keeps_a_trained_blocks_function_and_state():
    block = _trained_block()
    x = torch.randn(2, 8, 9, 13)
    before = block(x)
    block.fold_scales()
    assert block.scales_folded and torch.equal(block.beta, torch.ones_like(block.beta))
    assert torch.equal(block.norm1.bias, torch.zeros_like(block.norm1.bias))
    assert torch.allclose(block(x), before, atol=1e-5)  # autograd on: the plain path
    unfolded = NAFBlock(channels=8)
    unfolded.load_state_dict(block.state_dict())  # scales of one: the same function without the fold
    assert torch.allclose(unfolded(x), before, atol=1e-5)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="oneDNN is not in this PyTorch build")
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("window", [None, 4])
@pytest.mark.parametrize("channels_last", [False, True])
def test_a_folded_block_runs_fused_on_cpu_without_autograd_and_computes_the_same(batch, window, channels_last):
    block = _trained_block()
    block.sca.window = window  # local attention (a map, not one weight per channel) cannot scale conv3
    x = torch.randn(batch, 8, 19, 23)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    before = block(x)
    block.fold_scales()
    taken = []
    fused_forward = block.forward_fused
    block.forward_fused = lambda x: taken.append(x) or fused_forward(x)  # spy: which path the block takes
    with torch.no_grad():
        assert onednn_fusion_applies(x)
        fused = block(x)
    assert len(taken) == 1
    with torch.enable_grad():
        assert not onednn_fusion_applies(x)
    assert torch.allclose(fused, before, atol=1e-5)


def test_onednn_conv_fuses_an_add_or_a_multiply_into_a_grouped_padded_convolution():
    torch.manual_seed(0)
    x, weight, bias = torch.randn(1, 6, 11, 7), torch.randn(6, 1, 3, 3), torch.randn(6)
    conv = F.conv2d(x, weight, bias, padding=1, groups=6)
    other = torch.randn_like(conv)
    with torch.no_grad():
        assert torch.allclose(onednn_conv(x, weight, bias, groups=6, padding=1), conv, atol=1e-5)
        assert torch.allclose(
            onednn_conv(x, weight, bias, groups=6, padding=1, then=("add", other)), conv + other, atol=1e-5
        )
        assert torch.allclose(
            onednn_conv(x, weight, bias, groups=6, padding=1, then=("mul", other)), conv * other, atol=1e-5
        )


def _window_means(u, window):
    """Reference local pooling: the mean over the window around each pixel, shifted inward at the borders."""
    means = F.avg_pool2d(u, window, stride=1)
    return F.pad(means, ((window - 1) // 2, window // 2, (window - 1) // 2, window // 2), mode="replicate")


def _identity_attention(channels):
    attention = ChannelAttention(channels).double()
    with torch.no_grad():
        attention[1].weight.copy_(torch.eye(channels)[:, :, None, None])
        attention[1].bias.zero_()
    return attention


def test_channel_attention_is_global_unless_the_map_exceeds_the_window():
    attention = ChannelAttention(4)
    u = torch.rand(2, 4, 37, 53)
    plain = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Conv2d(4, 4, 1))
    plain.load_state_dict(attention.state_dict())
    assert torch.allclose(attention(u), plain(u))
    attention.window = 53
    assert torch.allclose(attention(u), plain(u))
    attention.window = 16
    assert attention(u).shape == u.shape


@pytest.mark.parametrize("size", [(200, 300), (97, 131), (64, 250)])
def test_local_channel_attention_follows_the_window_means(size):
    rows = torch.arange(size[0], dtype=torch.float64)[:, None]
    cols = torch.arange(size[1], dtype=torch.float64)
    u = torch.stack(
        [torch.sin(cols / 25) * torch.cos(rows / 20), rows / 100 + cols / 300, torch.cos(cols / 40).expand(size)]
    )[None]
    attention = _identity_attention(3)
    attention.window = 50
    exact = _window_means(u, 50)
    error = (attention(u) - exact).abs().mean()
    assert error < 0.1 * (u.mean((-2, -1), keepdim=True) - exact).abs().mean()


def test_local_channel_attention_ignores_what_lies_beyond_the_window():
    u = torch.zeros(1, 2, 120, 400, dtype=torch.float64)
    u[..., 200:] = 1.0
    attention = _identity_attention(2)
    attention.window = 40
    weights = attention(u)
    assert weights[..., :140].abs().max() < 1e-12
    assert (weights[..., 260:] - 1).abs().max() < 1e-12


def test_denoiser_pools_locally_over_the_patch_at_each_scale():
    torch.manual_seed(0)
    net = NAFNetDenoiser(in_channels=1, width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1))
    for p in net.parameters():
        p.data.normal_(0, 0.3)
    small, large = torch.rand(1, 1, 40, 40), torch.rand(1, 1, 40, 120)
    before_small, before_large = net(small, 0.1), net(large, 0.1)
    net.pool_locally(40)
    assert [b.sca.window for b in net.encoders[1]] == [20] and net.middle[0].sca.window == 10
    assert [b.sca.window for b in net.decoders[0]] == [20] and net.decoders[1][0].sca.window == 40
    assert torch.allclose(net(small, 0.1), before_small)
    assert not torch.allclose(net(large, 0.1), before_large, atol=1e-4)
    net.pool_locally(None)
    assert torch.allclose(net(large, 0.1), before_large)


def test_layernorm2d_normalises_each_pixel_over_channels():
    x = 3 * torch.randn(2, 8, 5, 7, dtype=torch.float64) + 1
    out = LayerNorm2d(8).double()(x)
    assert torch.allclose(out.mean(dim=1), torch.zeros(2, 5, 7, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(out.var(dim=1, unbiased=False), torch.ones(2, 5, 7, dtype=torch.float64), atol=1e-5)


@pytest.mark.parametrize("channels_last", [True, False])
def test_pointwise_conv_is_a_1x1_conv_in_value_and_gradient(channels_last):
    conv = PointwiseConv2d(6, 10)
    x = torch.randn(2, 6, 9, 13, requires_grad=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out, reference = conv(x), F.conv2d(x, conv.weight, conv.bias)
    assert torch.allclose(out, reference, atol=1e-5)
    g = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, conv.weight, conv.bias), g)
    reference_grads = torch.autograd.grad(reference, (x, conv.weight, conv.bias), g)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(grads, reference_grads, strict=True))
    assert conv.state_dict().keys() == torch.nn.Conv2d(6, 10, 1).state_dict().keys()


def test_pointwise_conv_takes_onednn_on_one_thread_where_pytorch_would_not():
    """The reason it exists: at one thread PyTorch sends 1x1 convolutions to its slower im2col path."""
    conv = PointwiseConv2d(16, 32)
    x = torch.rand(1, 16, 256, 256).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.profiler.profile() as prof:
        conv(x)
        F.conv2d(x, conv.weight, conv.bias)
    ops = [event.key for event in prof.key_averages()]
    assert "aten::mkldnn_convolution" in ops and "aten::_slow_conv2d_forward" in ops


def test_pointwise_conv_float64_gradcheck():
    conv = PointwiseConv2d(3, 4).double()
    x = torch.randn(1, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,))
