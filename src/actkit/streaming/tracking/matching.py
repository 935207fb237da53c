"""Box matching: pairwise IoU and the greedy / Hungarian assignment the tracker and the metrics share."""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)
# --------------------------------------------------------------------------- tracking

def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes: (N, 4) x (M, 4) -> (N, M)."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def greedy_match(cost_iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, col) taken in order of decreasing IoU, each row and column once, IoU >= threshold."""
    pairs: list[tuple[int, int]] = []
    if cost_iou.size == 0:
        return pairs
    rows, cols = np.nonzero(cost_iou >= threshold)
    order = np.argsort(-cost_iou[rows, cols], kind="stable")
    used_r, used_c = set(), set()
    for i in order:
        r, c = int(rows[i]), int(cols[i])
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


def hungarian_match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs maximising total IoU (``scipy.optimize.linear_sum_assignment``), IoU >= threshold."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as e:
        raise ImportError("Hungarian matching needs scipy: pip install scipy (or use matching='greedy')") from e
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= threshold]


