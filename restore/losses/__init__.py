"""Loss library: pure functions returning a scalar tensor; modules only where weights are held.

Pixel (:mod:`.pixel`), structural (:mod:`.structural`), perceptual (:mod:`.perceptual`),
frequency (:mod:`.frequency`), wavelet (:mod:`.wavelet`), self-supervised (:mod:`.self_supervised`),
adversarial (:mod:`.adversarial`) and forward-consistency (:mod:`.consistency`) terms, summed by
:func:`combine_losses`.
"""

from .adversarial import (
    PatchDiscriminator,
    discriminator_adversarial_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    r1_penalty,
)
from .combine import combine_losses
from .consistency import consistency_loss
from .frequency import fft_loss, focal_frequency_loss
from .perceptual import LPIPSLoss, VGG19Features, VGGPerceptualLoss, find_vgg19_weights
from .pixel import charbonnier_loss, l1_loss, mse_loss, psnr_loss
from .self_supervised import (
    gr2r_loss,
    gr2r_offset,
    gr2r_pair,
    r2r_loss,
    r2r_offset,
    recorrupted_noise_level,
)
from .structural import ms_ssim_loss, ssim_loss
from .wavelet import dwt2, idwt2, wavelet_filters, wavelet_loss

__all__ = [
    "LPIPSLoss",
    "PatchDiscriminator",
    "VGG19Features",
    "VGGPerceptualLoss",
    "charbonnier_loss",
    "combine_losses",
    "discriminator_adversarial_loss",
    "dwt2",
    "feature_matching_loss",
    "fft_loss",
    "find_vgg19_weights",
    "focal_frequency_loss",
    "consistency_loss",
    "generator_adversarial_loss",
    "gr2r_loss",
    "gr2r_offset",
    "gr2r_pair",
    "idwt2",
    "l1_loss",
    "ms_ssim_loss",
    "mse_loss",
    "psnr_loss",
    "r1_penalty",
    "r2r_loss",
    "r2r_offset",
    "recorrupted_noise_level",
    "ssim_loss",
    "wavelet_filters",
    "wavelet_loss",
]
