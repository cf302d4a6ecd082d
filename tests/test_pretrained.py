"""Every shipped model loads (hash checked, strict) and restores images it was never trained on.

The bundled example photographs (scikit-image's CC0 / public-domain pictures) are not in any
training set, so they serve as held-out images. The floors are well below what the models
reach, but above what a broken or mismatched checkpoint would give.
"""

import kornia
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restore.classical import CLASSICAL
from restore.engine import EngineSettings, run_restorer
from restore.kernels import motion_kernel
from restore.masks import sample_mask
from restore.metrics import psnr
from restore.operators import Blur, Downsample, modcrop
from restore.pretrained import PLUG_AND_PLAY, PRETRAINED, load_pretrained_restorer, weights_file
from restore.restorer import Degradation

from .conftest import clean_example


def _run(restorer, y: torch.Tensor, degradation: Degradation) -> torch.Tensor:
    out = run_restorer(restorer, y[0].permute(1, 2, 0).numpy(), degradation, EngineSettings(device="cpu"))
    return torch.from_numpy(out).permute(2, 0, 1)[None]


def _case(task: str, scale: int = 4, *, gray: bool = False):
    g = torch.Generator().manual_seed(0)
    x = clean_example("chelsea")
    x = x.mean(dim=1, keepdim=True) if gray else x
    if task == "denoise":
        return x, x + 25 / 255 * torch.randn(x.shape, generator=g), Degradation(sigma=25 / 255)
    if task == "deblur":
        psf = motion_kernel(13, 60)
        y = Blur(psf.float(), boundary="replicate").A(x) + 0.01 * torch.randn(x.shape, generator=g)
        return x, y, Degradation(sigma=0.01, psf=psf.float())
    if task == "inpaint":
        mask = sample_mask(256, 256, "thick", g)
        return x, x * mask + (1 - mask), Degradation(mask=mask)
    x = modcrop(x, scale)
    return x, Downsample(scale).A(x.double()).float().clamp(0, 1), Degradation(scale=scale)


BASELINE = {"denoise": "nlm", "deblur": "wiener", "inpaint": "telea", "upscale": "bicubic"}


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_shipped_model_beats_the_classical_baseline_on_held_out_images(name):
    entry = PRETRAINED[name]
    restorer = load_pretrained_restorer(name, device="cpu")
    x, y, degradation = _case(entry.task, entry.args.get("scale", 4))
    learned = float(psnr(_run(restorer, y, degradation), x)[0])
    classical = float(psnr(_run(CLASSICAL[entry.task][BASELINE[entry.task]](), y, degradation), x)[0])
    assert np.isfinite(learned)
    assert learned > classical + 0.3, (learned, classical)


def test_plug_and_play_deblurring_with_the_shipped_denoiser_beats_the_wiener_network_on_gray_images():
    x, y, degradation = _case("deblur", gray=True)
    pnp = float(psnr(_run(load_pretrained_restorer("restore-deblur-pnp", device="cpu"), y, degradation), x)[0])
    net = float(psnr(_run(load_pretrained_restorer("restore-deblur", device="cpu"), y, degradation), x)[0])
    assert pnp > net + 0.3, (pnp, net)


def test_the_untrained_unrolled_deblurrer_around_the_shipped_denoiser_is_plug_and_play():
    from restore.models.registry import build_model
    from restore.train.loop import load_matching

    from restore.learned import ModelRestorer

    x, y, degradation = _case("deblur", gray=True)
    denoiser = load_pretrained_restorer("restore-denoise-gray", device="cpu").model
    blocks = {k: v for k, v in PRETRAINED["restore-denoise-gray"].args.items() if k != "in_channels"}
    unrolled = build_model("hqs_unrolled", in_channels=1, iterations=4, **blocks)
    load_matching(unrolled, denoiser.state_dict())
    untrained = ModelRestorer(unrolled, "deblur", "untrained", device="cpu")
    pnp = _run(load_pretrained_restorer("restore-deblur-pnp", device="cpu"), y, degradation)
    assert (_run(untrained, y, degradation) - pnp).abs().max() < 1e-4


def test_end_to_end_training_lifts_the_unrolled_deblurrer_above_its_plug_and_play_start():
    # restore-deblur-hqs-gray began as restore-deblur-pnp's iteration around the gray denoiser
    x, y, degradation = _case("deblur", gray=True)
    hqs = float(psnr(_run(load_pretrained_restorer("restore-deblur-hqs", device="cpu"), y, degradation), x)[0])
    pnp = float(psnr(_run(load_pretrained_restorer("restore-deblur-pnp", device="cpu"), y, degradation), x)[0])
    assert hqs > pnp + 0.1, (hqs, pnp)


def test_every_shipped_model_has_its_card_with_its_hash_beside_the_weights():
    from restore.pretrained import weights_file

    for name, entry in PRETRAINED.items():
        card = weights_file(name).with_suffix(".md").read_text()
        assert card.startswith(f"# {name}\n") and entry.sha256 in card
    for name, denoiser in PLUG_AND_PLAY.items():
        card = weights_file(name).with_suffix(".md").read_text()
        assert card.startswith(f"# {name}\n") and f"`{denoiser}`" in card


