"""Forward-model consistency: does the estimate explain the measurement?"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from restore.operators import Operator


def consistency_loss(x_hat: Tensor, y: Tensor, operator: Operator, *, distance: Literal["mse", "l1"] = "mse") -> Tensor:
    """Data fidelity of an estimate, ``mean |A(x_hat) - y|^2`` (or ``mean |A(x_hat) - y|``).

    Uses the same :class:`restore.operators.Operator` that synthesised ``y``: a blur, a
    downsampling (SR), a mask (inpainting), or a composition. It measures consistency with the
    measurement, not closeness to the truth: any ``x_hat`` in ``x + null(A)`` scores zero, so it
    complements a supervised or prior term rather than replacing it.

    Shape:
        ``x_hat: (N, C, H, W)``, ``y``: the shape of ``A(x_hat)`` -> scalar.

    Example:
        >>> from restore.operators import Downsample
        >>> x = torch.rand(1, 3, 32, 32)
        >>> float(consistency_loss(x, Downsample(2).A(x), Downsample(2)))
        0.0
    """
    residual = operator.A(x_hat) - y
    if distance == "mse":
        return residual.pow(2).mean()
    if distance == "l1":
        return residual.abs().mean()
    raise ValueError(f"unknown distance {distance!r}")
