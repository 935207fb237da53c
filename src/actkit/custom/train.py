"""Train, evaluate and export a custom classifier: a new head (and optionally the top layers) on a frozen
extractor's cached per-video features.

Two modes, as the sense engine's:

* **per video** (default): every frame of a video of class ``c`` is a sample of ``c`` (frames in the first
  half of the extractor's receptive field are left out: the model has not seen enough yet); a video's
  answer is the mean of its frames' probabilities;
* **temporal** (``--temporal`` or the project's flag): one tag per frame from ``tags_<split>/`` (0 = background);
  the model's labels are ``background`` and every tag, trained and scored per frame.

The result, ``DIR/checkpoints/<name>/``: ``model.pt`` (an ordinary streaming checkpoint: the extractor with its
new head, so ``actkit stream --model DIR/checkpoints/<name>`` runs it with the usual smoothing, events and
counters), ``model.onnx`` (stateful export), ``report.json`` (settings, history, per-video results), and
``confusion.png``.
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .features import Extractor, load_extractor, video_features
from .project import BACKGROUND, Project, ProjectVideo, load_project

log = logging.getLogger(__name__)


class Cancelled(RuntimeError):
    """Training was cancelled (nothing of the run was written)."""


@dataclass
class CustomConfig:
    """Settings of ``actkit custom train``."""

    extractor: str = "exercises"  # a shipped extractor or a streaming checkpoint (.pt)
    finetune: int = 0  # top layers of the extractor trained with the head (0: the head alone)
    epochs: int = 60
    lr: float = 3e-3
    batch_videos: int = 4
    flip: bool = False  # mirrored videos as extra samples: only when every class means the same mirrored
    balance: bool = True  # weight classes by the inverse of their frame counts
    temporal: bool | None = None  # None: the project's flag
    name: str = "best"
    overwrite: bool = False
    export: bool = True  # also write model.onnx
    seed: int = 0
    threads: int = 1


def label_names(project: Project, temporal: bool) -> list[str]:
    """The model's labels: the classes, or in temporal mode ``background`` and every tag."""
    if not temporal:
        return project.classes
    return [BACKGROUND] + [project.tags[i] for c in project.classes for i in project.class_tags(c)]


