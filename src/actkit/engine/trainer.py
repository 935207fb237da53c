"""Training: plain ``train_one_epoch`` / ``evaluate`` functions and a ``train(cfg)`` driver.

The driver does what a careful person would do by hand: build the model from the registry,
correct class imbalance exactly once (loss weights OR a balanced sampler), pick the
checkpoint on the validation split only, and evaluate the held-out test split once, at the
end, with the best checkpoint and the threshold tuned on validation.
"""
from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from ..config import TrainConfig, check_ranges, save_yaml, to_dict
from ..models import create_model, probabilities
from ..models._registry import UnknownFieldError
from ..utils.io import atomic_write_json
from ..utils.progress import progress
from .checkpoint import (CheckpointRotation, cpu_state_dict, init_from_checkpoint, model_from_checkpoint,
                         resume_training, rng_state, save_checkpoint, write_checkpoint)
from .distill import Distiller
from .distributed import (Dist, ShardSampler, barrier, cleanup, device_for, gather, gather_predictions,
                          local_batch, reduce_stats, setup, train_sampler, wrap)
from .ema import WeightAverage
from .metrics import classification_report
from .plots import epoch_plots
from .steps import channels_last, channels_last_inputs, compile_model, forward_scored, to_channels_last, use_channels_last
from .tasks import load_task_table, make_task, model_kwargs  # noqa: F401 - load_task_table is part of the trainer's API

log = logging.getLogger(__name__)


@dataclass
class Events:
    """Hooks for logging and integrations; each is a list of callables."""

    on_epoch_end: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    on_checkpoint: list[Callable[[Path], None]] = field(default_factory=list)

    def emit(self, name: str, arg: Any) -> None:
        for fn in getattr(self, name):
            fn(arg)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but CUDA is not available here")
    return torch.device(name)


def make_loss(num_logits: int, class_counts: np.ndarray, imbalance: str, label_smoothing: float = 0.0) -> nn.Module:
    """BCE (one logit) or cross-entropy; class weights only when ``imbalance == "loss"``."""
    counts = np.maximum(class_counts.astype(np.float64), 1)
    if num_logits == 1:
        pos_weight = torch.tensor([counts[0] / counts[1]], dtype=torch.float32) if imbalance == "loss" else None
        return _BCE(pos_weight)
    weight = torch.tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32) if imbalance == "loss" else None
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)


class _BCE(nn.BCEWithLogitsLoss):
    def __init__(self, pos_weight: torch.Tensor | None) -> None:
        super().__init__(pos_weight=pos_weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return super().forward(logits.squeeze(-1), target.float())


def make_loader(ds: torch.utils.data.Dataset, batch_size: int, shuffle: bool, seed: int, epoch: int, workers: int,
                balanced: bool = False, sampler: Any = None) -> torch.utils.data.DataLoader:
    """A DataLoader whose order depends only on (seed, epoch): reproducible and resumable. ``sampler``: this
    process's share under DDP (:mod:`.distributed`), which then decides the order."""
    g = torch.Generator().manual_seed(seed * 1000003 + epoch)
    train = shuffle or balanced
    if sampler is not None:
        if balanced:
            raise ValueError("--data.imbalance sampler is not available with several processes: use weights")
        shuffle = False
    elif balanced:
        counts = np.bincount(ds.labels, minlength=ds.labels.max() + 1)
        w = 1.0 / counts[ds.labels]
        sampler = torch.utils.data.WeightedRandomSampler(torch.as_tensor(w, dtype=torch.double), len(ds), generator=g)
        shuffle = False
    # Workers start from a clean process (forkserver), not a fork of this one: a fork copies
    # locks that decoder threads here may hold (seen as workers hanging on their first video).
    ctx = None
    if workers > 0:
        import multiprocessing as mp

        ctx = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    n = len(sampler) if sampler is not None else len(ds)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, sampler=sampler, generator=g,
                                       # A last training batch of one sample breaks BatchNorm: drop it.
                                       num_workers=workers, drop_last=train and n % batch_size == 1,
                                       persistent_workers=False,
                                       multiprocessing_context=ctx)


