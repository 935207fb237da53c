"""Clip transforms (one random draw per clip) and batch-level mixing with soft targets.

:class:`ClipTransform` draws its parameters once per clip (:meth:`ClipTransform.draw`) and
applies the same crop, flip and colour change to every frame (:meth:`ClipTransform.apply`):
drawing them per frame, as some video toolkits do, makes the clip flicker and teaches the
model motion that is not there.

:func:`mixup`, :func:`cutmix` (a box over H, W and a time range) and :func:`smooth_labels`
work on batches and return soft targets ``(N, num_classes)`` for a soft cross-entropy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...models._base import DataConfig
from ..transforms import GREY, check_hue_jitter, hue_draw, jitter_draw, normalise_u8


@dataclass
class ClipAugment:
    """Training augmentation strengths, all drawn once per clip.

    Attributes:
        scale: range of (resized short side / crop short side); the crop then lands at a random
            position. Evaluation resizes to ``1 / crop_ratio`` of the crop and takes the centre.
        hflip: flip the whole clip left-right with probability 0.5.
        colour_jitter: brightness / contrast / saturation strength (0: off).
        hue_jitter: turn every colour about the grey axis by up to this fraction of a full turn
            (0: off; 0.5: any hue), with the colour jitter.
        blur: Gaussian blur of half the clips, sigma drawn in [0.2, blur] pixels of the model
            input (0: off): for footage softer than the training videos (another camera, focus or
            compression).
        aspect: stretch or squeeze the crop's width by a factor drawn log-uniformly in
            ``[1 / (1 + aspect), 1 + aspect]`` (0: off): a body seen from a camera turned part of
            the way round looks narrower or wider than from the views in the training set.
    """

    scale: tuple[float, float] = (1.0, 1.3)
    hflip: bool = True
    colour_jitter: float = 0.2
    hue_jitter: float = 0.0
    blur: float = 0.0
    aspect: float = 0.0


@dataclass(frozen=True)
class ClipParams:
    """One clip's draw: the crop box in source pixels, the flip and the colour jitter draw."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in the source frames
    flip: bool
    jitter_seed: int | None  # colour jitter seed (None: no jitter)
    blur_sigma: float = 0.0  # Gaussian blur in model-input pixels (0: none)


def check_blur_aspect(blur: float, aspect: float, owner: str = "") -> None:
    """Raise ValueError unless ``blur`` is a sigma in [0, 10] pixels and ``aspect`` in [0, 1] (``owner`` prefixes the names)."""
    if not 0 <= blur <= 10:
        raise ValueError(f"{owner}blur must be a sigma in [0, 10] pixels, got {blur}")
    if not 0 <= aspect <= 1:
        raise ValueError(f"{owner}aspect must be in [0, 1], got {aspect}")


def blur_draw(rng: np.random.Generator, blur: float) -> float:
    """One clip's blur: for half the clips a sigma in ``[0.2, blur]`` model-input pixels, else 0 (none)."""
    return float(rng.uniform(0.2, blur)) if blur > 0.2 and rng.random() < 0.5 else 0.0


def aspect_draw(rng: np.random.Generator, aspect: float) -> float:
    """One clip's width factor, log-uniform in ``[1 / (1 + aspect), 1 + aspect]``."""
    return float(np.exp(rng.uniform(-1.0, 1.0) * np.log1p(aspect)))


def clip_colour_jitter_u8(rgb: np.ndarray, rng: np.random.Generator, strength: float, hue: float = 0.0) -> np.ndarray:
    """Brightness, contrast and saturation jitter of a whole uint8 clip ``(T, H, W, 3)``, in place; one draw for all frames.

    The draws and formula of :func:`actkit.data.transforms.colour_jitter` (the grey mean is the
    clip's): saturation, contrast and brightness together are ``rgb' = M @ rgb + o`` with a 3x3
    ``M``, one OpenCV ``transform`` pass that also clips to [0, 255]. Equal to the float formula up
    to the rounding of the result to uint8 (within one grey level). ``hue`` > 0 also turns every
    colour by one angle drawn in ``[-hue, hue]`` of a full turn (:func:`actkit.data.transforms.hue_rotation`), drawn after
    the others so that ``hue=0`` keeps the same draws.
    """
    import cv2

    b, c, s = jitter_draw(rng, strength)
    flat = rgb.reshape(-1, rgb.shape[-2], 3)  # (T*H, W, 3): one image for OpenCV
    mean = float(np.dot(cv2.mean(flat)[:3], GREY)) / 255.0
    m = np.empty((3, 4), np.float32)
    m[:, :3] = (1 - s) * c * GREY[None, :]
    m[:, :3] += np.eye(3, dtype=np.float32) * (s * c)
    if hue > 0:
        m[:, :3] = m[:, :3] @ hue_draw(rng, hue)
    m[:, 3] = 255.0 * (mean * (1 - c) + b)
    cv2.transform(flat, m, dst=flat)
    return rgb


