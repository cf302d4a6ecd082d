"""A noise-level-conditional NAFNet U-Net denoiser.

NAFNet (Chen, Chu, Zhang, Sun, "Simple Baselines for Image Restoration", ECCV 2022) replaces
nonlinear activations by a *simple gate* (split the channels in two halves and multiply them)
and channel attention by a *simplified channel attention* (global average pool + 1x1 conv).
Here the U-Net also receives a constant noise-level map as an extra input channel (as in FFDNet,
Zhang et al. 2018), so one model covers a range of sigma and can be run blind with an estimated
level.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import PointwiseConv2d, noise_level, onednn_conv, onednn_fusion_applies, pad_to_multiple


class LayerNorm2d(nn.Module):
    """Layer normalisation over the channels of each pixel, ``w * (x - mu_c) / sqrt(var_c + eps) + b``.

    Runs :func:`torch.nn.functional.layer_norm` on the NHWC view, one fused kernel (and a free
    view for channels_last inputs) instead of the half-dozen element-wise passes of a manual mean
    and variance.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor, *, affine: bool = True) -> Tensor:
        """``affine=False`` leaves out ``w * . + b``, for a block that folded it into the convolution after."""
        weight, bias = (self.weight, self.bias) if affine else (None, None)
        nhwc = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), weight, bias, self.eps)
        return nhwc.permute(0, 3, 1, 2)


class SimpleGate(nn.Module):
    """``sg(x) = x_1 * x_2`` for the two channel halves of ``x`` (NAFNet).

    Shape:
        ``(N, 2C, H, W) -> (N, C, H, W)``.
    """

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class ChannelAttention(nn.Sequential):
    """NAFNet's simplified channel attention weights, ``conv1x1(mean(u))``, the mean global or local.

    The mean is global in training, over a patch, but at test time over the whole image. Setting
    ``window`` to the training patch (at this block's scale) keeps the statistic the network
    learnt on large images, as the "test-time local converter" of Chu et al. (ECCV 2022) does.
    Here the window means are taken on a grid of ``window / 7`` px blocks, shifted inward at the
    borders so that every window lies inside the map; the 1x1 convolution runs on that grid and
    its output is spread bilinearly over the pixels (the two commute). Maps no larger than the
    window get the global mean, so training is unaffected. Its state dict is that of
    ``nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels, 1))``.

    Shape:
        ``(N, C, H, W) -> (N, C, 1, 1)``, or ``(N, C, H, W)`` where the map exceeds the window.
    """

    BLOCKS_PER_WINDOW = 7

    def __init__(self, channels: int):
        super().__init__(nn.AdaptiveAvgPool2d(1), PointwiseConv2d(channels, channels))
        self.window: int | None = None

    def forward(self, u: Tensor) -> Tensor:
        h, w = u.shape[-2:]
        if self.window is None or (h <= self.window and w <= self.window):
            return super().forward(u)
        block = max(round(self.window / self.BLOCKS_PER_WINDOW), 1)
        blocks = F.avg_pool2d(u, block, ceil_mode=True)
        gh, gw = blocks.shape[-2:]
        kh, kw = min(self.BLOCKS_PER_WINDOW, gh), min(self.BLOCKS_PER_WINDOW, gw)
        windows = F.avg_pool2d(blocks, (kh, kw), stride=1)
        # window i covers blocks i..i+k-1; pad so that block j reads the window centred on it
        windows = F.pad(windows, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2), mode="replicate")
        weights = F.interpolate(self[1](windows), size=(gh * block, gw * block), mode="bilinear", align_corners=False)
        return weights[..., :h, :w]


def _rows(conv: nn.Conv2d, outputs: slice) -> tuple[Tensor, Tensor]:
    """The weight and bias of some of ``conv``'s output channels: one half of a gate."""
    return conv.weight[outputs], conv.bias[outputs]


