import pytest
import torch

from restore.classical import WienerRestorer
from restore.ensemble import SelfEnsemble, dihedral, dihedral_inverse
from restore.kernels import motion_kernel
from restore.metrics import psnr
from restore.operators import Blur
from restore.pretrained import load_pretrained_restorer
from restore.restorer import Degradation, Restorer

from .conftest import clean_example


def test_the_eight_transforms_are_distinct_and_undone():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    images = [dihedral(x, k) for k in range(8)]
    assert len({tuple(t.flatten().tolist()) + tuple(t.shape) for t in images}) == 8
    for k, t in enumerate(images):
        assert torch.equal(dihedral_inverse(t, k), x)


def test_an_equivariant_method_is_unchanged_so_the_kernel_turns_with_the_image():
    # The Wiener filter commutes with the grid's symmetries when the kernel is transformed too;
    # an asymmetric motion kernel left untransformed would deconvolve 7 of the 8 copies wrongly
    # (errors of 0.2-0.3). Transposed copies differ by ~6e-4: float32 FFTs of another size.
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 40, 52, generator=g, dtype=torch.float64)
    psf = motion_kernel(9, 30)
    y = Blur(psf, boundary="replicate").A(x).float()
    degradation = Degradation(sigma=0.01, psf=psf.float())
    single = WienerRestorer()(y, degradation)
    assert torch.allclose(SelfEnsemble(WienerRestorer())(y, degradation), single, atol=2e-3)


class KnownPixels(Restorer):
    task = "inpaint"

    def __call__(self, y, degradation):
        return y * degradation.mask


def test_the_mask_turns_with_the_image():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, 10, 14, generator=g)
    degradation = Degradation(mask=(torch.rand(1, 1, 10, 14, generator=g) > 0.5).float())
    assert torch.allclose(SelfEnsemble(KnownPixels())(y, degradation), y * degradation.mask)


def test_transform_count_is_checked():
    with pytest.raises(ValueError, match="1 to 8"):
        SelfEnsemble(WienerRestorer(), 9)


class CountingWiener(WienerRestorer):
    calls = 0

    def __call__(self, y, degradation):
        self.calls += 1
        return super().__call__(y, degradation)


def test_an_ensemble_of_an_ensemble_ensembles_the_restorer_once():
    # --self-ensemble on a default that already averages two passes runs 8 passes, not 16
    counting = CountingWiener()
    degradation = Degradation(sigma=0.01, psf=torch.ones(3, 3) / 9)
    SelfEnsemble(SelfEnsemble(counting, 2))(torch.rand(1, 1, 12, 12), degradation)
    assert counting.calls == 8


def test_the_ensemble_of_the_shipped_denoiser_is_better_on_a_held_out_image():
    x = clean_example("camera")[..., :128, :128]
    y = x + 25 / 255 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    degradation = Degradation(sigma=25 / 255)
    denoiser = load_pretrained_restorer("restore-denoise", device="cpu")
    with torch.inference_mode():
        single = float(psnr(denoiser(y, degradation), x)[0])
        ensemble = float(psnr(SelfEnsemble(denoiser)(y, degradation), x)[0])
    assert ensemble > single + 0.02, (single, ensemble)
