"""Fast Fourier Convolutions and a LaMa-style inpainting generator.

FFC (Chi, Jiang, Mu, NeurIPS 2020) splits the channels into a local part, processed by ordinary
convolutions, and a global part, processed in the frequency domain, where one 1x1 convolution
mixes every spatial position with every other: a receptive field of the whole image in the first
layer. LaMa (Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier Convolutions",
WACV 2022) stacks FFC residual blocks between a downsampling encoder and an upsampling decoder.

Unlike the reference code, the local and global parts always travel as two tensors (a part with
no channels is an ``(N, 0, H, W)`` tensor, never ``0`` or a missing tuple element), FFTs run in
float32 under autocast, and the local Fourier unit works on odd and non-square sizes.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restore.classical import opencv_inpaint
from restore.solvers import pull_push_fill

from .common import PointwiseConv2d, fft_dtype, pad_to_multiple

OutActivation = Literal["sigmoid", "none"]
HoleFill = Literal["zeros", "pull_push", "telea"]


class FourierUnit(nn.Module):
    """A 1x1 convolution applied to the spectrum of a feature map.

    ``out = irfft2(ReLU(BN(W [Re F(x); Im F(x)])))`` with ``F`` the orthonormal 2-D real FFT
    and ``W`` a 1x1 convolution mixing the stacked real and imaginary parts (FFC, Chi et al. 2020).
    Real and imaginary parts are interleaved per channel (``c0.re, c0.im, c1.re, ...``), as in
    LaMa, so LaMa's ``conv_layer`` weights apply unchanged. The FFT and the spectral convolution
    run in float32 (float64 for float64 inputs) with autocast disabled: half-precision FFTs are
    unsupported on CPU and lose too much precision on GPU.

    Args:
        in_channels: channels of ``x``.
        out_channels: channels of the output.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H, W)``, any H and W.

    Example:
        >>> fu = FourierUnit(in_channels=8, out_channels=8)
        >>> fu(torch.rand(2, 8, 15, 22)).shape
        torch.Size([2, 8, 15, 22])
    """

    def __init__(self, *, in_channels: int, out_channels: int):
        super().__init__()
        self.conv_layer = PointwiseConv2d(2 * in_channels, 2 * out_channels, bias=False)
        self.bn = nn.BatchNorm2d(2 * out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        work = fft_dtype(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            spectrum = torch.fft.rfft2(x.to(work), norm="ortho")
            z = torch.stack((spectrum.real, spectrum.imag), dim=2).flatten(1, 2)
            weight_dtype = self.conv_layer.weight.dtype
            z = self.relu(self.bn(self.conv_layer(z.to(weight_dtype)))).to(work)
            z = z.unflatten(1, (-1, 2))
            out = torch.fft.irfft2(torch.complex(z[:, :, 0], z[:, :, 1]), s=size, norm="ortho")
        return out.to(x.dtype)


class SpectralTransform(nn.Module):
    """The global-to-global path of an FFC: 1x1 reduce, Fourier unit with a residual, 1x1 expand.

    ``out = W2 (u + FU(u) + LFU(u))`` with ``u = ReLU(BN(W1 x))`` (FFC, Chi et al. 2020). The
    optional local Fourier unit (LFU) folds the four quadrants of a quarter of the channels into
    the channel axis, runs a Fourier unit at half resolution and tiles the result back, which
    adds semi-global context. Quadrants are ``ceil(H / 2) x ceil(W / 2)`` (odd sizes padded by
    one replicated row/column, tiled result cropped back), so it works on any size.

    Args:
        in_channels: global channels in.
        out_channels: global channels out (even; halved inside).
        stride: 1, or 2 for a 2x2 average pool first.
        enable_lfu: add the local Fourier unit (needs ``out_channels // 2`` divisible by 4).

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H // stride, W // stride)``.

    Example:
        >>> st = SpectralTransform(in_channels=16, out_channels=16, enable_lfu=True)
        >>> st(torch.rand(1, 16, 13, 20)).shape
        torch.Size([1, 16, 13, 20])
    """

    def __init__(self, *, in_channels: int, out_channels: int, stride: int = 1, enable_lfu: bool = False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = out_channels // 2
        if enable_lfu and hidden % 4:
            raise ValueError(f"the local Fourier unit needs out_channels // 2 divisible by 4, got {hidden}")
        self.downsample = nn.AvgPool2d(kernel_size=2, stride=2) if stride == 2 else nn.Identity()
        self.conv1 = nn.Sequential(
            PointwiseConv2d(in_channels, hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)
        )
        self.fu = FourierUnit(in_channels=hidden, out_channels=hidden)
        self.lfu = FourierUnit(in_channels=hidden, out_channels=hidden) if enable_lfu else None
        self.conv2 = PointwiseConv2d(hidden, out_channels, bias=False)

    def _local_fourier(self, u: Tensor) -> Tensor:
        h, w = u.shape[-2:]
        qh, qw = (h + 1) // 2, (w + 1) // 2
        part = F.pad(u[:, : u.shape[1] // 4], (0, 2 * qw - w, 0, 2 * qh - h), mode="replicate")
        part = torch.cat(part.split(qh, dim=-2), dim=1)
        part = torch.cat(part.split(qw, dim=-1), dim=1)
        return self.lfu(part).repeat(1, 1, 2, 2)[..., :h, :w]

    def forward(self, x: Tensor) -> Tensor:
        u = self.conv1(self.downsample(x))
        z = u + self.fu(u)
        if self.lfu is not None:
            z = z + self._local_fourier(u)
        return self.conv2(z)


def _split(channels: int, ratio: float) -> tuple[int, int]:
    """(local, global) channel counts; the global count is ``int(channels * ratio)`` as in FFC/LaMa."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"global ratio must lie in [0, 1], got {ratio}")
    n_global = int(channels * ratio)
    return channels - n_global, n_global


class FFC(nn.Module):
    """Fast Fourier Convolution on a (local, global) pair of feature maps.

    ``y_l = conv_l2l(x_l) + conv_g2l(x_g)``, ``y_g = conv_l2g(x_l) + ST(x_g)`` with ``ST`` the
    :class:`SpectralTransform` (Chi et al., NeurIPS 2020). Paths whose input or output has no
    channels are absent (``None`` attributes). A ratio of 0 everywhere is a plain convolution.

    Args:
        in_channels: total input channels (local + global).
        out_channels: total output channels.
        kernel_size: size of the three spatial convolutions.
        ratio_gin: fraction of input channels that are global.
        ratio_gout: fraction of output channels that are global.
        stride: 1 or 2.
        padding: padding of the spatial convolutions (reflect).
        enable_lfu: local Fourier unit in the spectral transform.

    Shape:
        ``x_l: (N, in_l, H, W)``, ``x_g: (N, in_g, H, W)`` -> ``(N, out_l, H', W')``,
        ``(N, out_g, H', W')`` with ``in_g = int(in_channels * ratio_gin)``, ``in_l`` the rest.

    Example:
        >>> ffc = FFC(in_channels=16, out_channels=16, kernel_size=3, ratio_gin=0.5, ratio_gout=0.5, padding=1)
        >>> y_l, y_g = ffc(torch.rand(1, 8, 20, 30), torch.rand(1, 8, 20, 30))
        >>> y_l.shape, y_g.shape
        (torch.Size([1, 8, 20, 30]), torch.Size([1, 8, 20, 30]))
    """

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        ratio_gin: float,
        ratio_gout: float,
        stride: int = 1,
        padding: int = 0,
        enable_lfu: bool = False,
    ):
        super().__init__()
        in_l, in_g = _split(in_channels, ratio_gin)
        out_l, out_g = _split(out_channels, ratio_gout)
        self.in_channels = (in_l, in_g)
        self.out_channels = (out_l, out_g)
        self.stride = stride

        def conv(cin: int, cout: int) -> nn.Conv2d | None:
            if cin == 0 or cout == 0:
                return None
            return nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False, padding_mode="reflect")

        self.convl2l = conv(in_l, out_l)
        self.convl2g = conv(in_l, out_g)
        self.convg2l = conv(in_g, out_l)
        self.convg2g = (
            SpectralTransform(in_channels=in_g, out_channels=out_g, stride=stride, enable_lfu=enable_lfu)
            if in_g and out_g
            else None
        )

    def forward(self, x_l: Tensor, x_g: Tensor) -> tuple[Tensor, Tensor]:
        if (x_l.shape[1], x_g.shape[1]) != self.in_channels:
            raise ValueError(
                f"expected (local, global) channels {self.in_channels}, got {(x_l.shape[1], x_g.shape[1])}"
            )
        out_l = _sum_paths([(self.convl2l, x_l), (self.convg2l, x_g)])
        out_g = _sum_paths([(self.convl2g, x_l), (self.convg2g, x_g)])
        if out_l is None:
            out_l = out_g.new_zeros(out_g.shape[0], 0, *out_g.shape[-2:])
        if out_g is None:
            out_g = out_l.new_zeros(out_l.shape[0], 0, *out_l.shape[-2:])
        return out_l, out_g