def test_corrupt_weights_are_refused(tmp_path, monkeypatch):
    name = sorted(PRETRAINED)[0]
    from restore import pretrained

    fake = tmp_path / pretrained.weights_file(name).name
    fake.write_bytes(pretrained.weights_file(name).read_bytes()[:-8] + b"\0" * 8)
    monkeypatch.setattr(pretrained, "weights_dir", lambda: tmp_path)
    with pytest.raises(RuntimeError, match="corrupt"):
        load_pretrained_restorer(name, device="cpu")


def test_the_shipped_denoiser_runs_with_its_scales_folded_and_unchanged_output():
    from restore.models.denoiser import NAFBlock

    from restore.learned import load_model

    _, y, _ = _case("denoise", gray=True)
    restorer = load_pretrained_restorer("restore-denoise-gray", device="cpu")
    assert all(b.scales_folded for b in restorer.model.modules() if isinstance(b, NAFBlock))
    unfolded, _ = load_model(weights_file("restore-denoise-gray"))
    with torch.inference_mode():
        assert (restorer.model(y, 25 / 255) - unfolded(y, 25 / 255)).abs().max() < 1e-5


def test_the_default_denoiser_picks_the_model_for_the_image_channels():
    from restore.methods import default_method, load_method

    assert default_method("denoise") == "restore-denoise"
    restorer = load_method("denoise", device="cpu")
    gray = clean_example("camera")
    colour = clean_example("chelsea")
    g = torch.Generator().manual_seed(1)
    for x in (gray, colour):
        y = x + 25 / 255 * torch.randn(x.shape, generator=g)
        out = _run(restorer, y, Degradation(sigma=25 / 255))
        assert out.shape == x.shape and float(psnr(out, x)[0]) > float(psnr(y.clamp(0, 1), x)[0]) + 6


def test_shipped_denoisers_pool_channel_attention_over_the_window_their_card_names():
    denoisers = {name: e for name, e in PRETRAINED.items() if e.architecture == "nafnet_denoiser_small"}
    assert {e.pool_window for e in denoisers.values()} == {None, 96}
    for name, entry in denoisers.items():
        model = load_pretrained_restorer(name, device="cpu").model
        assert {block.sca.window for block in model.encoders[0]} == {entry.pool_window}
        card = weights_file(name).with_suffix(".md").read_text()
        assert entry.pool_window is None or f"windows of the {entry.pool_window} px training patch" in card


def test_the_default_deblurrer_picks_the_model_for_the_image_channels_and_averages_two_passes(monkeypatch):
    from restore.methods import default_method, load_method

    assert default_method("deblur") == "restore-deblur-hqs"
    restorer = load_method("deblur", device="cpu")
    single_pass = restorer.restorer
    seen = []
    for model in (single_pass.gray, single_pass.colour):
        monkeypatch.setattr(model, "model", _recording(model.model, seen))
    for gray in (True, False):
        x, y, degradation = _case("deblur", gray=gray)
        out = _run(restorer, y, degradation)
        restored = float(psnr(out, x)[0])
        assert out.shape == x.shape and restored > float(psnr(y.clamp(0, 1), x)[0]) + 3
        # the second, quarter-turned pass is there because it helps on images outside training
        assert restored > float(psnr(_run(single_pass, y, degradation), x)[0])
    assert seen == [1, 1, 1, 3, 3, 3]  # per image: the two passes, then the single pass


def _recording(model, seen: list):
    def forward(y, *args):
        seen.append(y.shape[1])
        return model(y, *args)

    return forward


@pytest.mark.parametrize("name", [n for n, e in sorted(PRETRAINED.items()) if e.task == "inpaint"])
def test_inpainting_leaves_no_seam_at_the_hole_border_at_512px(name):
    """Across the hole border the result is no rougher than the photograph itself is there."""
    x = F.interpolate(clean_example("astronaut"), scale_factor=2, mode="bicubic").clamp(0, 1)
    hole = 1 - sample_mask(512, 512, "thick", torch.Generator().manual_seed(3))
    out = _run(load_pretrained_restorer(name, device="cpu"), x * (1 - hole), Degradation(mask=1 - hole))
    border = (F.max_pool2d(hole, 3, 1, 1) + F.max_pool2d(-hole, 3, 1, 1)).bool()[:, 0]  # dilation - erosion

    def roughness(image: torch.Tensor) -> float:
        return float(kornia.filters.spatial_gradient(image).abs().sum(2).mean(1)[border].mean())

    assert roughness(out) < 1.2 * roughness(x)


@pytest.mark.parametrize("name", [n for n, e in sorted(PRETRAINED.items()) if e.task == "inpaint"])
def test_inpainting_a_gray_photograph_returns_gray_and_beats_telea(name):
    x, y, degradation = _case("inpaint", gray=True)
    out = _run(load_pretrained_restorer(name, device="cpu"), y, degradation)
    telea = _run(CLASSICAL["inpaint"]["telea"](), y, degradation)
    assert out.shape == x.shape
    assert float(psnr(out, x)[0]) > float(psnr(telea, x)[0]) + 0.3