class NAFBlock(nn.Module):
    """NAFNet block: a gated depthwise-conv mixer and a gated feed-forward, each residual.

    ``z = x + beta * conv3(sca(sg(dw(conv1(LN(x))))))`` then
    ``out = z + gamma * conv5(sg(conv4(LN(z))))`` with ``sca(u) = u * conv(avgpool(u))``
    (Chen et al., ECCV 2022). ``beta`` and ``gamma`` start at zero, so a fresh block is the
    identity and deep stacks train stably.

    Args:
        channels: feature channels ``C``.
        expand: channel expansion of both branches before the gate.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Example:
        >>> NAFBlock(channels=16)(torch.rand(1, 16, 8, 8)).shape
        torch.Size([1, 16, 8, 8])
    """

    def __init__(self, *, channels: int, expand: int = 2):
        super().__init__()
        hidden = channels * expand
        self.norm1 = LayerNorm2d(channels)
        self.conv1 = PointwiseConv2d(channels, hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, groups=hidden)
        self.sg = SimpleGate()
        self.sca = ChannelAttention(hidden // 2)
        self.conv3 = PointwiseConv2d(hidden // 2, channels)
        self.norm2 = LayerNorm2d(channels)
        self.conv4 = PointwiseConv2d(channels, hidden)
        self.conv5 = PointwiseConv2d(hidden // 2, channels)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.scales_folded = False

    def fold_scales(self) -> None:
        """For inference: fold ``beta``, ``gamma`` and the norms' affine maps into the 1x1 convolutions beside them.

        ``beta`` and ``gamma`` go into ``conv3`` and ``conv5``, each norm's ``w * . + b`` into the
        ``conv1`` or ``conv4`` that reads it. The block computes the same function (its state dict
        too, with the scales set to one and the norms' biases to zero), two full-map multiplies
        fewer, and on CPU float32 without autograd its gates' multiplies, the attention's multiply
        and the residual adds run fused into the convolutions before them (:meth:`forward_fused`):
        1.02-1.07x faster on an AVX2 CPU (``scripts/denoiser_speed.py --unfused``). Training it
        afterwards would leave the scales frozen, so this is for models that only run.
        """
        with torch.no_grad():
            for conv, scale in ((self.conv3, self.beta), (self.conv5, self.gamma)):
                conv.weight.mul_(scale.view(-1, 1, 1, 1))
                conv.bias.mul_(scale.view(-1))
                scale.fill_(1)
            for norm, conv in ((self.norm1, self.conv1), (self.norm2, self.conv4)):
                conv.bias.add_(conv.weight.flatten(1) @ norm.bias)
                conv.weight.mul_(norm.weight.view(1, -1, 1, 1))
                norm.weight.fill_(1)
                norm.bias.zero_()
        self.scales_folded = True

    def forward_fused(self, x: Tensor) -> Tensor:
        """:meth:`forward` of a folded block as oneDNN convolutions with the element-wise steps fused in.

        Each gate ``a * b`` becomes two half convolutions, the second multiplying by the first as it
        writes; with one image and global attention its weights scale ``conv3``'s inputs; the
        residual adds ride on ``conv3`` and ``conv5``. Only the layer norms remain passes of their own.
        """
        half = self.conv3.in_channels
        a, b = slice(None, half), slice(half, None)
        normed = self.norm1(x, affine=False)
        first = onednn_conv(onednn_conv(normed, *_rows(self.conv1, a)), *_rows(self.conv2, a), groups=half, padding=1)
        u = onednn_conv(
            onednn_conv(normed, *_rows(self.conv1, b)),
            *_rows(self.conv2, b),
            groups=half,
            padding=1,
            then=("mul", first),
        )
        attention = self.sca(u)
        w3 = self.conv3.weight
        if attention.shape[0] == 1 and attention.shape[-2:] == (1, 1):
            w3 = w3 * attention.view(1, -1, 1, 1)
        else:
            u = u * attention
        z = onednn_conv(u, w3, self.conv3.bias, then=("add", x))
        normed = self.norm2(z, affine=False)
        gated = onednn_conv(normed, *_rows(self.conv4, b), then=("mul", onednn_conv(normed, *_rows(self.conv4, a))))
        return onednn_conv(gated, self.conv5.weight, self.conv5.bias, then=("add", z))

    def forward(self, x: Tensor) -> Tensor:
        if self.scales_folded and onednn_fusion_applies(x):
            return self.forward_fused(x)
        u = self.sg(self.conv2(self.conv1(self.norm1(x))))
        mixed = self.conv3(u * self.sca(u))
        z = x + (mixed if self.scales_folded else self.beta * mixed)
        fed_forward = self.conv5(self.sg(self.conv4(self.norm2(z))))
        return z + (fed_forward if self.scales_folded else self.gamma * fed_forward)


class NAFNetDenoiser(nn.Module):
    """Noise-level-conditional NAFNet U-Net: ``x_hat = y + D([y, sigma * 1])``.

    The noise map is concatenated to the input; the network predicts the residual. Each encoder
    level is ``enc_blocks[i]`` NAF blocks then a 2x2 stride-2 convolution doubling the channels;
    each decoder level a 1x1 convolution + pixel shuffle halving them, the skip added, then
    ``dec_blocks[i]`` blocks. Inputs are padded to a multiple of ``2 ** len(enc_blocks)``.
    With ``sigma=None`` the level is estimated by :func:`restore.estimate.estimate_sigma`
    (blind mode).

    Args:
        in_channels: image channels, 1 (gray) or 3 (color).
        width: channels at full resolution.
        enc_blocks: NAF blocks per encoder level (its length is the number of levels).
        middle_blocks: NAF blocks at the bottleneck.
        dec_blocks: NAF blocks per decoder level, coarsest first; same length as ``enc_blocks``.

    Shape:
        ``y: (N, in_channels, H, W)``, ``sigma``: float, ``(N,)`` tensor or ``None`` ->
        ``(N, in_channels, H, W)``.

    Example:
        >>> net = NAFNetDenoiser(in_channels=1, width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1))
        >>> net(torch.rand(2, 1, 31, 47), 0.1).shape
        torch.Size([2, 1, 31, 47])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        width: int = 32,
        enc_blocks: Sequence[int] = (1, 1, 2),
        middle_blocks: int = 2,
        dec_blocks: Sequence[int] = (1, 1, 1),
    ):
        super().__init__()
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError(f"enc_blocks and dec_blocks need the same length, got {enc_blocks} and {dec_blocks}")
        self.in_channels = in_channels
        self.multiple = 2 ** len(enc_blocks)
        self.intro = nn.Conv2d(in_channels + 1, width, kernel_size=3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        channels = width
        for n in enc_blocks:
            self.encoders.append(nn.Sequential(*(NAFBlock(channels=channels) for _ in range(n))))
            self.downs.append(nn.Conv2d(channels, 2 * channels, kernel_size=2, stride=2))
            channels *= 2
        self.middle = nn.Sequential(*(NAFBlock(channels=channels) for _ in range(middle_blocks)))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for n in dec_blocks:
            self.ups.append(nn.Sequential(PointwiseConv2d(channels, 2 * channels, bias=False), nn.PixelShuffle(2)))
            channels //= 2
            self.decoders.append(nn.Sequential(*(NAFBlock(channels=channels) for _ in range(n))))
        self.ending = nn.Conv2d(width, in_channels, kernel_size=3, padding=1)

    def pool_locally(self, patch: int | None) -> None:
        """Channel attention over windows of ``patch`` px (the training patch) at each scale; None: global."""
        depth = len(self.encoders)
        stages = [*zip(self.encoders, range(depth), strict=True), (self.middle, depth)]
        stages += zip(self.decoders, reversed(range(depth)), strict=True)
        for stage, level in stages:
            for block in stage:
                block.sca.window = None if patch is None else max(patch >> level, 1)

    def forward(self, y: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        if y.dim() != 4 or y.shape[1] != self.in_channels:
            raise ValueError(f"expected y of shape (N, {self.in_channels}, H, W), got {tuple(y.shape)}")
        h, w = y.shape[-2:]
        level = noise_level(sigma, y).view(-1, 1, 1, 1).expand(-1, 1, h, w)
        x = pad_to_multiple(torch.cat([y, level], dim=1), self.multiple)
        x = self.intro(x)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = decoder(up(x) + skip)
        return y + self.ending(x)[..., :h, :w]


NAFNET_DENOISER_SMALL: dict = {
    "in_channels": 3,
    "width": 16,
    "enc_blocks": (1, 1, 2),
    "middle_blocks": 2,
    "dec_blocks": (1, 1, 1),
}
"""Fast on a CPU: width 16, three levels."""

NAFNET_DENOISER: dict = {
    "in_channels": 3,
    "width": 32,
    "enc_blocks": (2, 2, 4),
    "middle_blocks": 6,
    "dec_blocks": (2, 2, 2),
}
"""Wider and deeper: width 32, three levels."""


def gray_from_colour_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """A colour :class:`NAFNetDenoiser`'s tensors as the gray one of the same blocks.

    The gray network computes exactly the colour network run on the gray image replicated over
    R, G and B, its three outputs averaged: the input convolution sums its weights over the
    colour channels (the noise-level channel stays), the output convolution averages its rows.
    """
    intro, ending = state["intro.weight"], state["ending.weight"]
    if intro.shape[1] != 4 or ending.shape[0] != 3:
        raise ValueError(f"expected a colour denoiser's tensors, got intro {tuple(intro.shape)}")
    gray = dict(state)
    gray["intro.weight"] = torch.cat([intro[:, :3].sum(1, keepdim=True), intro[:, 3:]], dim=1)
    gray["ending.weight"] = ending.mean(0, keepdim=True)
    gray["ending.bias"] = state["ending.bias"].mean(0, keepdim=True)
    return gray
