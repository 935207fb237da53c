"""Training throughput of one model on one dataset in several precision / layout / compile modes.

:func:`train_throughput` (``actkit bench --train``) builds the task, datasets, loader, loss and
model through the trainer's own code (:func:`~actkit.engine.tasks.make_task`, ``task.datasets``,
:func:`~actkit.engine.trainer.make_loader`, :func:`~actkit.engine.trainer.make_loss`,
:func:`~actkit.engine.steps.forward_scored`), so it measures the real pipeline: decoding and
augmentation in the DataLoader, then forward, loss, backward and an AdamW step. Modes (:data:`MODES`):

* ``fp32``: no autocast, channels-first, eager;
* ``fp32_cl``: fp32 with channels-last weights and inputs (what ``run.channels_last auto`` picks on CPU
  for crop and streaming models);
* ``bf16``: bfloat16 autocast (CPU or CUDA), channels-first, eager;
* ``bf16_cl``: bf16 with channels-last weights and inputs (as ``run.channels_last on`` trains);
* ``bf16_cl_compile``: the same through ``torch.compile`` (inductor, as ``run.compile true`` trains).

Each mode gets a fresh model from the same seed and its own AdamW, then warm-up steps (more for
compiled modes, whose first steps compile), then the modes take turns in interleaved rounds of timed
steps over one shared stream of training batches, so drift and other load on the machine hit every
mode alike. Per step it records the time spent waiting for the next batch and the whole step (CUDA
is synchronised before the clock is read), giving samples/s, the median step and the share of step
time spent waiting for data: a pipeline that keeps the accelerator busy has a share near 0.
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn as nn

from ..engine.steps import channels_last, channels_last_inputs, compile_model, forward_scored, to_channels_last

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mode:
    """How one mode trains: bf16 autocast, channels-last layout, torch.compile."""

    bf16: bool
    channels_last: bool
    compile: bool


MODES: dict[str, Mode] = {
    "fp32": Mode(bf16=False, channels_last=False, compile=False),
    "fp32_cl": Mode(bf16=False, channels_last=True, compile=False),
    "bf16": Mode(bf16=True, channels_last=False, compile=False),
    "bf16_cl": Mode(bf16=True, channels_last=True, compile=False),
    "bf16_cl_compile": Mode(bf16=True, channels_last=True, compile=True),
}


#: The comparison: plain fp32 against bf16, channels-last and compile added one by one.
DEFAULT_MODES = ("fp32", "bf16", "bf16_cl", "bf16_cl_compile")


def parse_modes(modes: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """A comma list or sequence of mode names, checked against :data:`MODES` (None: :data:`DEFAULT_MODES`)."""
    if modes is None:
        return list(DEFAULT_MODES)
    names = [m.strip() for m in modes.split(",")] if isinstance(modes, str) else [str(m).strip() for m in modes]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"known modes: {', '.join(MODES)}")
    if not names:
        raise ValueError(f"no modes given; known modes: {', '.join(MODES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a mode is named twice: {', '.join(names)}")
    return names


def _autocast(device: torch.device, bf16: bool) -> Any:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model with its core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os

    from .system import cpu_name

    return f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def _batches(ds: torch.utils.data.Dataset, batch: int, seed: int, workers: int) -> Iterator[dict[str, Any]]:
    """Full training batches without end: epoch after epoch of the trainer's loader (shuffled,
    augmented per epoch). Short last batches are skipped, so compiled modes never see a new shape."""
    from ..engine.trainer import make_loader

    epoch = 0
    while True:
        ds.set_epoch(epoch)
        for b in make_loader(ds, batch, True, seed, epoch, workers):
            if len(b["input"]) == batch:
                yield b
        epoch += 1


class _Runner:
    """One mode's model, optimiser and per-step timings."""

    def __init__(self, name: str, mode: Mode, build: Any, device: torch.device, loss_fn: nn.Module, lr: float,
                 weight_decay: float) -> None:
        self.name, self.mode, self.device, self.loss_fn = name, mode, device, loss_fn
        self.wait: list[float] = []
        self.step_s: list[float] = []
        self.samples = 0
        self.error: str | None = None
        self.warmup_s = 0.0
        if mode.bf16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise RuntimeError("this GPU does not support bfloat16")
        model = build()
        if mode.channels_last:
            model = to_channels_last(model)
        self.model = model
        self.cl_inputs = mode.channels_last and channels_last_inputs(model)
        self.net = compile_model(model) if mode.compile else model
        self.net.train()
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def step(self, batches: Iterator[dict[str, Any]], record: bool) -> None:
        """Wait for a batch, then forward, loss, backward and optimiser step; time both."""
        t0 = time.perf_counter()
        b = next(batches)
        t_data = time.perf_counter()
        x = b["input"].to(self.device, non_blocking=True)
        y = b["label"].to(self.device, non_blocking=True)
        if self.cl_inputs:
            x = channels_last(x)
        with _autocast(self.device, self.mode.bf16):
            logits, y = forward_scored(self.net, x, y)
            loss = self.loss_fn(logits.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        _sync(self.device)
        t1 = time.perf_counter()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()}")
        if record:
            self.wait.append(t_data - t0)
            self.step_s.append(t1 - t0)
            self.samples += len(x)

    def row(self) -> dict[str, Any]:
        r: dict[str, Any] = {"mode": self.name, "bf16": self.mode.bf16, "channels_last": self.mode.channels_last,
                             "compile": self.mode.compile, "ok": self.error is None, "error": self.error,
                             "warmup_s": self.warmup_s, "steps": len(self.step_s)}
        if self.error is None and self.step_s:
            step = np.asarray(self.step_s)
            wait = np.asarray(self.wait)
            r.update(samples=self.samples, seconds=float(step.sum()),
                     samples_per_s=self.samples / max(float(step.sum()), 1e-12),
                     step_ms_median=1000 * float(np.median(step)), step_ms_p90=1000 * float(np.percentile(step, 90)),
                     compute_ms_median=1000 * float(np.median(step - wait)),
                     data_wait_share=float(wait.sum() / max(step.sum(), 1e-12)))
        return r


