"""Frozen feature extractors for custom classifiers, and the per-video feature cache.

An extractor is a trained **streaming** model (per-frame, causal): the shipped keypoint model ``exercises``
(BlazePose in front, body keypoints normalised as live), any skeleton streaming checkpoint, or any pixel
streaming checkpoint (``actkit train --task stream``). :class:`Trunk` splits it into a frozen bottom whose
output is cached per video and a top of ``finetune`` layers that trains with the new head (0: the head alone,
on the pooled per-frame features).

A video is stepped at the extractor's frame rate from zero history, exactly as ``actkit stream`` starts a
stream (the causal layers see zeros before the first frame: the "left padding" of a live start), so what the
head learns on is what it sees live. Flipped copies (mirrored frames, or mirrored keypoints with left and
right exchanged) are cached beside for the flip augmentation.

Cache: ``DIR/features/<extractor>-<weights sha>/<finetune>/<split>/<class>/<video>.npz``, each holding the
sha256 of the video's bytes and of the extractor; a changed video or extractor is recomputed, never reused.
Body keypoints (the slow part, BlazePose) are cached once per video under ``DIR/features/keypoints/``.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .project import Project, ProjectVideo

log = logging.getLogger(__name__)
POSE_VERSION = "blazepose-full-0.10.21"
HAND_VERSION = "hand-landmark-full-0.10.21"


def file_sha(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def step_indices(frames: int, video_fps: float, model_fps: float) -> np.ndarray:
    """The frames a model trained at ``model_fps`` steps on in a video at ``video_fps`` (the rule of ``actkit
    stream`` and ``actkit evaluate``: every frame unless the video is over 1.2x faster, then one per 1/model_fps)."""
    if not model_fps or not video_fps or video_fps <= model_fps * 1.2:
        return np.arange(frames)
    out, due = [], 0.0
    for t in range(frames):
        if t / video_fps + 1e-9 >= due:
            out.append(t)
            due += 1.0 / model_fps
    return np.asarray(out, np.int64)


# ---------------------------------------------------------------------------- trunks

class Trunk:
    """A streaming model cut before its top ``finetune`` layers: :meth:`bottom` (frozen, cached) and :meth:`top`
    (trained with the head)."""

    kind = ""

    def __init__(self, model: torch.nn.Module, finetune: int = 0) -> None:
        n = len(model.blocks)
        if not 0 <= finetune <= n:
            raise ValueError(f"finetune {finetune}: this extractor has {n} layers to fine-tune (0 = the head only)")
        self.model, self.finetune, self.cut = model, int(finetune), n - int(finetune)

    def top_modules(self) -> list[torch.nn.Module]:
        return list(self.model.blocks[self.cut:])

    @property
    def head(self) -> torch.nn.Linear:
        raise NotImplementedError


class SkeletonTrunk(Trunk):
    """``skel_stream_s``: input (1, 4, T, 33) normalised keypoints."""

    kind = "skeleton"

    def bottom(self, x: torch.Tensor) -> torch.Tensor:
        from ..models.skeleton import normalise_joints, prepare_joints

        m, cfg = self.model, self.model.cfg
        x = normalise_joints(m.data_bn, prepare_joints(x, m.mirror, cfg.depth, cfg.side_invariant), cfg.in_channels)
        for b in m.blocks[:self.cut]:
            x = b(x)
        return x.mean(3)[0].T if self.finetune == 0 else x[0].permute(1, 0, 2)  # (T, C) or (T, C, V)

    def top(self, h: torch.Tensor) -> torch.Tensor:
        if self.finetune == 0:
            return h
        x = h.permute(0, 2, 1, 3)
        for b in self.model.blocks[self.cut:]:
            x = b(x)
        return x.mean(3).transpose(1, 2)

    @property
    def head(self) -> torch.nn.Linear:
        return self.model.head


class PixelTrunk(Trunk):
    """Pixel streaming models (``stream_fast_s``, ``tsm_mobilenetv2``): input (1, C, T, H, W)."""

    kind = "pixel"

    def top_modules(self) -> list[torch.nn.Module]:
        return super().top_modules() + ([self.model.head_conv] if self.finetune else [])

    def bottom(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        _, c, t, h, w = x.shape
        x = m.stem(x.transpose(1, 2).reshape(t, c, h, w))
        for blk in m.blocks[:self.cut]:
            x = blk(x, t)
        return m.head_conv(x).mean((2, 3)) if self.finetune == 0 else x  # (T, F) or (T, C, h, w)

    def top(self, h: torch.Tensor) -> torch.Tensor:
        if self.finetune == 0:
            return h
        b, t = h.shape[:2]
        x = h.reshape(b * t, *h.shape[2:])
        for blk in self.model.blocks[self.cut:]:
            x = blk(x, t)
        return self.model.head_conv(x).mean((2, 3)).view(b, t, -1)

    @property
    def head(self) -> torch.nn.Linear:
        return self.model.fc


class HandTrunk(Trunk):
    """``hand_stream_s``: input (1, 3, T, 42) hand landmarks; a fixed embedding, nothing to fine-tune."""

    kind = "hands"

    def bottom(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.frame_features(x)[0]

    def top(self, h: torch.Tensor) -> torch.Tensor:
        return h

    @property
    def head(self) -> torch.nn.Linear:
        return self.model.head


# ---------------------------------------------------------------------------- extractors

@dataclass
class Extractor:
    """A loaded extractor: its name, the torch model, what it takes, the sha256 of its weights and its checkpoint's
    description (labels, task, ...: everything but the weights)."""

    name: str
    model: torch.nn.Module
    kind: str  # "skeleton", "hands" or "pixel"
    sha: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return float(self.model.data_cfg.fps or 16.0)

    @property
    def layers(self) -> int:
        return len(self.model.blocks)

    def trunk(self, finetune: int = 0) -> Trunk:
        return {"skeleton": SkeletonTrunk, "hands": HandTrunk}.get(self.kind, PixelTrunk)(self.model, finetune)

    @property
    def key(self) -> str:
        return f"{Path(self.name).stem}-{self.sha[:12]}"


HANDS = "hands"  # the built-in hand extractor (hand_stream_s: no trained weights)


def extractors() -> dict[str, str]:
    """Extractors usable by name: the shipped models with torch weights, and ``hands`` (name -> what they are)."""
    from ..models.pretrained import pretrained_models

    out = {n: c.get("input", c["model"]) for n, c in pretrained_models().items() if c.get("weights")}
    out[HANDS] = ("both hands' 21 landmarks from MediaPipe's hand landmarker, a fixed embedding (hand_stream_s): "
                  "for hand-gesture projects")
    return out


def load_extractor(name: str | Path) -> Extractor:
    """A shipped extractor by name (``exercises``) or a streaming checkpoint (``.pt`` of a skeleton or pixel
    streaming model).

    Raises:
        FileNotFoundError: neither. ValueError: the file is not a streaming model (named).
    """
    from ..engine.checkpoint import model_from_checkpoint, read_checkpoint
    from ..models.pretrained import pretrained_weights

    path = Path(name)
    if str(name) == HANDS and not path.is_file():
        from ..models import create_model

        model = create_model("hand_stream_s").eval()
        return Extractor(HANDS, model, "hands", hashlib.sha256(b"hand_stream_s:2").hexdigest(), path)
    if not path.is_file():
        shipped = extractors()
        if str(name) not in shipped:
            raise FileNotFoundError(f"extractor {name!r}: not a file, nor a shipped extractor ({', '.join(shipped)})")
        path = pretrained_weights(str(name))
    if path.suffix != ".pt":
        raise ValueError(f"{name}: an extractor is a torch checkpoint (.pt) of a streaming model; ONNX files "
                         "cannot be cut into layers")
    ckpt = read_checkpoint(path)
    model, ckpt = model_from_checkpoint(ckpt)
    if not (hasattr(model, "init_state") and hasattr(model, "blocks")):
        raise ValueError(f"{name}: {ckpt.get('model_name')} is not a streaming model (an extractor steps frame by "
                         "frame: train one with --task stream or a skel_stream model)")
    kind = {"skeleton": "skeleton", "hands": "hands"}.get(ckpt.get("task"), "pixel")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return Extractor(str(name), model, kind, file_sha(path), path,
                     {k: v for k, v in ckpt.items() if k != "state_dict"})


# ---------------------------------------------------------------------------- per-video inputs

def read_all(src: Any) -> list[np.ndarray]:
    frames = []
    while (rgb := src.read()) is not None:
        frames.append(rgb)
    return frames


def stepped_frames(path: Path, fps: float) -> tuple[list[np.ndarray], np.ndarray, int]:
    """A video's decoded frames, the ones a ``fps`` model steps on (their indices) and the frame count.

    Raises:
        ValueError: nothing could be decoded (named).
    """
    from ..data.video.sources import open_source

    src = open_source(path)
    try:
        vfps = src.fps or fps
        frames = read_all(src)
    finally:
        src.close()
    if not frames:
        raise ValueError(f"{path}: no frames could be decoded")
    return frames, step_indices(len(frames), vfps, fps), len(frames)


def video_keypoints(path: Path, fps: float, threads: int = 1) -> tuple[np.ndarray, np.ndarray, int, int]:
    """BlazePose on the frames a ``fps`` model steps on, tracked and smoothed as live: (steps, 33, 4) keypoints
    (NaN where nobody was found), the video frame of each step, the frame width and the video's frame count."""
    from ..data.keypoint_sequences import person_rows
    from ..perception.people import People, Person

    frames, idx, n = stepped_frames(path, fps)
    people, person = People(("body",), detector=None, threads=threads), Person(0)
    people.people[0] = person
    rows = []
    for j, i in enumerate(idx):
        t = j / fps
        people.update_person(person, frames[i], None, t)
        rows.append(person_rows(people.keypoints(person, t)))
    return np.stack(rows), np.asarray(idx), int(frames[0].shape[1]), n


