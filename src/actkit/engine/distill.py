"""Knowledge distillation: a trained actkit checkpoint (the teacher) guides a run's model.

The loss of a distilled run is ``(1 - alpha) * task loss + alpha * T^2 * KL(teacher || student)``
on class probabilities softened by temperature ``T`` (Hinton et al., 2015). The teacher sees the
same augmented (and mixed) batch as the student, so its soft targets follow every augmentation.
A one-logit (binary) model is read as the two-class distribution ``softmax([0, z])``.

The teacher may take another input size or normalisation than the student: the student's batch
is resized and re-normalised for it. It must predict the same classes, in the same order, from
the same colour mode and number of frames.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from ..models._base import DataConfig
from .checkpoint import model_from_checkpoint
from .steps import forward_scored, to_channels_last

log = logging.getLogger(__name__)


def two_class(logits: torch.Tensor) -> torch.Tensor:
    """``(N, 1)`` binary logits as ``(N, 2)`` logits of the same distribution; others unchanged."""
    return torch.cat([torch.zeros_like(logits), logits], dim=-1) if logits.shape[-1] == 1 else logits


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over samples.

    The ``T^2`` factor keeps the gradient scale of the soft term comparable across temperatures.
    """
    s, t = two_class(student.float()) / temperature, two_class(teacher.float()) / temperature
    return F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), log_target=True, reduction="batchmean") * temperature ** 2


def adapt_input(x: torch.Tensor, src: DataConfig, dst: DataConfig) -> torch.Tensor:
    """A batch prepared for ``src`` (channels at dim 1, pixels in the last two dims) as ``dst`` expects it:
    resized bilinearly when the sizes differ, re-normalised when mean/std differ."""
    if tuple(src.mean) != tuple(dst.mean) or tuple(src.std) != tuple(dst.std):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        m_s, s_s = (torch.tensor(v, dtype=x.dtype, device=x.device).view(shape) for v in (src.mean, src.std))
        m_d, s_d = (torch.tensor(v, dtype=x.dtype, device=x.device).view(shape) for v in (dst.mean, dst.std))
        x = (x * s_s + m_s - m_d) / s_d
    size = tuple(dst.input_size)
    if tuple(x.shape[-2:]) != size:
        lead = x.shape[:-2]
        x = F.interpolate(x.reshape(-1, 1, *x.shape[-2:]), size=size, mode="bilinear", align_corners=False,
                          antialias=True).reshape(*lead, *size)
    return x


class Distiller:
    """The teacher of a run and the soft term of its loss.

    Raises:
        FileNotFoundError / ValueError: the teacher checkpoint is missing or unreadable, predicts other
            classes, takes another colour mode or frame count, or is not a streaming model when the
            run trains one output per frame; or ``alpha`` / ``temperature`` are out of range.
    """

    def __init__(self, path: str | Path, student_cfg: DataConfig, class_names: list[str], device: torch.device,
                 alpha: float = 0.5, temperature: float = 4.0, per_frame: bool = False,
                 channels_last: bool = False) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"distill.alpha must be in (0, 1], got {alpha}")
        if not temperature > 0:
            raise ValueError(f"distill.temperature must be > 0, got {temperature}")
        teacher, ckpt = model_from_checkpoint(path)
        if list(ckpt["class_names"]) != list(class_names):
            raise ValueError(f"teacher {path} predicts {list(ckpt['class_names'])}, the run trains {list(class_names)}: "
                             "a teacher must have the same classes in the same order")
        tcfg = teacher.data_cfg
        for key in ("colour", "num_frames"):
            if getattr(tcfg, key) != getattr(student_cfg, key):
                raise ValueError(f"teacher {path} takes {key} {getattr(tcfg, key)!r}, the student "
                                 f"{getattr(student_cfg, key)!r}: they must agree")
        if per_frame and not hasattr(teacher, "forward_frames"):
            raise ValueError(f"teacher {path} ({ckpt['model_name']}) is not a streaming model, and the run trains "
                             "one output per frame")
        teacher = teacher.to(device).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        self.teacher = to_channels_last(teacher) if channels_last else teacher
        self.student_cfg, self.alpha, self.temperature = student_cfg, float(alpha), float(temperature)
        log.info("distilling from %s (%s; alpha %.2f, temperature %.1f)", path, ckpt["model_name"], self.alpha,
                 self.temperature)

    def teacher_logits(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The teacher's logits for a batch, aligned with what ``forward_scored`` gives the student."""
        with torch.no_grad():
            return forward_scored(self.teacher, adapt_input(x, self.student_cfg, self.teacher.data_cfg), y)[0]

    def loss(self, task_loss: torch.Tensor, student_logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The run's loss: the task loss blended with the soft term (``y``: the targets before scoring)."""
        soft = kd_loss(student_logits, self.teacher_logits(x, y), self.temperature)
        return (1.0 - self.alpha) * task_loss + self.alpha * soft