class ClipTransform:
    """uint8 frames ``(T, H, W, 3)`` -> normalised float32 ``(C, T, h, w)`` for a clip model.

    Resizing the short side then cropping ``data_cfg.input_size`` is done as one crop of the
    source followed by one resize per frame (same result, fewer pixels touched).

    Args:
        data_cfg: the model's preprocessing (input size, colour mode, mean, std).
        aug: training augmentation; None for evaluation (centre crop, nothing random).
        crop_ratio: crop short side / resized short side at evaluation (0.875: 112 from 128,
            the torchvision video-model recipe).
    """

    def __init__(self, data_cfg: DataConfig, aug: ClipAugment | None = None, crop_ratio: float = 0.875) -> None:
        if not 0 < crop_ratio <= 1:
            raise ValueError(f"crop_ratio must be in (0, 1], got {crop_ratio}")
        if aug is not None and not 0 < aug.scale[0] <= aug.scale[1]:
            raise ValueError(f"ClipAugment.scale must be 0 < lo <= hi, got {aug.scale}")
        if aug is not None:
            check_hue_jitter(aug.hue_jitter)
        if aug is not None:
            check_blur_aspect(aug.blur, aug.aspect, "ClipAugment.")
        self.data_cfg, self.aug, self.crop_ratio = data_cfg, aug, crop_ratio

    def __repr__(self) -> str:
        return f"ClipTransform(input_size={self.data_cfg.input_size}, aug={self.aug}, crop_ratio={self.crop_ratio})"

    def draw(self, height: int, width: int, rng: np.random.Generator | None = None) -> ClipParams:
        """Draw the parameters of one clip of ``height`` x ``width`` frames (deterministic without rng)."""
        th, tw = self.data_cfg.input_size
        train = rng is not None and self.aug is not None
        # The crop, in resized pixels, is th x tw; the short side is resized to ``short``.
        ratio = 1.0 / self.crop_ratio if not train else float(rng.uniform(*self.aug.scale))
        crop_short = min(th, tw)
        short = max(crop_short, crop_short * ratio)
        s = short / min(height, width)  # source -> resized
        ch, cw = min(height, int(round(th / s))), min(width, int(round(tw / s)))
        ch, cw = max(ch, 1), max(cw, 1)
        if train and self.aug.aspect > 0:  # a crop r times as wide (for its height) is squeezed r times by the resize
            r = aspect_draw(rng, self.aug.aspect)
            if cw * r <= width:
                cw = max(1, int(round(cw * r)))
            else:  # no room to widen: take a shorter crop instead, the same squeeze
                ch, cw = max(1, int(round(ch * width / (cw * r)))), width
        if train:
            y0 = int(rng.integers(0, height - ch + 1))
            x0 = int(rng.integers(0, width - cw + 1))
            flip = bool(self.aug.hflip and rng.random() < 0.5)
            jitter = int(rng.integers(1 << 31)) if self.aug.colour_jitter or self.aug.hue_jitter else None
            blur = blur_draw(rng, self.aug.blur)
        else:
            y0, x0, flip, jitter, blur = (height - ch) // 2, (width - cw) // 2, False, None, 0.0
        return ClipParams((x0, y0, x0 + cw, y0 + ch), flip, jitter, blur)

    def apply(self, frames: np.ndarray, params: ClipParams) -> np.ndarray:
        """Apply one clip's ``params`` to every frame: ``(T, H, W, 3)`` uint8 -> ``(C, T, h, w)`` float32.

        Crop, resize, blur, flip and colour jitter all stay in uint8 (a quarter of the bytes to
        move); one table lookup per channel then gives the normalised floats.
        """
        import cv2

        th, tw = self.data_cfg.input_size
        x0, y0, x1, y1 = params.box
        u8 = np.empty((len(frames), th, tw, 3), np.uint8)
        interp = cv2.INTER_AREA if y1 - y0 > th or x1 - x0 > tw else cv2.INTER_LINEAR
        for k, f in enumerate(frames):
            cv2.resize(np.ascontiguousarray(f[y0:y1, x0:x1]), (tw, th), dst=u8[k], interpolation=interp)
            if params.blur_sigma > 0:
                cv2.GaussianBlur(u8[k], (0, 0), params.blur_sigma, dst=u8[k])
        if params.jitter_seed is not None:
            clip_colour_jitter_u8(u8, np.random.default_rng(params.jitter_seed), self.aug.colour_jitter,
                                  self.aug.hue_jitter)
        if params.flip:
            u8 = u8[:, :, ::-1]
        return normalise_u8(u8, self.data_cfg)

    def __call__(self, frames: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Draw once for the clip and apply to every frame.

        Args:
            frames: ``(T, H, W, 3)`` uint8 RGB.
            rng: random generator (training); None for evaluation.

        Returns:
            float32 ``(C, T, h, w)``.
        """
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected uint8 frames (T, H, W, 3), got {frames.dtype} {frames.shape}")
        return self.apply(frames, self.draw(frames.shape[1], frames.shape[2], rng))


# --------------------------------------------------------------------------- batch mixing


def one_hot(labels, num_classes: int, smoothing: float = 0.0):
    """Integer labels ``(N,)`` -> soft targets ``(N, num_classes)`` with optional label smoothing.

    Smoothing ``e`` puts ``1 - e + e / K`` on the true class and ``e / K`` on the others.
    """
    import torch

    labels = torch.as_tensor(labels, dtype=torch.long)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got {labels.min().item()}..{labels.max().item()}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {smoothing}")
    out = torch.full((labels.shape[0], num_classes), smoothing / num_classes)
    out.scatter_(1, labels[:, None], 1 - smoothing + smoothing / num_classes)
    return out


def smooth_labels(labels, num_classes: int, smoothing: float = 0.1):
    """Label smoothing: alias of :func:`one_hot` with a default strength."""
    return one_hot(labels, num_classes, smoothing)


def _soft(targets, num_classes: int, smoothing: float):
    import torch

    targets = torch.as_tensor(targets)
    if targets.ndim == 1:
        return one_hot(targets, num_classes, smoothing)
    return targets.float()


def _batch_rng(generator) -> np.random.Generator:
    """A numpy rng drawn from ``generator`` (reproducible) or from torch's global state."""
    import torch

    return np.random.default_rng(int(torch.randint(1 << 31, (1,), generator=generator)))


def mixup(x, targets, num_classes: int, alpha: float = 0.2, smoothing: float = 0.0, generator=None):
    """Blend each sample with another of the batch: ``x = l x + (1-l) x[perm]``, targets likewise.

    Args:
        x: batch ``(N, ...)`` float tensor.
        targets: ``(N,)`` int labels or ``(N, num_classes)`` soft targets.
        num_classes: classes.
        alpha: Beta(alpha, alpha) parameter for the mixing weight (one weight per batch).
        smoothing: label smoothing applied to integer labels first.
        generator: ``torch.Generator`` for reproducible draws.

    Returns:
        ``(mixed x, soft targets (N, num_classes), lam)``.
    """
    import torch

    y = _soft(targets, num_classes, smoothing)
    if alpha <= 0:
        return x, y, 1.0
    lam = float(_batch_rng(generator).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=generator)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm], lam