def _reason(e: BaseException) -> str:
    lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
    text = f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= 300 else text[:297] + "..."


def _setup(cfg: Any, model: str, seed: int, dev: torch.device, batch: int, data: str | Path
           ) -> tuple[Callable[[], nn.Module], int, Any, nn.Module]:
    """A builder of the model (the same weights each call), its parameter count, the train split and the loss."""
    from ..engine.tasks import make_task, model_kwargs
    from ..engine.trainer import make_loss, seed_everything
    from ..models import count_params, create_model

    seed_everything(seed)
    task = make_task(cfg)
    num_logits = 1 if len(task.class_names) == 2 else len(task.class_names)
    model_kw = model_kwargs(task)

    def build() -> nn.Module:
        seed_everything(seed)  # every mode starts from the same weights
        return create_model(model, num_classes=num_logits, **model_kw).to(dev)

    ref = build()
    params = count_params(ref)
    ds = task.datasets(ref.data_cfg, seed)["train"]
    if len(ds) < batch:
        raise ValueError(f"{data}: the train split has {len(ds)} samples, fewer than one batch of {batch}")
    counts = np.maximum(task.train_counts(), 1)
    return build, params, ds, make_loss(num_logits, counts, cfg.data.imbalance, cfg.optim.label_smoothing).to(dev)


