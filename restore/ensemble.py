"""Geometric self-ensemble: restore each of the 8 rotations and flips of the input, undo, average.

A network is not exactly equivariant to the dihedral group of the pixel grid, so averaging its
8 transformed answers cancels part of its error (Lim et al., "Enhanced Deep Residual Networks for
Single Image Super-Resolution" (EDSR+), CVPR Workshops 2017; Timofte et al., "Seven ways to
improve example-based single image super resolution", CVPR 2016). The degradation is transformed
with the image: a blur kernel commutes with the grid's symmetries only when rotated and flipped
with it, and a mask is a spatial map like the image.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from .restorer import Degradation, Restorer


def dihedral(x: Tensor, k: int) -> Tensor:
    """Transform ``k`` in 0-7 of the square's symmetry group on the last two axes: ``k % 4``
    quarter turns, then (for ``k >= 4``) a left-right flip."""
    x = torch.rot90(x, k % 4, (-2, -1))
    return x.flip(-1) if k >= 4 else x


def dihedral_inverse(x: Tensor, k: int) -> Tensor:
    """Undo :func:`dihedral`."""
    x = x.flip(-1) if k >= 4 else x
    return torch.rot90(x, -(k % 4), (-2, -1))


class SelfEnsemble(Restorer):
    """``x_hat = mean_k T_k^-1 R(T_k y, T_k d)`` over the first ``transforms`` of the 8 symmetries.

    Costs ``transforms`` calls of ``restorer``; the engine tiles around it as around the
    restorer itself. Given a self-ensemble, it ensembles that one's restorer instead.

    Example:
        >>> from restore.classical import WienerRestorer
        >>> ensemble = SelfEnsemble(WienerRestorer(), 8)
        >>> ensemble(torch.rand(1, 1, 16, 12), Degradation(sigma=0.01, psf=torch.ones(3, 5) / 15)).shape
        torch.Size([1, 1, 16, 12])
    """

    def __init__(self, restorer: Restorer, transforms: int = 8):
        if not 1 <= transforms <= 8:
            raise ValueError(f"a self-ensemble takes 1 to 8 transforms, got {transforms}")
        restorer = restorer.restorer if isinstance(restorer, SelfEnsemble) else restorer
        self.restorer, self.transforms = restorer, transforms
        self.name = f"{restorer.name} x{transforms}"
        self.task, self.multiple = restorer.task, restorer.multiple
        self.tile_size, self.device_capable = restorer.tile_size, restorer.device_capable

    def context(self, degradation: Degradation) -> int:
        return self.restorer.context(degradation)

    def __call__(self, y: Tensor, degradation: Degradation) -> Tensor:
        total = None
        for k in range(self.transforms):
            transformed = replace(
                degradation,
                psf=None if degradation.psf is None else dihedral(degradation.psf, k),
                mask=None if degradation.mask is None else dihedral(degradation.mask, k),
            )
            x_hat = dihedral_inverse(self.restorer(dihedral(y, k), transformed), k)
            total = x_hat if total is None else total + x_hat
        return total / self.transforms