def make_batch_transform(cfg: TrainConfig, num_logits: int) -> Callable | None:
    """Mixup and/or cutmix of training batches (crop and clip tasks), or None when off.

    One of the two is drawn per batch when both are on; targets become soft class
    probabilities with label smoothing folded in.
    """
    d = cfg.data
    if d.mixup <= 0 and d.cutmix <= 0:
        return None
    if num_logits < 2:
        raise ValueError("mixup/cutmix need a multi-class task (a binary task trains one sigmoid logit)")
    from ..data.video.transforms import cutmix, mixup

    g = torch.Generator().manual_seed(cfg.run.seed)
    smoothing = cfg.optim.label_smoothing

    def transform(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        use_cutmix = d.cutmix > 0 and (d.mixup <= 0 or torch.rand((), generator=g).item() < 0.5)
        if use_cutmix:
            return cutmix(x, y, num_logits, alpha=d.cutmix, smoothing=smoothing, generator=g)[:2]
        return mixup(x, y, num_logits, alpha=d.mixup, smoothing=smoothing, generator=g)[:2]

    return transform


def _autocast(device: torch.device, enabled: bool):
    if device.type == "cuda" and enabled:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)


def train_one_epoch(model: nn.Module, loader: torch.utils.data.DataLoader, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, scaler: Any, device: torch.device, amp: bool, grad_clip: float = 0.0, desc: str = "train",
                    batch_transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
                    channels_last_input: bool = False, distiller: Distiller | None = None,
                    ema: WeightAverage | None = None) -> dict[str, float]:
    """One pass over ``loader``; returns mean loss, throughput and the share of time spent waiting for data.

    ``batch_transform(x, y) -> (x, target)`` mixes a batch (mixup / cutmix); its target may be
    soft class probabilities, which the cross-entropy loss takes as they are. ``distiller`` blends in
    a teacher's soft targets for the same batch; ``ema`` is updated after every step.
    """
    model.train()
    total, n, t0, waited = 0.0, 0, time.perf_counter(), 0.0
    bar = progress(loader, desc=desc, unit="batch")
    t_ready = time.perf_counter()
    for batch in bar:
        waited += time.perf_counter() - t_ready
        x = batch["input"].to(device, non_blocking=True)
        y = batch["label"].to(device, non_blocking=True)
        if channels_last_input:
            x = channels_last(x)
        if batch_transform is not None:
            x, y = batch_transform(x, y)
        with _autocast(device, amp):
            logits, scored = forward_scored(model, x, y)
            loss = loss_fn(logits.float(), scored)
            if distiller is not None:
                loss = distiller.loss(loss, logits, x, y)
        y = scored
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} (lower the learning rate?)")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        if ema is not None:
            ema.update(model)
        total += loss.item() * len(y)
        n += len(y)
        bar.set_postfix(loss=f"{total / n:.4f}")
        t_ready = time.perf_counter()
    dt = time.perf_counter() - t0
    return {"train_loss": total / max(n, 1), "train_samples_per_s": n / max(dt, 1e-9),
            "data_wait_share": waited / max(dt, 1e-9)}


