"""An efficient super-resolution network: residual local feature blocks, pixel shuffle, bicubic skip.

The body follows RLFN (Kong et al., "Residual Local Feature Network for Efficient
Super-Resolution", CVPRW 2022): each block is three 3x3 conv + ReLU layers with a local residual,
a 1x1 fusion and an enhanced spatial attention (ESA, from RFDN, Liu et al. 2020) whose strided
convolution and max pooling give a large receptive field at little cost. All convolutions run
at the low resolution; a single 3x3 convolution and a pixel shuffle (Shi et al., CVPR 2016)
produce the high-resolution residual, which is added to the bicubic upsampling of the input.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .common import PointwiseConv2d


class EnhancedSpatialAttention(nn.Module):
    """Spatial attention from a strided, max-pooled summary: ``x * sigmoid(ESA(x))`` (RFDN).

    Padding is chosen so that any input size, even 1x1, works.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, *, channels: int, reduced: int = 16):
        super().__init__()
        self.conv1 = PointwiseConv2d(channels, reduced)
        self.conv2 = nn.Conv2d(reduced, reduced, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(reduced, reduced, kernel_size=3, padding=1)
        self.conv_f = PointwiseConv2d(reduced, reduced)
        self.conv4 = PointwiseConv2d(reduced, channels)

    def forward(self, x: Tensor) -> Tensor:
        c1 = self.conv1(x)
        summary = F.max_pool2d(self.conv2(c1), kernel_size=7, stride=3, padding=3)
        summary = F.interpolate(self.conv3(summary), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * self.conv4(summary + self.conv_f(c1)).sigmoid()


class ResidualLocalFeatureBlock(nn.Module):
    """RLFN block: ``ESA(W_1x1 (x + conv3(conv2(conv1(x)))))`` with ReLUs after each 3x3 conv.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, *, channels: int):
        super().__init__()
        self.convs = nn.Sequential(
            *(layer for _ in range(3) for layer in (nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)))
        )
        self.fuse = PointwiseConv2d(channels, channels)
        self.esa = EnhancedSpatialAttention(channels=channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.esa(self.fuse(x + self.convs(x)))


class SuperResolutionNet(nn.Module):
    """Efficient single-image SR, ``x_hat = bicubic_s(y) + PS_s(conv(B(y)))``.

    ``B`` is a 3x3 head convolution, ``n_blocks`` :class:`ResidualLocalFeatureBlock` and a 3x3
    convolution with a long skip (RLFN, Kong et al. 2022); ``PS_s`` a 3x3 convolution to
    ``C * s^2`` channels followed by a pixel shuffle. The upsampler starts at zero, so a fresh
    network is exactly bicubic interpolation and training only learns the residual. Being fully
    convolutional, any H x W works.

    Args:
        scale: upscaling factor, 2, 3 or 4.
        in_channels: image channels.
        channels: feature channels.
        n_blocks: residual local feature blocks.

    Shape:
        ``(N, in_channels, H, W) -> (N, in_channels, scale * H, scale * W)``.

    Example:
        >>> net = SuperResolutionNet(scale=3, channels=16, n_blocks=2)
        >>> net(torch.rand(1, 3, 31, 47)).shape
        torch.Size([1, 3, 93, 141])
    """

    def __init__(self, *, scale: int = 4, in_channels: int = 3, channels: int = 48, n_blocks: int = 6):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {scale}")
        self.scale, self.in_channels = scale, in_channels
        self.head = nn.Conv2d(in_channels, channels, kernel_size=3, padding=1)
        self.blocks = nn.Sequential(*(ResidualLocalFeatureBlock(channels=channels) for _ in range(n_blocks)))
        self.body_end = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.upsample = nn.Sequential(
            nn.Conv2d(channels, in_channels * scale**2, kernel_size=3, padding=1), nn.PixelShuffle(scale)
        )
        nn.init.zeros_(self.upsample[0].weight)
        nn.init.zeros_(self.upsample[0].bias)

    def forward(self, y: Tensor) -> Tensor:
        features = self.head(y)
        features = features + self.body_end(self.blocks(features))
        base = F.interpolate(y, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return base + self.upsample(features)
