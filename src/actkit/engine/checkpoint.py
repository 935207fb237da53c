"""Self-describing checkpoints: everything needed to rebuild, resume or deploy a model.

A checkpoint holds the model name and config, label names, preprocessing (``data_cfg``),
weights, optimiser / scheduler / scaler and RNG state, the epoch, the tuned threshold and
the resolved run config (like nanoGPT's ``model_args``). Loading needs nothing else.
Writes are atomic; ``CheckpointRotation`` keeps the last N and the best N.
"""
from __future__ import annotations

import logging
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models import DataConfig, create_model
from ..models._base import ActkitModel
from ..utils.io import atomic_path

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and CUDA) RNG state, as plain types and tensors (loadable with
    ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (also the numpy tuple checkpoints of 0.1.0 stored)."""
    random.setstate(state["python"])
    n = state["numpy"]
    if isinstance(n, dict):
        n = (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    np.random.set_state(n)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def model_meta(model: ActkitModel, class_names: list[str], threshold: float | None = None,
               clip_views: dict[str, Any] | None = None) -> dict[str, Any]:
    """The part of a checkpoint that describes the model (shared with ONNX metadata)."""
    meta = {
        "format_version": FORMAT_VERSION,
        "model_name": model.model_name,
        "model_config": model.config_dict(),
        "class_names": list(class_names),
        "data_cfg": model.data_cfg.to_dict(),
        "threshold": threshold,
    }
    if clip_views:
        meta["clip_views"] = dict(clip_views)
    try:
        from ..models import model_entry

        meta["task"] = model_entry(model.model_name).task
    except KeyError:  # a model built outside the registry
        pass
    return meta


def clip_views_of(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """How a clip model's val/test clips were taken in training, read from a checkpoint's ``config``:
    :func:`actkit.data.video.samplers.eval_views`. None for other tasks and for a checkpoint without a
    config. ``actkit eval`` takes its clips the same way, so its numbers match the trainer's."""
    from ..data.video.samplers import eval_views

    if not config or config.get("task") != "clip":
        return None
    d = config.get("data") or {}
    return eval_views(d.get("sampler", "random_window"), d.get("frame_stride", 2))


def cpu_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s weights and buffers, detached, on the CPU: what a checkpoint stores."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def plain(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays turned into Python numbers and tensors, recursively, so the
    checkpoint it goes into loads with ``weights_only=True``."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    return obj


def save_checkpoint(path: str | Path, model: ActkitModel, class_names: list[str], **extra: Any) -> Path:
    """Write a checkpoint atomically (``extra``: optimizer, scheduler, scaler, epoch, config, ...)."""
    ckpt = model_meta(model, class_names, extra.pop("threshold", None))
    ckpt["state_dict"] = cpu_state_dict(model)
    ckpt.update(extra)
    write_checkpoint(path, ckpt)
    return Path(path)


def write_checkpoint(path: str | Path, ckpt: dict[str, Any]) -> None:
    """Write a checkpoint dict atomically, as plain types and tensors only."""
    with atomic_path(path) as tmp:
        torch.save(plain(ckpt), tmp)


# The numpy pieces a 0.1.0 checkpoint's RNG state holds: they only rebuild arrays and dtypes.
_NUMPY_ARRAYS = ("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray",
                 "numpy.dtype", "numpy.dtypes.UInt32DType")
_trusted = False


def trust_checkpoints(on: bool = True) -> None:
    """Let :func:`read_checkpoint` import whatever a checkpoint names (``actkit --trust-checkpoint``).
    Only for files from a source you trust: loading such a file can run its code."""
    global _trusted
    _trusted = bool(on)


def _allowed(path: Path, trust: bool) -> list[Any]:
    """The globals a load may use beyond tensors: numpy arrays always, anything the file names if trusted."""
    import importlib

    names = set(_NUMPY_ARRAYS)
    if trust:
        names |= set(_unsafe_names(path, limit=None))
    found = []
    for name in sorted(names):
        module, _, attr = name.rpartition(".")
        try:
            found.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            continue
    return found


def read_checkpoint(path: str | Path, trust: bool | None = None) -> dict[str, Any]:
    """Load a checkpoint dict without running code from it (``weights_only=True``): tensors, plain types
    and numpy arrays only. A clear error naming the file if it is missing, not one of ours, or names
    other code (which ``trust=True``, the command line's ``--trust-checkpoint``, allows)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    trust = _trusted if trust is None else trust
    try:
        with torch.serialization.safe_globals(_allowed(path, trust)):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        names = _unsafe_names(path)
        why = _why(e)
        if not names and "GLOBAL" not in why:  # not a checkpoint, or not one the safe loader can read
            raise ValueError(f"{path}: not a readable checkpoint (the safe loader stopped: {why})") from None
        unsafe = ", ".join(names) or why
        if trust:
            raise ValueError(f"{path}: refused to load even trusted: it names code torch never runs ({unsafe})") from None
        raise ValueError(f"{path}: refused to load: it names code to run ({unsafe}). Only if you trust where it "
                         "came from, rerun with --trust-checkpoint") from None
    except Exception as e:  # torch raises many types for a truncated or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(ckpt, dict) or "model_name" not in ckpt or "state_dict" not in ckpt:
        raise ValueError(f"{path}: not an actkit checkpoint (no model_name/state_dict)")
    return ckpt


def _why(e: Exception) -> str:
    """The line of torch's weights-only error that says what stopped it."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    after = [ln for i, ln in enumerate(lines) if i and "WeightsUnpickler error" in lines[i - 1]]
    return (after or [ln for ln in lines if "GLOBAL" in ln] or lines or [type(e).__name__])[0][:200]


def _unsafe_names(path: Path, limit: int | None = 5) -> list[str]:
    """The globals a checkpoint names beyond tensors and numpy arrays (empty when it cannot be read)."""
    try:
        return sorted(set(torch.serialization.get_unsafe_globals_in_checkpoint(path)) - set(_NUMPY_ARRAYS))[:limit]
    except Exception:  # noqa: BLE001 - a file torch cannot list has nothing to allow
        return []


def _fields_added_since(model: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Config fields a checkpoint does not store (added to the model's dataclass after it was written) whose
    built value differs from the dataclass default. A new field's default keeps the old behaviour, while a
    named size may set it otherwise (``fastcrop_p`` sets ``antialias``, which a checkpoint of the earlier P lacks): an older
    checkpoint must get the default, or its weights would load silently into another function."""
    import dataclasses

    cfg = getattr(model, "cfg", None)
    if not dataclasses.is_dataclass(cfg):
        return {}
    return {f.name: f.default for f in dataclasses.fields(cfg) if f.name not in config
            and f.default is not dataclasses.MISSING and getattr(cfg, f.name) != f.default}


def model_from_checkpoint(ckpt: dict[str, Any] | str | Path) -> tuple[ActkitModel, dict[str, Any]]:
    """Rebuild the model from a checkpoint (dict or path) and load its weights; returns (model, ckpt)."""
    if not isinstance(ckpt, dict):
        ckpt = read_checkpoint(ckpt)
    config = dict(ckpt["model_config"])
    model = create_model(ckpt["model_name"], **config)
    older = _fields_added_since(model, config)
    if older:  # the checkpoint predates these fields: build what it was trained as, not today's named size
        model = create_model(ckpt["model_name"], **config, **older)
    model.data_cfg = DataConfig.from_dict(ckpt["data_cfg"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt


def init_from_checkpoint(model: ActkitModel, path: str | Path, class_names: list[str]) -> str:
    """Start ``model`` from the weights of an actkit checkpoint (fine-tuning, or a longer schedule).

    Everything but the classifier is loaded and must match (same model, any input size its layers
    allow). The classifier is loaded too when the checkpoint's classes are ``class_names`` in the same
    order; otherwise it keeps its fresh initialisation (new classes: fine-tuning).

    Raises:
        FileNotFoundError / ValueError: the checkpoint is missing or unreadable, or its weights do not fit
            ``model`` (the mismatching names are listed).

    Returns:
        A one-line account of what was loaded, for the log.
    """
    import copy

    ckpt = read_checkpoint(path)
    sd = ckpt["state_dict"]
    if hasattr(model, "adapt_state_dict"):  # e.g. a clip_fast stem over a different number of frames
        sd = model.adapt_state_dict(sd)
    own = model.state_dict()
    probe = copy.deepcopy(model)
    # The keys whose shape follows the class count; a factorised head grows through its parts.
    cfg = getattr(model, "cfg", None)
    if getattr(cfg, "head", "") == "factorised":
        parts = [tuple(p) for p in cfg.label_parts]
        probe.reset_classifier(len(parts) + 1, label_parts=parts + [tuple(f"<probe {k}>" for k in range(len(parts[0])))])
    else:
        probe.reset_classifier(model.num_classes + 1)
    head = {k for k, v in probe.state_dict().items() if k in own and v.shape != own[k].shape}
    same_classes = list(ckpt["class_names"]) == list(class_names)
    wanted = set(own) if same_classes else set(own) - head
    missing = sorted(wanted - set(sd))
    wrong = sorted(k for k in wanted & set(sd) if sd[k].shape != own[k].shape)
    extra = sorted(set(sd) - set(own))
    if missing or wrong or extra:
        raise ValueError(f"{path}: weights of {ckpt['model_name']} do not fit {model.model_name or type(model).__name__} "
                         f"(missing {missing[:5]}, other shapes {wrong[:5]}, unknown {extra[:5]})")
    with torch.no_grad():
        for k in wanted:
            own[k].copy_(sd[k])
        carried = [] if same_classes else _carry_class_rows(own, sd, head, list(ckpt["class_names"]), list(class_names))
    if same_classes:
        return f"all weights from {path} (same {len(class_names)} classes)"
    note = (f"weights but the classifier from {path} ({ckpt['model_name']}, classes {list(ckpt['class_names'])[:6]}...; "
            f"the classifier starts fresh for {list(class_names)[:6]}...)")
    if carried:
        note += f"; the classifier rows of the {len(carried)} classes in both were carried over: {carried[:8]}"
    return note


def _class_key(name: str) -> str:
    """``"DanceA"``, ``"dance_a"`` and ``"Dance A"`` are one class: lower case, letters and digits only."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _carry_class_rows(own: dict[str, torch.Tensor], sd: dict[str, torch.Tensor], head: set[str],
                      old_names: list[str], new_names: list[str]) -> list[str]:
    """Copy the classifier rows of classes present in both lists (names matched by :func:`_class_key`).

    Only a plain classifier qualifies: every head tensor has one row per class in both, old and new
    (a factorised head's rows are parts, not classes, and is left fresh). Returns the new names carried.
    """
    old_index = {_class_key(n): i for i, n in enumerate(old_names)}
    pairs = [(j, old_index[_class_key(n)]) for j, n in enumerate(new_names) if _class_key(n) in old_index]
    if not pairs or not head:
        return []
    for k in head:
        if (k not in sd or own[k].shape[0] != len(new_names) or sd[k].shape[0] != len(old_names)
                or own[k].shape[1:] != sd[k].shape[1:]):
            return []
    for k in head:
        for j, i in pairs:
            own[k][j].copy_(sd[k][i])
    return [new_names[j] for j, _ in pairs]


class CheckpointRotation:
    """Keeps ``last.pt`` / ``best.pt`` plus the last ``keep_last`` and best ``keep_best`` epochs."""

    def __init__(self, folder: str | Path, keep_last: int = 3, keep_best: int = 3) -> None:
        self.folder = Path(folder)
        self.keep_last, self.keep_best = keep_last, keep_best
        self.last: list[Path] = sorted(self.folder.glob("epoch_*.pt"))
        self.best: list[tuple[float, Path]] = []
        for p in self.folder.glob("best_*.pt"):
            try:
                self.best.append((float(p.stem.rsplit("_", 1)[1]), p))
            except ValueError:
                continue
        self.best.sort(key=lambda t: -t[0])
        # Tracked apart from the kept files: with keep_best=0 there are none to read it from.
        self.best_score = self.best[0][0] if self.best else float("-inf")

    def save(self, epoch: int, score: float, write: Any, is_best: bool | None = None) -> bool:
        """Call ``write(path)`` for the epoch file, last.pt and (if among the best) best files.

        Args:
            is_best: the caller's decision (a resumed trainer knows the best score so far);
                None: ``score`` beats every score this rotation has seen.

        Returns:
            True when this epoch is the best so far.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"epoch_{epoch:03d}.pt"
        write(path)
        write(self.folder / "last.pt")
        self.last.append(path)
        while len(self.last) > self.keep_last:
            self.last.pop(0).unlink(missing_ok=True)
        if is_best is None:
            is_best = score > self.best_score
        self.best_score = max(self.best_score, score)
        if self.keep_best > 0 and (len(self.best) < self.keep_best or score > self.best[-1][0]):
            bp = self.folder / f"best_{epoch:03d}_{score:.6f}.pt"
            write(bp)
            self.best.append((score, bp))
            self.best.sort(key=lambda t: -t[0])
            while len(self.best) > self.keep_best:
                self.best.pop()[1].unlink(missing_ok=True)
        if is_best:
            write(self.folder / "best.pt")
        return is_best


def resume_training(resume: str, out: Path, model_name: str, class_names: list[str], model: torch.nn.Module,
                    optimizer: Any, scheduler: Any, scaler: Any, rank: int = 0) -> dict[str, Any]:
    """Restore model, optimiser, schedule, scaler and RNG from ``resume`` (``auto``: ``out/checkpoints/last.pt``
    if there is one; under DDP, process ``rank``'s own RNG state); the checkpoint read, or ``{}`` for a fresh run.

    Raises:
        ValueError: the checkpoint is of another model or other classes.
    """
    if resume == "auto":
        resume = str(out / "checkpoints" / "last.pt") if (out / "checkpoints" / "last.pt").exists() else ""
    if not resume:
        return {}
    ckpt = read_checkpoint(resume)
    if ckpt["model_name"] != model_name or ckpt["class_names"] != class_names:
        raise ValueError(f"{resume}: checkpoint is {ckpt['model_name']} on {ckpt['class_names']}, "
                         f"the run asks for {model_name} on {class_names}")
    # An averaged run saves the average as the model and the trained weights beside it.
    model.load_state_dict(ckpt.get("train_state_dict", ckpt["state_dict"]))
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    ranks = ckpt.get("rng_ranks") or []
    set_rng_state(ranks[rank] if rank < len(ranks) else ckpt["rng"])  # each process its own stream
    log.info("resumed from %s at epoch %d", resume, ckpt["epoch"] + 1)
    return ckpt
