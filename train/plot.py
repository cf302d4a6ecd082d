"""Loss and validation curves of a run, drawn with OpenCV (no plotting dependency)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np


def _panel(xs: list[float], ys: list[float], title: str, size=(360, 560)) -> np.ndarray:
    h, w = size
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.putText(img, title, (10, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    if len(xs) < 2:
        return img
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    y1 = y1 if y1 > y0 else y0 + 1e-9
    left, right, top, bottom = 60, w - 15, 35, h - 30
    pts = [
        (int(left + (x - x0) / (x1 - x0 or 1) * (right - left)), int(bottom - (y - y0) / (y1 - y0) * (bottom - top)))
        for x, y in zip(xs, ys, strict=True)
    ]
    cv2.rectangle(img, (left, top), (right, bottom), (200, 200, 200), 1)
    cv2.polylines(img, [np.array(pts, np.int32)], False, (180, 80, 20), 2, cv2.LINE_AA)
    for value, y in ((y1, top), (y0, bottom)):
        cv2.putText(img, f"{value:.4g}", (2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, f"step {int(x1)}", (right - 90, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return img


def plot_run(run: Path) -> Path:
    """Write ``run/curves.png`` from ``run/log.csv``: training loss and validation PSNR."""
    rows = list(csv.DictReader((Path(run) / "log.csv").open()))
    loss = [(float(r["step"]), float(r["loss"])) for r in rows if r.get("loss")]
    val = [(float(r["step"]), float(r["val_psnr"])) for r in rows if r.get("val_psnr")]
    panels = [_panel(*zip(*loss, strict=True), "training loss") if loss else _panel([], [], "training loss")]
    panels.append(_panel(*zip(*val, strict=True), "validation PSNR (dB)") if val else _panel([], [], "validation PSNR"))
    out = Path(run) / "curves.png"
    cv2.imwrite(str(out), np.hstack(panels))
    return out