def _warm_up(names: list[str], build: Callable[[], nn.Module], dev: torch.device, loss_fn: nn.Module, cfg: Any,
             batches: Any, pb: Any, warmup: int, compile_warmup: int) -> tuple[list[_Runner], list[dict[str, Any]]]:
    """A runner per mode after its untimed steps; the modes that failed (with why) beside them."""
    runners: list[_Runner] = []
    failed: list[dict[str, Any]] = []
    for n in names:
        pb.set_postfix(mode=n, phase="warm-up")
        t0 = time.perf_counter()
        try:
            r = _Runner(n, MODES[n], build, dev, loss_fn, cfg.optim.lr, cfg.optim.weight_decay)
            for _ in range(compile_warmup if r.mode.compile else warmup):
                r.step(batches, record=False)
                pb.update(1)
            r.warmup_s = time.perf_counter() - t0
            runners.append(r)
        except Exception as e:  # noqa: BLE001 - one mode failing (e.g. no compiler) must not stop the others
            log.warning("mode %s failed: %s", n, _reason(e))
            failed.append({"mode": n, "error": _reason(e)})
    return runners, failed


def _timed_rounds(runners: list[_Runner], batches: Any, steps: int, rounds: int, pb: Any) -> None:
    """``steps`` timed steps per mode, the modes taking turns ``rounds`` times."""
    for k in range(rounds):
        todo = steps * (k + 1) // rounds - steps * k // rounds
        for r in runners:
            if r.error is not None:
                continue
            pb.set_postfix(mode=r.name, round=f"{k + 1}/{rounds}")
            try:
                for _ in range(todo):
                    r.step(batches, record=True)
                    pb.update(1)
            except Exception as e:  # noqa: BLE001
                r.error = _reason(e)
                log.warning("mode %s failed: %s", r.name, r.error)


def _check(data: str | Path, batch: int, steps: int, warmup: int, compile_warmup: int, rounds: int) -> None:
    if batch < 1 or steps < 1 or warmup < 0 or compile_warmup < 0 or rounds < 1:
        raise ValueError(f"need batch >= 1, steps >= 1, warm-up >= 0 and rounds >= 1; got batch {batch}, steps "
                         f"{steps}, warm-up {warmup}/{compile_warmup}, rounds {rounds}")
    if not Path(data).exists():
        raise FileNotFoundError(f"data not found: {data}")