def _sum_paths(paths: list[tuple[nn.Module | None, Tensor]]) -> Tensor | None:
    outputs = [module(x) for module, x in paths if module is not None]
    if not outputs:
        return None
    total = outputs[0]
    for out in outputs[1:]:
        total = total + out
    return total


class FFCNormAct(nn.Module):
    """FFC followed by BatchNorm and an activation on each part (LaMa's ``FFC_BN_ACT``).

    ``(y_l, y_g) = (act(BN(FFC_l)), act(BN(FFC_g)))``; empty parts pass through untouched.

    Args:
        as :class:`FFC`, plus ``activation``: ReLU after the norms (identity if False).

    Shape:
        as :class:`FFC`.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        ratio_gin: float,
        ratio_gout: float,
        stride: int = 1,
        padding: int = 0,
        enable_lfu: bool = False,
        activation: bool = True,
    ):
        super().__init__()
        self.ffc = FFC(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=kernel_size,
            ratio_gin=ratio_gin,
            ratio_gout=ratio_gout,
            stride=stride,
            padding=padding,
            enable_lfu=enable_lfu,
        )
        out_l, out_g = self.ffc.out_channels
        self.bn_l = nn.BatchNorm2d(out_l) if out_l else nn.Identity()
        self.bn_g = nn.BatchNorm2d(out_g) if out_g else nn.Identity()
        self.act = nn.ReLU(inplace=True) if activation else nn.Identity()

    def forward(self, x_l: Tensor, x_g: Tensor) -> tuple[Tensor, Tensor]:
        y_l, y_g = self.ffc(x_l, x_g)
        return self.act(self.bn_l(y_l)), self.act(self.bn_g(y_g))


class FFCResnetBlock(nn.Module):
    """Residual block of two 3x3 FFC-BN-ReLU layers, ``(x_l, x_g) + F(x_l, x_g)`` (LaMa).

    With ``ratio=0`` it is an ordinary two-convolution residual block, the local baseline the
    tests compare the global receptive field against.

    Args:
        channels: total channels (local + global).
        ratio: fraction of channels that are global.
        enable_lfu: local Fourier unit in the spectral transforms.

    Shape:
        ``x_l: (N, channels - int(channels * ratio), H, W)``, ``x_g: (N, int(channels * ratio), H, W)``,
        returned with the same shapes.

    Example:
        >>> block = FFCResnetBlock(channels=32, ratio=0.75)
        >>> y_l, y_g = block(torch.rand(1, 8, 16, 24), torch.rand(1, 24, 16, 24))
    """

    def __init__(self, *, channels: int, ratio: float, enable_lfu: bool = False):
        super().__init__()
        layer = dict(
            in_channels=channels,
            out_channels=channels,
            kernel_size=3,
            ratio_gin=ratio,
            ratio_gout=ratio,
            padding=1,
            enable_lfu=enable_lfu,
        )
        self.conv1 = FFCNormAct(**layer)
        self.conv2 = FFCNormAct(**layer)

    def forward(self, x_l: Tensor, x_g: Tensor) -> tuple[Tensor, Tensor]:
        y_l, y_g = self.conv2(*self.conv1(x_l, x_g))
        return x_l + y_l, x_g + y_g


class LamaGenerator(nn.Module):
    """LaMa inpainting generator: FFC encoder, FFC residual blocks, transposed-conv decoder.

    ``x_hat = mask * y + (1 - mask) * G([mask * y, 1 - mask])`` (Suvorov et al., WACV 2022):
    the network sees the image with its holes zeroed plus the hole indicator (LaMa's input
    exactly), and the known pixels are composited back. Inputs are padded to a multiple of
    ``2 ** n_downsampling`` inside and cropped back, so any H x W works.

    Layout (channels for ``base_channels=c``, ``n_downsampling=d``, capped at ``max_channels``):
    reflect-pad 3 + 7x7 FFC (``in_channels -> c``, local only); ``d`` stride-2 3x3 FFCs doubling
    the channels, the last one splitting its output into local/global by ``ratio``; ``n_blocks``
    :class:`FFCResnetBlock`; ``d`` transposed convolutions + BN + ReLU halving the channels;
    reflect-pad 3 + 7x7 convolution to the image channels; sigmoid.

    Mapping a published LaMa checkpoint (``big-lama/models/best.ckpt``, generator keys under
    ``generator.model.<i>.``): with ``d = n_downsampling`` and ``b = n_blocks``, index 1 is
    ``stem``, ``2 + k`` is ``down.k`` (k < d), ``2 + d + j`` is ``blocks.j`` (j < b),
    ``3 + d + b + 3k`` is ``up.k.0`` (the transposed conv) and ``4 + d + b + 3k`` is ``up.k.1``
    (its BN), and ``4 + 4d + b`` is ``head``. Inside the FFC layers the names are LaMa's
    (``ffc.convl2l``, ``ffc.convg2g.conv1.0``, ``ffc.convg2g.fu.conv_layer``, ``bn_l``, ``bn_g``,
    ...), so the rest of each key is unchanged; :func:`convert_lama_state_dict` does the renaming.
    Big LaMa's ``add_out_act: sigmoid`` is ``out_activation="sigmoid"`` here; its mask channel
    is 1 in the holes, which is the ``1 - mask`` channel built in :meth:`forward`.

    ``hole_fill="telea"`` (our lite preset) or ``"pull_push"`` depart from LaMa to learn faster on
    little compute: the holes are first filled by a classical method (OpenCV's Telea, on the CPU
    and without gradient, or the smooth :func:`restore.solvers.pull_push_fill`, in torch), the
    network sees that filled image instead of zeros, and its head, initialised to zero, predicts
    a correction added to the fill. An untrained network is then already a classical inpainter,
    and training only has to learn what the classical fill lacks.

    Args:
        in_channels: image channels + 1 (the mask channel).
        base_channels: channels after the stem (LaMa's ``ngf``).
        n_downsampling: number of stride-2 stages.
        n_blocks: number of FFC residual blocks at the bottleneck.
        ratio: global channel fraction in the bottleneck (LaMa's ``ratio_gin = ratio_gout``).
        enable_lfu: local Fourier units in the bottleneck's spectral transforms.
        max_channels: cap on the channel count (LaMa's ``max_features``).
        out_activation: ``"sigmoid"`` (outputs in [0, 1]) or ``"none"``; must be ``"none"``
            with a classical ``hole_fill``, whose output is the fill plus the head's correction.
        hole_fill: what the network sees in the holes: ``"zeros"`` (LaMa), ``"telea"`` or ``"pull_push"``.

    Shape:
        ``y: (N, in_channels - 1, H, W)``, ``mask: (N, 1, H, W)`` (1 = known) ->
        ``(N, in_channels - 1, H, W)``.

    Example:
        >>> net = LamaGenerator(**LAMA_LITE).eval()
        >>> y, mask = torch.rand(1, 3, 37, 53), (torch.rand(1, 1, 37, 53) > 0.3).float()
        >>> x_hat = net(y, mask)
        >>> bool(((x_hat - y) * mask).abs().max() == 0)
        True
    """

    def __init__(
        self,
        *,
        in_channels: int = 4,
        base_channels: int = 64,
        n_downsampling: int = 3,
        n_blocks: int = 9,
        ratio: float = 0.75,
        enable_lfu: bool = False,
        max_channels: int = 1024,
        out_activation: OutActivation = "sigmoid",
        hole_fill: HoleFill = "zeros",
    ):
        super().__init__()
        if in_channels < 2:
            raise ValueError("in_channels counts the image channels plus one mask channel")
        if out_activation not in ("sigmoid", "none"):
            raise ValueError(f"unknown out_activation {out_activation!r}")
        if hole_fill not in ("zeros", "pull_push", "telea"):
            raise ValueError(f"unknown hole_fill {hole_fill!r}")
        if hole_fill != "zeros" and out_activation != "none":
            raise ValueError(f'hole_fill="{hole_fill}" adds a correction to the fill: use out_activation="none"')
        self.hole_fill = hole_fill
        self.image_channels = in_channels - 1
        self.multiple = 2**n_downsampling
        self.out_activation = out_activation

        def width(mult: int) -> int:
            return min(max_channels, base_channels * mult)

        self.stem = FFCNormAct(
            in_channels=in_channels, out_channels=base_channels, kernel_size=7, ratio_gin=0, ratio_gout=0
        )
        self.down = nn.ModuleList(
            FFCNormAct(
                in_channels=width(2**k),
                out_channels=width(2 ** (k + 1)),
                kernel_size=3,
                ratio_gin=0,
                ratio_gout=ratio if k == n_downsampling - 1 else 0,
                stride=2,
                padding=1,
            )
            for k in range(n_downsampling)
        )
        bottleneck = width(2**n_downsampling)
        self.blocks = nn.ModuleList(
            FFCResnetBlock(channels=bottleneck, ratio=ratio, enable_lfu=enable_lfu) for _ in range(n_blocks)
        )
        self.up = nn.ModuleList(
            nn.Sequential(
                nn.ConvTranspose2d(
                    width(2 ** (n_downsampling - k)),
                    width(2 ** (n_downsampling - k - 1)),
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                ),
                nn.BatchNorm2d(width(2 ** (n_downsampling - k - 1))),
                nn.ReLU(inplace=True),
            )
            for k in range(n_downsampling)
        )
        self.head = nn.Conv2d(base_channels, self.image_channels, kernel_size=7)
        if hole_fill != "zeros":
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def _fill(self, y: Tensor, mask: Tensor) -> Tensor:
        if self.hole_fill == "telea":
            with torch.no_grad():
                return opencv_inpaint(y, mask, "telea")
        if self.hole_fill == "pull_push":
            return pull_push_fill(y, mask)
        return y * mask

    def forward(self, y: Tensor, mask: Tensor) -> Tensor:
        if y.shape[1] != self.image_channels or mask.shape != (y.shape[0], 1, *y.shape[-2:]):
            raise ValueError(
                f"expected y (N, {self.image_channels}, H, W) and mask (N, 1, H, W), "
                f"got {tuple(y.shape)} and {tuple(mask.shape)}"
            )
        h, w = y.shape[-2:]
        mask = mask.to(y.dtype)
        known = self._fill(y, mask)
        # Two pixels at the coarsest scale: its reflect padding needs more than one.
        x = pad_to_multiple(torch.cat([known, 1 - mask], dim=1), self.multiple, minimum=2 * self.multiple)
        x_l, x_g = self.stem(F.pad(x, (3, 3, 3, 3), mode="reflect"), x.new_zeros(x.shape[0], 0, *x.shape[-2:]))
        for layer in self.down:
            x_l, x_g = layer(x_l, x_g)
        for block in self.blocks:
            x_l, x_g = block(x_l, x_g)
        z = torch.cat([x_l, x_g], dim=1)
        for layer in self.up:
            z = layer(z)
        out = self.head(F.pad(z, (3, 3, 3, 3), mode="reflect"))[..., :h, :w]
        if self.out_activation == "sigmoid":
            out = torch.sigmoid(out)
        if self.hole_fill != "zeros":
            out = known + out
        return mask * y + (1 - mask) * out.to(y.dtype)


LAMA_LITE: dict = {
    "in_channels": 4,
    "base_channels": 32,
    "n_downsampling": 2,
    "n_blocks": 4,
    "ratio": 0.75,
    "enable_lfu": False,
    "max_channels": 1024,
    "out_activation": "none",
    "hole_fill": "telea",
}
"""A LaMa small enough to train on a CPU: 32 base channels, bottleneck of 128 at 1/4 resolution,
refining OpenCV's Telea fill, so that training starts from a classical inpainter."""

LAMA_BIG: dict = {
    "in_channels": 4,
    "base_channels": 64,
    "n_downsampling": 3,
    "n_blocks": 18,
    "ratio": 0.75,
    "enable_lfu": False,
    "max_channels": 1024,
    "out_activation": "sigmoid",
    "hole_fill": "zeros",
}
"""The published Big LaMa generator (``configs/training/big-lama.yaml``): ngf 64, 3 downsamplings,
18 FFC blocks at ratio 0.75, no LFU, sigmoid output; about 51M parameters."""


def convert_lama_state_dict(state_dict: dict[str, Tensor], *, n_downsampling: int, n_blocks: int) -> dict[str, Tensor]:
    """Rename a LaMa ``FFCResNetGenerator`` state dict to :class:`LamaGenerator` keys.

    Accepts the keys with or without the ``generator.`` prefix of a LaMa training checkpoint;
    keys outside the generator (discriminator, losses) are dropped. The index arithmetic is
    the one documented on :class:`LamaGenerator`.

    Example:
        >>> list(convert_lama_state_dict({"generator.model.5.conv1.bn_l.weight": torch.ones(128)},
        ...                              n_downsampling=3, n_blocks=18))
        ['blocks.0.conv1.bn_l.weight']
    """
    d, b = n_downsampling, n_blocks
    prefixes = {1: "stem"}
    prefixes.update({2 + k: f"down.{k}" for k in range(d)})
    prefixes.update({2 + d + j: f"blocks.{j}" for j in range(b)})
    for k in range(d):
        prefixes[3 + d + b + 3 * k] = f"up.{k}.0"
        prefixes[4 + d + b + 3 * k] = f"up.{k}.1"
    prefixes[4 + 4 * d + b] = "head"
    converted = {}
    for key, value in state_dict.items():
        key = key.removeprefix("generator.")
        if not key.startswith("model."):
            continue
        index, _, rest = key.removeprefix("model.").partition(".")
        if int(index) not in prefixes:
            raise KeyError(f"LaMa key {key!r} has no counterpart for n_downsampling={d}, n_blocks={b}")
        converted[f"{prefixes[int(index)]}.{rest}"] = value
    return converted
