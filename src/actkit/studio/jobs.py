"""Background work of the studio: one training job at a time (progress kept for the page, cancellable), and
assisted tagging (a logistic regression on cached features, refitted after each save, that pre-fills tags)."""
from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np

from ..custom.project import BACKGROUND, Project, ProjectVideo

log = logging.getLogger(__name__)
MAX_EVENTS = 5000


class Busy(RuntimeError):
    """A job is running already."""


class Job:
    """One run of ``fn(report, cancel)`` in a thread; ``events`` is what it reported, then a final state."""

    def __init__(self, kind: str, project: str, fn: Callable[[Callable[[dict], None], threading.Event], Any]) -> None:
        self.kind, self.project, self.fn = kind, project, fn
        self.id = f"{kind}-{int(time.time() * 1000)}"
        self.state, self.result, self.error = "running", None, None
        self.events: list[dict[str, Any]] = []
        self.cancel = threading.Event()
        self.thread = threading.Thread(target=self._run, name=self.id, daemon=True)

    def report(self, event: dict[str, Any]) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append({**event, "t": round(time.time(), 3)})

    def _run(self) -> None:
        from ..custom.train import Cancelled

        try:
            self.result = self.fn(self.report, self.cancel)
            self.state = "done"
        except Cancelled as e:
            self.state, self.error = "cancelled", str(e)
        except Exception as e:  # reported to the page, never a crash of the server
            log.warning("%s failed: %s\n%s", self.id, e, traceback.format_exc())
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"
        self.report({"stage": self.state, **({"error": self.error} if self.error else {})})

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "project": self.project, "state": self.state, "error": self.error,
                "events": len(self.events), "result": self.result if self.state == "done" else None}


class Jobs:
    """At most one running job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: Job | None = None

    def start(self, kind: str, project: str, fn: Callable) -> Job:
        with self._lock:
            if self.current is not None and self.current.state == "running":
                raise Busy(f"a {self.current.kind} job is running ({self.current.id}); wait or cancel it")
            self.current = Job(kind, project, fn)
            self.current.thread.start()
            return self.current

    def get(self, job_id: str) -> Job:
        if self.current is None or self.current.id != job_id:
            raise KeyError(f"no job {job_id!r}")
        return self.current


# ---------------------------------------------------------------------------- assisted tagging

def fit_assistant(project: Project, extractor: str = "exercises") -> dict[str, Any] | None:
    """A logistic regression from per-step features to tags, on every tagged video; saved as
    ``logreg/<extractor>.npz`` (plain arrays). None when fewer than two tags are seen."""
    import torch

    from ..custom.features import load_extractor, video_features
    from ..custom.train import label_names, targets

    ext = load_extractor(extractor)
    names = label_names(project, True)
    xs, ys = [], []
    for v in project.videos():
        if project.read_tags(v) is None:
            continue
        feats = video_features(project, v, ext, 0, False)
        t = targets(project, v, feats, names, True, 0)
        xs.append(feats["features"])
        ys.append(t[0])
    if not ys or len(np.unique(np.concatenate(ys))) < 2:
        return None
    x, y = torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))
    lin = torch.nn.Linear(x.shape[1], len(names))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(x), y) + 0.01 * lin.weight.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    out = project.root / "logreg" / f"{ext.key}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, weight=lin.weight.detach().numpy(), bias=lin.bias.detach().numpy(), labels=np.array(names))
    return {"file": str(out), "frames": int(len(y)), "videos": len(ys)}


def suggest_tags(project: Project, v: ProjectVideo, strip: int, frames_per_strip: float,
                 extractor: str = "exercises") -> list[int] | None:
    """Tags per strip frame from the assistant (None without one); a tag not of the video's class is background."""
    from ..custom.features import load_extractor, video_features

    ext = load_extractor(extractor)
    path = project.root / "logreg" / f"{ext.key}.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        w, b, labels = z["weight"], z["bias"], [str(s) for s in z["labels"]]
    feats = video_features(project, v, ext, 0, False)
    if feats["features"].shape[1] != w.shape[1]:
        return None
    pred = (feats["features"] @ w.T + b).argmax(1)
    by_name = {name: i for i, name in project.tags.items() if i == 0 or i in project.class_tags(v.label)}
    step_of = np.searchsorted(feats["index"], np.arange(strip) * frames_per_strip, side="right") - 1
    return [int(by_name.get(labels[pred[max(s, 0)]], 0)) if labels[pred[max(s, 0)]] != BACKGROUND else 0
            for s in step_of]
