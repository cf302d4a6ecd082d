"""A weighted sum of named loss terms that reports each term."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import Tensor

Term = Tensor | Callable[[], Tensor]


def combine_losses(terms: Mapping[str, Term], weights: Mapping[str, float]) -> tuple[Tensor, dict[str, Tensor]]:
    """``total = sum_k w_k L_k``, and the unweighted ``L_k``, detached, for logging.

    Every term needs a weight and every weight a term (a typo in a config is an error, not a
    silently missing loss). A term may be a zero-argument callable: it is evaluated only when
    its weight is non-zero, so an expensive loss switched off in the config costs nothing.
    Terms with weight 0 are left out of the report.

    Returns:
        ``(total, report)``: the scalar to backpropagate and ``{name: L_k.detach()}``.

    Example:
        >>> total, report = combine_losses({"l1": torch.tensor(0.5), "ssim": lambda: torch.tensor(0.2)},
        ...                                {"l1": 1.0, "ssim": 0.5})
        >>> round(float(total), 4), sorted(report)
        (0.6, ['l1', 'ssim'])
    """
    missing_weights = sorted(set(terms) - set(weights))
    missing_terms = sorted(set(weights) - set(terms))
    if missing_weights or missing_terms:
        raise KeyError(f"terms without a weight: {missing_weights}; weights without a term: {missing_terms}")
    total: Tensor | None = None
    report: dict[str, Tensor] = {}
    for name, term in terms.items():
        weight = float(weights[name])
        if weight == 0.0:
            continue
        value = term() if callable(term) else term
        if value.dim() != 0:
            raise ValueError(f"loss term {name!r} is not a scalar (shape {tuple(value.shape)})")
        report[name] = value.detach()
        total = weight * value if total is None else total + weight * value
    if total is None:
        raise ValueError("every weight is zero: nothing to optimise")
    return total, report
