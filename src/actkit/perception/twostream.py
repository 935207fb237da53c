"""Two streams, fused late: an image model's class probabilities (appearance) and a pose classifier on
BlazePose keypoints, averaged in log space with a weight chosen on the validation split.

The pose stream sees only geometry: the 33 landmarks centred on the hips and divided by the torso length
(so distance to the camera does not matter), mirrored to a canonical side (the wider shoulder on the
left), with their visibilities; a multinomial logistic regression on those 99 numbers (numpy, L2,
full-batch gradient descent) is fit on the training split. An image with no body found gets a uniform pose
stream, so fusion then falls back to appearance. ``actkit bench --perception --two-stream`` measures what
the pose stream adds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FEATURES = 33 * 3


def pose_features(xy: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """(99,) float32: landmarks about the hips in torso lengths, x mirrored to a canonical side, visibilities."""
    xy, vis = np.asarray(xy, np.float64), np.asarray(visibility, np.float64)
    hips, shoulders = xy[[23, 24]].mean(0), xy[[11, 12]].mean(0)
    scale = max(float(np.hypot(*(shoulders - hips))), 1e-6)
    p = (xy - hips) / scale
    if p[11, 0] > p[12, 0]:  # left shoulder right of the right one: the person faces the camera; mirror x
        p[:, 0] = -p[:, 0]
    return np.concatenate([np.clip(p, -10, 10).ravel(), vis]).astype(np.float32)


class PoseClassifier:
    """Multinomial logistic regression on :func:`pose_features` (feature standardisation learnt on fit)."""

    def __init__(self, num_classes: int, l2: float = 1e-3, steps: int = 500, lr: float = 0.5) -> None:
        self.num_classes, self.l2, self.steps, self.lr = num_classes, l2, steps, lr
        self.w = np.zeros((FEATURES, num_classes))
        self.b = np.zeros(num_classes)
        self.mean, self.std = np.zeros(FEATURES), np.ones(FEATURES)

    def fit(self, x: np.ndarray, y: np.ndarray) -> "PoseClassifier":
        x = np.asarray(x, np.float64)
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        z = (x - self.mean) / self.std
        onehot = np.eye(self.num_classes)[np.asarray(y)]
        for _ in range(self.steps):
            p = self._softmax(z @ self.w + self.b)
            g = (p - onehot) / len(z)
            self.w -= self.lr * (z.T @ g + self.l2 * self.w)
            self.b -= self.lr * g.sum(0)
        return self

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._softmax((np.asarray(x, np.float64) - self.mean) / self.std @ self.w + self.b)

    def save(self, path: str | Path) -> None:
        """Arrays only (``.npz``, no pickle): loading runs no code."""
        np.savez(path, w=self.w, b=self.b, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path: str | Path) -> "PoseClassifier":
        with np.load(path, allow_pickle=False) as z:
            out = cls(z["w"].shape[1])
            out.w, out.b, out.mean, out.std = z["w"], z["b"], z["mean"], z["std"]
        return out


def fuse(appearance: np.ndarray, pose: np.ndarray, found: np.ndarray, weight: float) -> np.ndarray:
    """Late fusion: ``(1 - weight) * log p_appearance + weight * log p_pose`` where a body was found, renormalised;
    appearance alone elsewhere."""
    la, lp = np.log(np.clip(appearance, 1e-8, 1)), np.log(np.clip(pose, 1e-8, 1))
    logits = np.where(np.asarray(found)[:, None], (1 - weight) * la + weight * lp, la)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def choose_weight(appearance: np.ndarray, pose: np.ndarray, found: np.ndarray, labels: np.ndarray,
                  grid: tuple[float, ...] = tuple(np.round(np.linspace(0, 1, 11), 2))) -> float:
    """The fusion weight with the best accuracy on a validation split (ties: the smaller weight)."""
    acc = [float((fuse(appearance, pose, found, w).argmax(1) == labels).mean()) for w in grid]
    return float(grid[int(np.argmax(acc))])


def two_stream_report(appearance: dict[str, np.ndarray], keypoints: dict[str, tuple[np.ndarray, np.ndarray]],
                      labels: dict[str, np.ndarray], num_classes: int) -> dict[str, Any]:
    """Fit the pose stream on ``train``, choose the weight on ``val``, score ``test``: accuracy of appearance
    alone, pose alone (on images with a body) and fused. ``keypoints[split]`` is (features, found)."""
    xtr, ftr = keypoints["train"]
    clf = PoseClassifier(num_classes).fit(xtr[ftr], labels["train"][ftr])
    pose = {s: clf.predict_proba(keypoints[s][0]) for s in ("val", "test")}
    w = choose_weight(appearance["val"], pose["val"], keypoints["val"][1], labels["val"])
    y, found = labels["test"], keypoints["test"][1]
    fused = fuse(appearance["test"], pose["test"], found, w)
    return {"weight": w, "test_images": int(len(y)), "with_body": int(found.sum()),
            "appearance": round(float((appearance["test"].argmax(1) == y).mean()), 4),
            "pose_on_bodies": round(float((pose["test"][found].argmax(1) == y[found]).mean()), 4) if found.any() else None,
            "fused": round(float((fused.argmax(1) == y).mean()), 4)}