def targets(project: Project, v: ProjectVideo, feats: dict[str, np.ndarray], names: list[str], temporal: bool,
            warmup: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-step target indices and the mask of steps that count (None: a temporal video without tags)."""
    steps = len(feats["index"])
    mask = np.ones(steps, bool)
    if not temporal:
        mask[:min(warmup, steps // 2)] = False
        return np.full(steps, names.index(v.label)), mask
    tags = project.read_tags(v)
    if tags is None:
        if v.label != BACKGROUND:
            return None
        return np.zeros(steps, np.int64), mask
    frames = max(int(feats["frames"]), 1)
    at = np.minimum((feats["index"] * len(tags)) // frames, len(tags) - 1)
    tag_names = project.tags
    return np.array([names.index(tag_names[tags[i]]) if tags[i] else 0 for i in at]), mask


def gather(project: Project, ext: Extractor, split: str, names: list[str], temporal: bool, finetune: int, flip: bool,
           threads: int = 1, report: Callable[[dict], None] | None = None,
           cancel: threading.Event | None = None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The samples of ``split`` (features, targets, mask) and the videos skipped, each with the reason."""
    warmup = ext.model.receptive_field() // 2
    videos = project.videos(split)
    samples, skipped = [], []
    for i, v in enumerate(videos):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled while caching features")
        try:
            feats = video_features(project, v, ext, finetune, flip and split == "train", threads)
            t = targets(project, v, feats, names, temporal, warmup)
        except (ValueError, OSError, RuntimeError) as e:
            skipped.append({"video": str(v.path.relative_to(project.root)), "reason": str(e).splitlines()[0][:200]})
            log.warning("%s: skipped (%s)", v.path, e)
            continue
        if t is None:
            skipped.append({"video": str(v.path.relative_to(project.root)), "reason": "no tags (temporal mode)"})
        else:
            samples.append({"video": v, "features": feats["features"], "flipped": feats.get("flipped"),
                            "target": t[0], "mask": t[1]})
        if report:
            report({"stage": "features", "split": split, "done": i + 1, "total": len(videos)})
    return samples, skipped


def class_weights(samples: list[dict[str, Any]], k: int, balance: bool) -> torch.Tensor:
    counts = np.zeros(k)
    for s in samples:
        counts += np.bincount(s["target"][s["mask"]], minlength=k)
    if not balance:
        return torch.ones(k)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max((counts > 0).sum(), 1), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def frame_probs(trunk: Any, head: torch.nn.Module, feats: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return torch.softmax(head(trunk.top(torch.from_numpy(feats)[None])[0]), -1).numpy()


def score(trunk: Any, head: torch.nn.Module, samples: list[dict[str, Any]], names: list[str],
          temporal: bool) -> dict[str, Any]:
    """Loss, accuracy (per video, or per frame in temporal mode) and the per-video results of ``samples``."""
    k, rows, losses, y, p, fy, fp = len(names), [], [], [], [], [], []
    for s in samples:
        probs = frame_probs(trunk, head, s["features"])
        m, t = s["mask"], s["target"]
        losses.append(-np.log(np.maximum(probs[m, t[m]], 1e-12)).mean())
        mean = probs[m].mean(0)
        pred = int(mean.argmax())
        frames_right = float((probs[m].argmax(1) == t[m]).mean())
        truth = names.index(s["video"].label) if not temporal else int(np.bincount(t[m], minlength=k).argmax())
        y.append(truth)
        p.append(pred)
        fy += list(t[m])
        fp += list(probs[m].argmax(1))
        rows.append({"video": f"{s['video'].split}/{s['video'].label}/{s['video'].path.name}",
                     "label": s["video"].label, "predicted": names[pred] if not temporal else None,
                     "confidence": round(float(mean[pred]), 4), "frame_accuracy": round(frames_right, 4)})
    from ..engine.metrics import confusion_matrix

    yy, pp = (np.array(fy), np.array(fp)) if temporal else (np.array(y), np.array(p))
    return {"loss": float(np.mean(losses)) if losses else float("nan"),
            "accuracy": float((yy == pp).mean()) if len(yy) else float("nan"),
            "frame_accuracy": float((np.array(fy) == np.array(fp)).mean()) if fy else float("nan"),
            "confusion": confusion_matrix(yy, pp, k).tolist() if len(yy) else None, "videos": rows}


class Standardised(torch.nn.Module):
    """A linear head on features standardised by the training frames' mean and spread (well conditioned
    whatever the features' scales); :meth:`fold` writes the equivalent plain linear layer back into ``head``."""

    def __init__(self, head: torch.nn.Linear, mu: torch.Tensor, sd: torch.Tensor) -> None:
        super().__init__()
        self.head = head
        self.register_buffer("mu", mu)
        self.register_buffer("sd", sd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((x - self.mu) / self.sd)

    @torch.no_grad()
    def fold(self) -> torch.nn.Linear:
        w = self.head.weight / self.sd
        self.head.bias -= w @ self.mu
        self.head.weight.copy_(w)
        return self.head


def standardiser(trunk: Any, head: torch.nn.Linear, train: list[dict[str, Any]]) -> Standardised:
    with torch.no_grad():
        x = torch.cat([trunk.top(torch.from_numpy(s["features"])[None])[0][torch.from_numpy(s["mask"])] for s in train])
    return Standardised(head, x.mean(0), x.std(0).clamp_min(1e-3))


def fit(trunk: Any, head: torch.nn.Module, train: list[dict[str, Any]], valid: list[dict[str, Any]], names: list[str],
        cfg: CustomConfig, temporal: bool, report: Callable[[dict], None] | None = None,
        cancel: threading.Event | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Train ``head`` (and the trunk's top layers) on ``train``; the weights of the best epoch on ``valid`` (or on
    ``train`` without validation videos) are loaded back. Returns the history and the best epoch's scores."""
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    head.reset_parameters()  # its start from the seed, not from whatever ran before in the process
    top = trunk.top_modules()
    for m in top:
        m.eval()  # batch statistics stay frozen: too few videos to re-estimate them
        for q in m.parameters():
            q.requires_grad_(True)
    plain, head = head, standardiser(trunk, head, train)
    params = list(head.parameters()) + [q for m in top for q in m.parameters()]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, cfg.epochs // 2), gamma=0.1)
    weights = class_weights(train, len(names), cfg.balance)
    judge = valid or train
    best, best_state, history = None, None, []
    for epoch in range(cfg.epochs):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"cancelled at epoch {epoch}")
        order = rng.permutation(len(train))
        head.train()
        total = 0.0
        for b in range(0, len(order), cfg.batch_videos):
            logits, ys = [], []
            for i in order[b:b + cfg.batch_videos]:
                s = train[i]
                feats = s["flipped"] if cfg.flip and s["flipped"] is not None and rng.random() < 0.5 else s["features"]
                out = head(trunk.top(torch.from_numpy(feats)[None])[0])
                logits.append(out[torch.from_numpy(s["mask"])])
                ys.append(torch.from_numpy(s["target"][s["mask"]]))
            loss = F.cross_entropy(torch.cat(logits), torch.cat(ys), weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach().item()
        sched.step()
        head.eval()
        val = score(trunk, head, judge, names, temporal)
        key = (val["accuracy"], -val["loss"])
        row = {"epoch": epoch + 1, "train_loss": round(total / max(1, -(-len(order) // cfg.batch_videos)), 5),
               "val_loss": round(val["loss"], 5), "val_accuracy": round(val["accuracy"], 4)}
        history.append(row)
        if report:
            report({"stage": "train", **row, "epochs": cfg.epochs})
        if best is None or key > best:
            best = key
            best_state = copy.deepcopy(([m.state_dict() for m in top], head.state_dict()))
    for m, sd in zip(top, best_state[0]):
        m.load_state_dict(sd)
    head.load_state_dict(best_state[1])
    head.fold()
    plain.eval()
    return history, score(trunk, plain, judge, names, temporal)


def train_custom(project: str | Path | Project, cfg: CustomConfig | None = None,
                 report: Callable[[dict], None] | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
    """Train a custom classifier on ``project``'s videos (see the module docstring).

    Args:
        report: called with progress events (``stage`` ``features`` / ``train`` / ``done``), e.g. for a page.
        cancel: set it to stop (raises :class:`Cancelled`; nothing of the run is written).

    Raises:
        FileExistsError: the checkpoint folder exists and ``cfg.overwrite`` is off.
        ValueError: fewer than two classes with training videos.
    """
    cfg = cfg or CustomConfig()
    project = project if isinstance(project, Project) else load_project(project)
    out = project.checkpoint_dir(cfg.name)
    if out.exists() and not cfg.overwrite:
        raise FileExistsError(f"{out} exists: choose another --name or pass --overwrite")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    temporal = project.temporal if cfg.temporal is None else bool(cfg.temporal)
    names = label_names(project, temporal)
    ext = load_extractor(cfg.extractor)
    model = copy.deepcopy(ext.model)
    trunk = replace(ext, model=model).trunk(cfg.finetune)
    train, skipped = gather(project, ext, "train", names, temporal, cfg.finetune, cfg.flip, cfg.threads, report, cancel)
    valid, skipped_v = gather(project, ext, "valid", names, temporal, cfg.finetune, False, cfg.threads, report, cancel)
    seen = {names[t] for s in train for t in np.unique(s["target"][s["mask"]])}
    if len(seen) < 2:
        raise ValueError(f"{project.root}: training needs videos of at least two labels in videos_train/ "
                         f"(found {sorted(seen) or 'none'}{'; temporal mode needs tags' if temporal else ''})")
    t_features = time.perf_counter() - t0
    head = torch.nn.Linear(trunk.head.in_features, len(names))
    history, best = fit(trunk, head, train, valid, names, cfg, temporal, report, cancel)
    t_train = time.perf_counter() - t0 - t_features
    model.reset_classifier(len(names))
    trunk.head.load_state_dict(head.state_dict())
    model.eval()
    summary = {"project": project.name, "config": asdict(cfg), "temporal": temporal, "labels": names,
               "extractor": {"name": ext.name, "sha256": ext.sha, "kind": ext.kind},
               "videos": {"train": len(train), "valid": len(valid)}, "skipped": skipped + skipped_v,
               "judged_on": "valid" if valid else "train (no validation videos)", "history": history,
               "best": {k: v for k, v in best.items()}, "seconds": {"features": round(t_features, 2),
                                                                    "train": round(t_train, 2)}}
    write_result(out, model, names, summary, cfg.export)
    if report:
        report({"stage": "done", "out": str(out), "accuracy": best["accuracy"]})
    return {**summary, "out": str(out)}


def write_result(out: Path, model: torch.nn.Module, names: list[str], summary: dict[str, Any], export: bool) -> None:
    """``model.pt``, ``report.json``, ``confusion.png`` and (``export``) ``model.onnx`` into ``out``."""
    from ..engine.checkpoint import save_checkpoint
    from ..engine.plots import plot_confusion
    from ..utils.io import atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.onnx", "confusion.png"):
        (out / stale).unlink(missing_ok=True)
    save_checkpoint(out / "model.pt", model, names, custom={k: summary[k] for k in ("project", "temporal", "extractor")})
    if summary["best"].get("confusion"):
        plot_confusion(np.array(summary["best"]["confusion"]), names, out / "confusion.png",
                       title=f"{summary['project']}: {summary['judged_on']}")
    if export:
        summary["onnx"] = export_custom(out)
    atomic_write_json(out / "report.json", summary)


def export_custom(folder: str | Path) -> dict[str, Any]:
    """``folder/model.pt`` as the stateful ONNX ``folder/model.onnx`` (what ``actkit stream`` prefers)."""
    from ..streaming.export import export_stream_onnx

    folder = Path(folder)
    if not (folder / "model.pt").is_file():
        raise FileNotFoundError(f"{folder / 'model.pt'} not found: train the classifier first")
    info = export_stream_onnx(str(folder / "model.pt"), folder / "model.onnx")
    return {k: v for k, v in info.items() if isinstance(v, (int, float, str))}


def evaluate_custom(project: str | Path | Project, name: str = "best", split: str = "valid",
                    threads: int = 1) -> dict[str, Any]:
    """A trained classifier of ``project`` (``checkpoints/<name>``) on the videos of ``split``: accuracy, confusion
    and per-video results (features of the trained model, cached like the extractor's)."""
    project = project if isinstance(project, Project) else load_project(project)
    folder = project.checkpoint_dir(name)
    ext = load_extractor(folder / "model.pt")
    names = list(ext.meta["class_names"])
    temporal = bool((ext.meta.get("custom") or {}).get("temporal", project.temporal))
    samples, skipped = gather(project, ext, split, names, temporal, 0, False, threads)
    if not samples:
        raise ValueError(f"{project.root}: no readable videos in videos_{split}/")
    trunk = ext.trunk(0)
    result = score(trunk, trunk.head, samples, names, temporal)
    return {"split": split, "labels": names, "temporal": temporal, "skipped": skipped, **result}
