"""Distributed data-parallel training (DDP) under ``torchrun``, on the engines PyTorch ships.

``torchrun --nproc_per_node N -m actkit train ...`` (or ``actkit train --nproc N``, which launches it) starts N
processes with ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` set; :func:`setup` joins them into a process group
(``nccl`` on GPUs, ``gloo`` on CPU). Then:

* ``--batch-size`` is the **global** batch: each process takes ``batch_size / N`` samples per step from a
  :class:`~torch.utils.data.DistributedSampler` reseeded every epoch (``seed``, ``epoch``), so one step sees the
  same samples whatever N;
* gradients are averaged by :class:`~torch.nn.parallel.DistributedDataParallel`; ``--run.sync_bn`` turns
  BatchNorm layers into SyncBatchNorm (GPUs only);
* evaluation is sharded into contiguous, unpadded slices (:class:`ShardSampler`) and gathered in dataset order,
  so val / test metrics are those of one process;
* only rank 0 writes the run folder (checkpoints, logs, plots, TensorBoard); checkpoints hold every rank's RNG
  state, and ``--resume auto`` restores each rank's own.

Multi-node: ``torchrun --nnodes 2 --node_rank R --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint
HOST:29500 -m actkit train ...`` on each node (docs/scale.md).
"""
from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass
class Dist:
    """This process's place in the group (``world == 1``: not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def on(self) -> bool:
        return self.world > 1


def setup(device: str = "auto") -> Dist:
    """Join the process group ``torchrun`` set up (env ``WORLD_SIZE`` > 1); a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    gpu = torch.cuda.is_available() and device != "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if gpu else "gloo")
    if gpu:
        torch.cuda.set_device(local)
    if rank != 0:  # one progress bar and one log: rank 0's
        logging.getLogger("actkit").setLevel(logging.WARNING)
    return Dist(rank, world, local)


def device_for(d: Dist, device: str) -> str:
    """The device of this rank: ``cuda:<local rank>`` when distributed on GPUs."""
    if d.on and (device == "auto" or device.startswith("cuda")) and torch.cuda.is_available():
        return f"cuda:{d.local_rank}"
    return device


def barrier(d: Dist) -> None:
    if d.on:
        dist.barrier()


def broadcast(d: Dist, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not d.on:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(d: Dist, obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order."""
    if not d.on:
        return [obj]
    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def mean(d: Dist, value: float, weight: float = 1.0) -> float:
    """The weighted mean of ``value`` over the ranks."""
    if not d.on:
        return value
    t = torch.tensor([value * weight, weight], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t[0] / t[1]) if t[1] else float("nan")


def reduce_stats(d: Dist, stats: dict[str, float], samples: int) -> dict[str, float]:
    """An epoch's training figures over all processes: the mean loss over every sample, samples/s summed."""
    if not d.on:
        return stats
    return {"train_loss": mean(d, stats["train_loss"], samples), "data_wait_share": mean(d, stats["data_wait_share"]),
            "train_samples_per_s": mean(d, stats["train_samples_per_s"]) * d.world}


def local_batch(d: Dist, batch_size: int) -> int:
    """Each rank's share of the global batch.

    Raises:
        ValueError: the batch does not split evenly.
    """
    if batch_size % d.world:
        raise ValueError(f"--batch-size {batch_size} is the global batch: make it a multiple of the {d.world} "
                         "processes")
    return batch_size // d.world


class ShardSampler(torch.utils.data.Sampler):
    """Rank r's contiguous slice of ``range(n)``, not padded: concatenated in rank order, the shards are the
    dataset in order (what evaluation gathers)."""

    def __init__(self, n: int, d: Dist) -> None:
        size = math.ceil(n / d.world)
        self.start, self.stop = min(n, d.rank * size), min(n, (d.rank + 1) * size)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start


def train_sampler(d: Dist, ds: Any, seed: int, epoch: int) -> torch.utils.data.DistributedSampler:
    s = torch.utils.data.DistributedSampler(ds, num_replicas=d.world, rank=d.rank, shuffle=True, seed=seed)
    s.set_epoch(epoch)
    return s


def gather_predictions(d: Dist, probs: np.ndarray, labels: np.ndarray, videos: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Every rank's shard of predictions, concatenated in rank (= dataset) order."""
    if not d.on:
        return probs, labels, videos
    parts = gather(d, (probs, labels, videos))
    vids = [p[2] for p in parts if p[2] is not None]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate(vids) if vids else None)


class Both(torch.nn.Module):
    """``forward(x)`` or, with ``frames=True``, ``forward_frames(x)`` of ``inner``: DDP synchronises gradients of
    what runs through its own call, so per-frame training goes through it too."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor, frames: bool = False) -> torch.Tensor:
        return self.inner.forward_frames(x) if frames else self.inner(x)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module under DDP, :class:`Both` and ``torch.compile``."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "inner", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, torch.nn.Module):
            return model
        model = inner


def wrap(model: torch.nn.Module, d: Dist, device: torch.device, sync_bn: bool) -> torch.nn.Module:
    """``model`` for training on this rank: DDP (with SyncBatchNorm on GPUs when asked) around :class:`Both`."""
    if not d.on:
        return model
    if sync_bn:
        if device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            log.warning("--run.sync_bn needs GPUs: BatchNorm statistics stay per process on CPU")
    # channels-last depthwise convolutions make DDP note that gradient strides differ from its buckets: a
    # performance note (one extra copy), not an error
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(Both(model), device_ids=ids)


def cleanup(d: Dist) -> None:
    """Leave the group together: a process tearing its connections down while another still writes its files
    can take the other down with it (gloo)."""
    if d.on and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