def train_throughput(model: str, data: str | Path, batch: int = 64, steps: int = 20,
                     modes: str | list[str] | tuple[str, ...] | None = None, device: str = "auto", workers: int = 0,
                     warmup: int = 3, compile_warmup: int = 8, rounds: int = 5, threads: int = 0, seed: int = 0,
                     overrides: dict[str, Any] | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Training samples/s of ``model`` on ``data`` in each of ``modes``, measured in one run.

    Args:
        model: registry name; its registered task (crop, clip or stream) picks how ``data`` is read.
        data: what ``actkit train`` takes for that task (a crop Parquet, a video dataset, a streams folder).
        batch: training batch size.
        steps: timed steps per mode (after warm-up).
        modes: names from :data:`MODES`, as a comma list or a sequence (default: all four).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        workers: DataLoader worker processes (0: batches are loaded in this process, between steps).
        warmup: untimed steps per eager mode.
        compile_warmup: untimed steps per compiled mode (its first steps compile).
        rounds: how many times the modes take turns (``steps`` are spread over the rounds).
        threads: torch CPU threads (0: leave as is; restored afterwards).
        seed: model initialisation and data order.
        overrides: further dotted training-config keys, e.g. ``{"model.input_size": "48,48",
            "model.num_frames": 8, "data.format": "ucf101"}``.
        progress: progress bar on stderr (default: when stderr is a terminal, log lines otherwise).

    Returns:
        A JSON-ready dict; :func:`format_train_table` renders it. ``modes`` holds one row per mode:
        ``mode``, ``ok``, ``error`` (why a mode failed, e.g. torch.compile unavailable; the other
        modes still run), ``samples_per_s``, ``step_ms_median``, ``step_ms_p90``, ``compute_ms_median``
        (step minus data wait), ``data_wait_share`` (waiting for data / step time), ``ratio_to_first``
        (samples/s over the first mode that ran), ``warmup_s``.

    Raises:
        ValueError: unknown mode, bad sizes, or a train split smaller than one batch.
        FileNotFoundError: ``data`` does not exist.
        RuntimeError: no mode ran (the message gives each mode's reason).
    """
    from ..config import TrainConfig, resolve
    from ..engine.trainer import pick_device
    from ..models import model_entry
    from ..utils.progress import progress as bar

    names = parse_modes(modes)
    _check(data, batch, steps, warmup, compile_warmup, rounds)
    task_name = model_entry(model).task
    dev = pick_device(device)
    threads_before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory(prefix="actkit-train-bench-") as tmp:
            over = {"task": task_name, "data.path": str(data), "model.name": model, "data.batch_size": batch,
                    "data.workers": workers, "run.seed": seed, "run.out": tmp, **(overrides or {})}
            cfg = resolve(TrainConfig, None, over)
            build, params, ds, loss_fn = _setup(cfg, model, seed, dev, batch, data)
            batches = _batches(ds, batch, seed, workers)
            total = sum(compile_warmup if MODES[n].compile else warmup for n in names) + steps * len(names)
            with bar(total=total, desc="bench train", unit="step", enable=progress) as pb, contextlib.closing(batches):
                runners, failed = _warm_up(names, build, dev, loss_fn, cfg, batches, pb, warmup, compile_warmup)
                rounds = min(rounds, steps)
                _timed_rounds(runners, batches, steps, rounds, pb)
            by_name = {r.name: r.row() for r in runners}
            for f in failed:
                by_name[f["mode"]] = {"mode": f["mode"], **asdict(MODES[f["mode"]]), "ok": False, "error": f["error"],
                                      "warmup_s": None, "steps": 0}
            rows = [by_name[n] for n in names]
            first = next((r for r in rows if r["ok"]), None)
            if first is None:
                raise RuntimeError("no mode ran: " + "; ".join(f"{r['mode']}: {r['error']}" for r in rows))
            for r in rows:
                r["ratio_to_first"] = r["samples_per_s"] / first["samples_per_s"] if r["ok"] else None
            sample_shape = list(ds[0]["input"].shape)
            where = {"device": str(dev), "device_name": device_name(dev), "threads": torch.get_num_threads()}
    finally:
        torch.set_num_threads(threads_before)
    return {"model": model, "params": params, "task": task_name, "data": str(data), "train_samples": len(ds),
            "input": sample_shape, "batch": batch, "steps": steps, "warmup": warmup, "compile_warmup": compile_warmup,
            "rounds": rounds, "interleaved": True, "workers": workers, **where, "torch": torch.__version__,
            "first_mode": first["mode"], "modes": rows}


def format_train_table(res: dict[str, Any]) -> str:
    """A Markdown table of a :func:`train_throughput` result."""
    unit = "crops/s" if res["task"] == "crop" else "clips/s"
    lines = [f"| mode | {unit} | step ms median | step ms p90 | data-wait share | ratio | warm-up s |",
             "|---|---|---|---|---|---|---|"]
    for r in res["modes"]:
        if not r["ok"]:
            lines.append(f"| {r['mode']} | failed: {r['error']} | | | | | |")
            continue
        lines.append(f"| {r['mode']} | {r['samples_per_s']:.1f} | {r['step_ms_median']:.1f} | {r['step_ms_p90']:.1f} | "
                     f"{100 * r['data_wait_share']:.1f} % | {r['ratio_to_first']:.2f} | {r['warmup_s']:.1f} |")
    lines.append(f"\n{res['model']} ({res['params']:,} params, input {'x'.join(map(str, res['input']))}) on {res['data']} "
                 f"({res['train_samples']} training samples), batch {res['batch']}, {res['workers']} DataLoader workers; "
                 f"device {res['device']}: {res['device_name']}; torch {res['torch']}. {res['steps']} timed steps per mode "
                 f"after {res['warmup']} warm-up steps ({res['compile_warmup']} compiled), modes interleaved in "
                 f"{res['rounds']} rounds over one stream of batches; {unit} = samples / summed step time (data wait "
                 f"included); data-wait share = time waiting for the next batch / step time; ratio = {unit} / "
                 f"{res['first_mode']}'s.")
    return "\n".join(lines)