@torch.no_grad()
def predict_loader(model: nn.Module, loader: torch.utils.data.DataLoader, device: torch.device, amp: bool = False,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Class probabilities (N, C>=2), labels, and the video index of each sample (clips) or None.

    Per-frame targets (streaming models) give one row per scored frame (ignored frames dropped).
    """
    model.eval()
    probs, labels, videos = [], [], []
    for batch in loader:
        x = batch["input"].to(device)
        with _autocast(device, amp):
            logits, y = forward_scored(model, x, batch["label"])
        probs.append(probabilities(logits.float()).cpu().numpy())
        labels.append(y.numpy())
        if "video" in batch:
            videos.append(np.asarray(batch["video"]))
    return np.concatenate(probs), np.concatenate(labels), (np.concatenate(videos) if videos else None)


def per_video(probs: np.ndarray, labels: np.ndarray, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average the clip probabilities of each video: (V, C) probabilities and (V,) labels."""
    ids, inverse = np.unique(videos, return_inverse=True)
    sums = np.zeros((len(ids), probs.shape[1]))
    np.add.at(sums, inverse, probs)
    counts = np.bincount(inverse, minlength=len(ids))[:, None]
    video_labels = np.zeros(len(ids), dtype=labels.dtype)
    video_labels[inverse] = labels
    return sums / counts, video_labels


def evaluate(model: nn.Module, loader: torch.utils.data.DataLoader, loss_fn: nn.Module, class_names: list[str],
             device: torch.device, threshold: float | None = None, d: Dist | None = None
             ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Metrics on ``loader``: (report dict with ``loss``, probabilities, labels). Under DDP each process
    predicts its shard and all get the whole split's numbers.

    For clip datasets with several clips per video, the report is of videos (clip probabilities
    averaged per video), the returned arrays too, and ``report["clip"]`` holds clip-level numbers.
    """
    probs, labels, videos = gather_predictions(d or Dist(), *predict_loader(model, loader, device))
    p = torch.as_tensor(probs).clamp(1e-7, 1 - 1e-7)
    logits = torch.logit(p[:, 1:]) if len(class_names) == 2 and model.num_classes == 1 else torch.log(p)
    loss = float(loss_fn(logits.to(device), torch.as_tensor(labels).to(device)).item())
    clip_report = None
    if videos is not None and len(np.unique(videos)) < len(videos):
        clip_report = classification_report(labels, probs, class_names, threshold=threshold)
        probs, labels = per_video(probs, labels, videos)
    report = classification_report(labels, probs, class_names, threshold=threshold)
    report["loss"] = loss
    if clip_report is not None:
        report["level"] = "video"
        report["clip"] = {k: clip_report[k] for k in ("num_samples", "accuracy", "macro_f1")}
    return report, probs, labels


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up then cosine decay to 1% of the peak, per step."""
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, f)


def claim_run_folder(out: Path, resume: bool, overwrite: bool) -> Path:
    """The run folder, created; a folder that holds files is only used to resume a run in it, or, with
    ``overwrite``, after moving it aside to the first free ``<out>.N`` (the old run kept whole, not mixed)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"run folder {out} is a file")
    if out.is_dir() and any(out.iterdir()) and not resume:
        if not overwrite:
            raise ValueError(f"{out} already holds a run; pass --resume auto to continue it, --overwrite to move it "
                             "aside and start a new one there, or another --out")
        n = 1
        while out.with_name(f"{out.name}.{n}").exists():
            n += 1
        out.rename(out.with_name(f"{out.name}.{n}"))
        log.warning("moved the earlier run in %s aside to %s", out, out.with_name(f"{out.name}.{n}"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _model_for(cfg: TrainConfig, task: Any, num_logits: int, device: torch.device) -> tuple[nn.Module, bool]:
    """The configured model on ``device`` (from ``init_from``'s weights when given), and whether it runs
    channels-last."""
    try:
        model = create_model(cfg.model.name, num_classes=num_logits, **model_kwargs(task)).to(device)
    except UnknownFieldError as e:  # from --model.args or the config file
        raise UnknownFieldError(f"model {cfg.model.name}: {e} (set through model.args; `actkit models "
                                f"{cfg.model.name} --config` lists the fields)") from None
    if task.per_frame and not hasattr(model, "forward_frames"):
        raise ValueError(f"task {cfg.task} trains one output per frame: {cfg.model.name} is not a streaming "
                         "model (see `actkit models --task stream`)")
    if cfg.model.init_from:
        log.info("model starts from %s", init_from_checkpoint(model, cfg.model.init_from, task.class_names))
    cl = use_channels_last(model, device, cfg.run.channels_last)
    return (to_channels_last(model) if cl else model), cl


def _train_counts(cfg: TrainConfig, task: Any) -> np.ndarray:
    """Training samples per class (at least 1, so class weights stay finite); an error for a class with
    none, unless the task's head can predict it from its parts."""
    counts = task.train_counts()
    if np.any(counts == 0):
        missing = [n for n, c in zip(task.class_names, counts) if c == 0]
        if not task.allows_unseen_classes:
            raise ValueError(f"{cfg.data.path}: classes with no training samples: {missing}")
        log.warning("%d classes have no training samples; the factorised head can still predict them "
                    "from their parts: %s", len(missing), missing[:10])
    return np.maximum(counts, 1)


def _save_epoch(d: Dist, out: Path, rotation: CheckpointRotation, kept: nn.Module, class_names: list[str],
                row: dict[str, Any], score: float, extra: dict[str, Any], events: Events) -> None:
    """The epoch's checkpoints and history, by rank 0, with every process's RNG state (a resumed run continues
    each process's stream)."""
    rngs = gather(d, rng_state())
    if d.main:
        rotation.save(row["epoch"], score, lambda p: save_checkpoint(
            p, kept, class_names, rng=rngs[0], **({"rng_ranks": rngs} if d.on else {}), **extra),
            is_best=row["is_best"])
        events.emit("on_checkpoint", out / "checkpoints" / "last.pt")
        atomic_write_json(out / "history.json", extra["history"])
    barrier(d)
    events.emit("on_epoch_end", row)


def _log_scalars(tb: Any, row: dict[str, Any], epoch: int) -> None:
    """An epoch's numbers to TensorBoard (``train_loss`` -> ``train/loss``)."""
    if tb is None:
        return
    for k, v in row.items():
        if k != "epoch" and isinstance(v, (int, float)):
            tb.add_scalar(k.replace("_", "/", 1), v, epoch)
    tb.flush()


def _start(cfg: TrainConfig) -> tuple[Dist, int, Path, torch.device]:
    """Join the processes (under torchrun), claim the run folder (rank 0), pick the device, seed."""
    check_ranges(cfg)
    d = setup(cfg.run.device)  # several processes under torchrun (see .distributed)
    batch = local_batch(d, cfg.data.batch_size)
    out = claim_run_folder(Path(cfg.run.out), bool(cfg.run.resume), cfg.run.overwrite) if d.main else Path(cfg.run.out)
    barrier(d)
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    device = pick_device(device_for(d, cfg.run.device))
    # each process its own random stream (dropout, mixup); DDP starts every process from rank 0's weights
    seed_everything(cfg.run.seed + 1_000_003 * d.rank)
    return d, batch, out, device


def _optimisation(cfg: TrainConfig, model: nn.Module, n_train: int, device: torch.device) -> tuple[Any, Any, Any]:
    """AdamW, the per-step cosine schedule (steps of the global batch) and the AMP grad scaler."""
    steps_per_epoch = math.ceil(n_train / cfg.data.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    scheduler = cosine_schedule(optimizer, cfg.optim.epochs * steps_per_epoch, int(cfg.optim.warmup_epochs * steps_per_epoch))
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and cfg.run.amp and not torch.cuda.is_bf16_supported())
    return optimizer, scheduler, scaler


def train(cfg: TrainConfig, events: Events | None = None) -> dict[str, Any]:
    """Train a crop or clip classifier as configured; returns the summary (also written to ``summary.json``).

    The run folder gets ``config.yaml`` (resolved), ``checkpoints/`` (last-N, best-N, last.pt,
    best.pt), ``history.json``, ``summary.json``, ``plots/`` and ``tb/`` (TensorBoard).
    """
    events = events or Events()
    d, batch, out, device = _start(cfg)
    task = make_task(cfg)
    class_names = task.class_names
    num_logits = 1 if len(class_names) == 2 else len(class_names)
    model, cl = _model_for(cfg, task, num_logits, device)
    ds = task.datasets(model.data_cfg, cfg.run.seed)
    loss_fn = make_loss(num_logits, _train_counts(cfg, task), cfg.data.imbalance, cfg.optim.label_smoothing).to(device)
    batch_transform = make_batch_transform(cfg, num_logits)
    distiller = (Distiller(cfg.distill.teacher, model.data_cfg, class_names, device, cfg.distill.alpha,
                           cfg.distill.temperature, per_frame=task.per_frame, channels_last=cl)
                 if cfg.distill.teacher else None)
    eval_loaders = {s: make_loader(x, task.eval_batch_size, False, 0, 0, cfg.data.workers,
                                   sampler=ShardSampler(len(x), d) if d.on else None) for s, x in ds.items() if s != "train"}
    optimizer, scheduler, scaler = _optimisation(cfg, model, len(ds["train"]), device)
    rotation = CheckpointRotation(out / "checkpoints", cfg.run.keep_last, cfg.run.keep_best)
    ckpt = resume_training(cfg.run.resume, out, cfg.model.name, class_names, model, optimizer, scheduler, scaler,
                           d.rank)
    start_epoch, history, best_score = ckpt.get("epoch", -1) + 1, ckpt.get("history", []), ckpt.get("best_score", -1.0)
    ema = WeightAverage(model, cfg.optim.ema) if cfg.optim.ema else None
    if ema is not None and "ema" in ckpt:
        ema.load_state(ckpt["ema"], ckpt["state_dict"])
    if d.main:
        save_yaml(cfg, out / "config.yaml")
    # Checkpoints save ``model``; the passes run through ``net`` (compiled, DDP-wrapped, or the same module).
    compiled = compile_model(model) if cfg.run.compile else model
    net = wrap(compiled, d, device, cfg.run.sync_bn)
    # The model evaluated, picked and saved: the average when there is one, else the trained weights.
    evaluated, kept = (ema.module, ema.module) if ema is not None else (compiled, model)

    tb = _tensorboard(out / "tb") if cfg.run.tensorboard and d.main else None
    log.info("training %s on %d train / %d val samples, classes %s, device %s", cfg.model.name,
             len(ds["train"]), len(ds["val"]), class_names, device)
    for epoch in range(start_epoch, cfg.optim.epochs):
        ds["train"].set_epoch(epoch)
        loader = make_loader(ds["train"], batch, True, cfg.run.seed, epoch, cfg.data.workers,
                             balanced=cfg.data.imbalance == "sampler",
                             sampler=train_sampler(d, ds["train"], cfg.run.seed, epoch) if d.on else None)
        t0 = time.perf_counter()
        stats = train_one_epoch(net, loader, loss_fn, optimizer, scheduler, scaler, device, cfg.run.amp,
                                cfg.optim.grad_clip, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
                                batch_transform=batch_transform, channels_last_input=cl and channels_last_inputs(model),
                                distiller=distiller, ema=ema)
        stats = reduce_stats(d, stats, len(loader.sampler) if d.on else 0)
        report, probs, labels = evaluate(evaluated, eval_loaders["val"], loss_fn, class_names, device, d=d)
        row = {"epoch": epoch, **stats, "val_loss": report["loss"], "val_accuracy": report["accuracy"],
               "val_macro_f1": report["macro_f1"], "val_roc_auc": report.get("roc_auc"), "val_ece": report["ece"],
               "lr": optimizer.param_groups[0]["lr"], "epoch_seconds": time.perf_counter() - t0}
        history.append(row)
        log.info("epoch %d: loss %.4f val macro-F1 %.4f acc %.4f", epoch + 1, row["train_loss"], row["val_macro_f1"], row["val_accuracy"])
        _log_scalars(tb, row, epoch)
        if cfg.run.plots and d.main:
            epoch_plots(out / "plots", f"epoch_{epoch + 1:03d}", report, probs, labels, class_names)
        score = float(report["macro_f1"])
        # Set before the checkpoint is written, so a resumed history keeps it too.
        row["is_best"] = score > best_score
        best_score = max(best_score, score)
        averaged = {} if ema is None else {"ema": ema.state(), "train_state_dict": cpu_state_dict(model)}
        extra = dict(optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(), scaler=scaler.state_dict(),
                     epoch=epoch, history=history, best_score=best_score, config=to_dict(cfg), val_report=report,
                     **averaged)
        _save_epoch(d, out, rotation, kept, class_names, row, score, extra, events)
    if tb is not None:
        tb.close()
    if not history:
        raise ValueError(f"nothing to train: epochs={cfg.optim.epochs} and the run already finished {start_epoch}")
    summary = finish(out, class_names, history, loss_fn, eval_loaders, device, cfg, task.skipped, d)
    cleanup(d)
    return summary


def finish(out: Path, class_names: list[str], history: list[dict[str, Any]], loss_fn: nn.Module,
           loaders: dict[str, torch.utils.data.DataLoader], device: torch.device, cfg: TrainConfig,
           skipped: list[dict[str, str]] | None = None, d: Dist | None = None) -> dict[str, Any]:
    """Best checkpoint -> tuned threshold on val -> one evaluation of the test split -> summary (written by
    rank 0; every process returns it)."""
    d = d or Dist()
    best_path = out / "checkpoints" / "best.pt"
    model, ckpt = model_from_checkpoint(best_path)
    model.to(device)
    val_report, _, _ = evaluate(model, loaders["val"], loss_fn, class_names, device, d=d)
    threshold = val_report.get("tuned_threshold") if len(class_names) == 2 else None
    # Store the tuned threshold in the checkpoint so export and predict use it.
    ckpt["threshold"] = threshold
    if d.main:
        write_checkpoint(best_path, ckpt)
    summary: dict[str, Any] = {
        "model": cfg.model.name, "class_names": class_names, "best_epoch": int(ckpt["epoch"]) + 1,
        "epochs": len(history), "best_checkpoint": str(best_path), "threshold": threshold,
        "val": val_report, "train_seconds": float(sum(h["epoch_seconds"] for h in history)),
        "task": cfg.task, "skipped": skipped or [],
    }
    if "test" in loaders:
        test_report, probs, labels = evaluate(model, loaders["test"], loss_fn, class_names, device, threshold=threshold,
                                              d=d)
        summary["test"] = test_report
        if cfg.run.plots and d.main:
            epoch_plots(out / "plots", "test_best", test_report, probs, labels, class_names, reliability=True)
        log.info("test (best epoch %d, threshold %s): macro-F1 %.4f accuracy %.4f", summary["best_epoch"],
                 threshold, test_report["macro_f1"], test_report["accuracy"])
    if d.main:
        if cfg.run.plots:
            from .plots import plot_history
            plot_history(history, out / "plots" / "history.png", title=f"{cfg.model.name} training")
        atomic_write_json(out / "summary.json", summary)
    return summary


def _tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed: no TensorBoard scalars (pip install tensorboard)")
        return None
    return SummaryWriter(str(folder))