def video_hands(path: Path, fps: float, threads: int = 1) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The hand landmarker on the frames a ``fps`` model steps on, tracked as live: (steps, 3, 42) rows
    (:func:`~actkit.perception.live.landmark_rows`), the video frame of each step, the width and the frame count."""
    from ..perception.hands import Hands
    from ..perception.live import landmark_rows

    frames, idx, n = stepped_frames(path, fps)
    hands, found, rows = Hands(max_hands=2, threads=threads), [], []
    for i in idx:
        found = hands(frames[i], found)
        rows.append(landmark_rows(found))
    return np.stack(rows), np.asarray(idx), int(frames[0].shape[1]), n


def mirror_hands(rows: np.ndarray, width: int) -> np.ndarray:
    """Hand rows of the mirrored video: x -> width - x where a hand is, left and right hands exchanged."""
    out = np.concatenate([rows[:, :, 21:], rows[:, :, :21]], axis=2).copy()
    out[:, 0] = np.where(out[:, 2] > 0, width - out[:, 0], 0.0)
    return out


def mirror_keypoints(kp: np.ndarray, width: int) -> np.ndarray:
    """Keypoints of the mirrored video: x -> width - x, left and right joints exchanged."""
    from ..models.skeleton import MIRROR

    out = kp[:, MIRROR].copy()
    out[..., 0] = width - out[..., 0]
    return out


def pixel_inputs(path: Path, ext: Extractor) -> tuple[np.ndarray, np.ndarray, int]:
    """The frames a pixel extractor steps on, as its inputs (steps, C, H, W), their video frame indices and the
    video's frame count."""
    from ..streaming.runners import stream_input

    frames, idx, n = stepped_frames(path, ext.fps)
    return np.stack([stream_input(frames[i], None, ext.model.data_cfg) for i in idx]), idx, n