def cutmix(x, targets, num_classes: int, alpha: float = 1.0, smoothing: float = 0.0, generator=None):
    """Spatio-temporal cutmix: paste a box over (H, W) and a time range from another sample.

    The box covers a fraction ``1 - lam`` of the clip's volume (side fractions ``(1-lam)^(1/3)``
    in T, H and W); the targets mix by the volume actually pasted (after clipping to the clip).
    A batch of images ``(N, C, H, W)`` is a batch of one-frame clips (the box covers ``1 - lam`` of the area).

    Args:
        x: batch ``(N, C, T, H, W)`` or ``(N, C, H, W)``.
        targets: ``(N,)`` int labels or ``(N, num_classes)`` soft targets.
        num_classes: classes.
        alpha: Beta(alpha, alpha) parameter for ``lam``.
        smoothing: label smoothing applied to integer labels first.
        generator: ``torch.Generator`` for reproducible draws.

    Returns:
        ``(mixed x (a copy), soft targets, lam)`` with ``lam`` the share of the clip kept.
    """
    import torch

    if x.ndim == 4:
        out, y, lam = cutmix(x.unsqueeze(2), targets, num_classes, alpha, smoothing, generator)
        return out.squeeze(2), y, lam
    if x.ndim != 5:
        raise ValueError(f"cutmix expects clips (N, C, T, H, W) or images (N, C, H, W), got shape {tuple(x.shape)}")
    y = _soft(targets, num_classes, smoothing)
    if alpha <= 0:
        return x, y, 1.0
    rng = _batch_rng(generator)
    lam = float(rng.beta(alpha, alpha))
    _, _, t, h, w = x.shape
    side = (1 - lam) ** (1 / 3 if t > 1 else 1 / 2)
    lo_hi = []
    for n in (t, h, w):
        cut = n if n == 1 else int(round(n * side))
        c = int(rng.integers(0, n))
        lo_hi.append((max(0, c - cut // 2), min(n, c + cut - cut // 2)))
    (t0, t1), (y0, y1), (x0, x1) = lo_hi
    perm = torch.randperm(x.shape[0], generator=generator)
    out = x.clone()
    out[:, :, t0:t1, y0:y1, x0:x1] = x[perm][:, :, t0:t1, y0:y1, x0:x1]
    lam = 1 - (t1 - t0) * (y1 - y0) * (x1 - x0) / (t * h * w)
    return out, lam * y + (1 - lam) * y[perm], lam


def soft_cross_entropy(logits, soft_targets):
    """Mean cross-entropy against soft targets (what mixup / cutmix / smoothing produce)."""
    import torch

    return torch.sum(-soft_targets * torch.log_softmax(logits, dim=-1), dim=-1).mean()


__all__ = ["ClipAugment", "ClipParams", "ClipTransform", "clip_colour_jitter_u8", "one_hot", "smooth_labels", "mixup", "cutmix",
           "soft_cross_entropy"]