def _load(path: Path, key: str) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        log.warning("%s: unreadable cache file, recomputed", path)
        return None


def _save(path: Path, **arrays: Any) -> None:
    from ..utils.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def cached_keypoints(project: Project, v: ProjectVideo, fps: float, threads: int = 1,
                     hands: bool = False) -> dict[str, np.ndarray]:
    """The video's body keypoints (or with ``hands`` its hand rows) at ``fps``, computed once per video content."""
    key = f"{file_sha(v.path)}:{HAND_VERSION if hands else POSE_VERSION}:{fps:g}"
    path = project.root / "features" / ("hands" if hands else "keypoints") / v.split / v.label / f"{v.name}.npz"
    got = _load(path, key)
    if got is None:
        kp, idx, width, n = (video_hands if hands else video_keypoints)(v.path, fps, threads)
        got = {"key": np.array(key), "keypoints": kp, "index": idx, "width": np.array(width), "frames": np.array(n)}
        _save(path, **got)
    return got


def video_inputs(project: Project, v: ProjectVideo, ext: Extractor, threads: int = 1) -> dict[str, Any]:
    """What ``ext`` takes of ``v`` per step: ``data`` (body keypoints (T, 33, 4) or hand rows (T, 3, 42), both
    cached, or model-input frames (T, C, H, W)), ``index`` (each step's video frame), ``frames`` (the video's
    frame count) and ``width`` (the frame's, for mirroring)."""
    if ext.kind == "pixel":
        x, idx, n = pixel_inputs(v.path, ext)
        return {"data": x, "index": idx, "frames": n, "width": x.shape[-1]}
    kp = cached_keypoints(project, v, ext.fps, threads, hands=ext.kind == "hands")
    return {"data": kp["keypoints"], "index": kp["index"], "frames": int(kp["frames"]), "width": int(kp["width"])}


def mirrored(ext: Extractor, data: np.ndarray, width: int) -> np.ndarray:
    """:func:`video_inputs` data of the mirrored video."""
    if ext.kind == "skeleton":
        return mirror_keypoints(data, width)
    if ext.kind == "hands":
        return mirror_hands(data, width)
    return data[..., ::-1].copy()


def bottom_input(ext: Extractor, data: np.ndarray) -> torch.Tensor:
    """:func:`video_inputs` data as the one-video batch the extractor's bottom takes (body keypoints normalised
    causally, as live)."""
    if ext.kind == "skeleton":
        from ..data.skeleton_inputs import causal_input

        return torch.from_numpy(causal_input(data))[None]
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(data, 0, 1)))[None]


@torch.inference_mode()
def video_features(project: Project, v: ProjectVideo, ext: Extractor, finetune: int = 0, flip: bool = True,
                   threads: int = 1) -> dict[str, np.ndarray]:
    """The frozen bottom's output for ``v`` (``features``, and ``flipped`` with ``flip``), the video frame of each
    step (``index``) and the video's frame count (``frames``), cached (see the module docstring).

    Raises:
        ValueError: the video cannot be decoded (named).
    """
    key = f"{file_sha(v.path)}:{ext.sha}:{finetune}:{int(flip)}"
    path = project.root / "features" / ext.key / str(finetune) / v.split / v.label / f"{v.name}.npz"
    got = _load(path, key)
    if got is not None:
        return got
    trunk = ext.trunk(finetune)
    src = video_inputs(project, v, ext, threads)
    views = [src["data"]] + ([mirrored(ext, src["data"], src["width"])] if flip else [])
    feats = [trunk.bottom(bottom_input(ext, x)).float().numpy() for x in views]
    got = {"key": np.array(key), "features": feats[0], "index": np.asarray(src["index"]),
           "frames": np.array(src["frames"])}
    if flip:
        got["flipped"] = feats[1]
    _save(path, **got)
    return got
