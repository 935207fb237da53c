"""Classifier heads and the shared base of clip models (``task="clip"``).

Structured labels: a factorised head predicts each part of a label (Diving48's take-off,
somersaults, twists, flight position) with its own linear layer and decodes jointly to the
valid classes, the factorised/compositional output used for Diving48 in Li, Li & Vasconcelos,
"RESOUND: Towards Action Recognition without Representation Bias" (ECCV 2018) and, as
per-attribute heads, in Kanojia et al., "Attentive Spatio-Temporal Representation Learning
for Diving Classification" (CVPRW 2019). Its output is still one logit per valid class, so
the trainer's cross-entropy and argmax need nothing special.

Clip-model contract (every ``task="clip"`` model): input float (B, C, T, H, W) normalised with
``data_cfg.mean/std``; ``forward_features`` returns the pooled clip embedding (B, num_features)
(``clip_frame`` in ``avg_logits`` mode: per-frame embeddings (B, T, num_features));
``forward_head`` maps it to (B, num_classes) logits.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._base import ActkitModel

HEADS = ("linear", "factorised")
_TUPLE_FIELDS = ("mean", "std", "time_pool", "input_size", "widths", "depths")


def _parts_tuple(label_parts: Sequence[Sequence[Any]] | None) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(p) for p in row) for row in (label_parts or ()))


def parts_vocab(label_parts: Sequence[Sequence[Any]]) -> tuple[list[list[str]], list[tuple[int, ...]]]:
    """Per-part vocabularies (order of first appearance) and each class as a tuple of part indices.

    Args:
        label_parts: one tuple of part values per class, e.g. ``("back", "2.5", "1.5", "pike")``.
    """
    rows = _parts_tuple(label_parts)
    if not rows:
        raise ValueError("label_parts is empty: give one tuple of part values per class")
    n = len(rows[0])
    bad = [i for i, r in enumerate(rows) if len(r) != n]
    if bad:
        raise ValueError(f"label_parts rows must all have {n} parts; class {bad[0]} has {len(rows[bad[0]])}: {rows[bad[0]]}")
    if len(set(rows)) != len(rows):
        dup = next(r for r in rows if rows.count(r) > 1)
        raise ValueError(f"label_parts has the same part tuple for two classes: {dup}")
    vocab: list[list[str]] = [[] for _ in range(n)]
    for row in rows:
        for k, v in enumerate(row):
            if v not in vocab[k]:
                vocab[k].append(v)
    return vocab, [tuple(vocab[k].index(v) for k, v in enumerate(row)) for row in rows]


class FactorisedHead(nn.Module):
    """One linear layer per label part, decoded jointly to the valid part combinations.

    ``forward`` returns (B, num_classes) logits ``sum_k log_softmax(part_k)[class's index in part k]``:
    a softmax over them is the product-of-parts distribution renormalised over the valid classes,
    so argmax is always a valid class and plain cross-entropy trains all parts at once.

    Args:
        in_features: embedding width.
        parts: vocabulary of each part.
        classes: each valid class as a tuple of part indices (one per part).
    """

    def __init__(self, in_features: int, parts: Sequence[Sequence[str]], classes: Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.parts = [list(p) for p in parts]
        if not classes:
            raise ValueError("FactorisedHead needs at least one valid class")
        idx = torch.tensor([list(c) for c in classes], dtype=torch.long)
        if idx.dim() != 2 or idx.shape[1] != len(self.parts):
            raise ValueError(f"each class needs {len(self.parts)} part indices, got shape {tuple(idx.shape)}")
        for k, p in enumerate(self.parts):
            if idx[:, k].min() < 0 or idx[:, k].max() >= len(p):
                raise ValueError(f"part {k} has {len(p)} values but a class uses index {int(idx[:, k].max())}")
        self.in_features = in_features
        self.fcs = nn.ModuleList(nn.Linear(in_features, len(p)) for p in self.parts)
        self.register_buffer("class_index", idx, persistent=False)

    @property
    def out_features(self) -> int:
        return int(self.class_index.shape[0])

    def part_logits(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Per-part logits [(B, len(part_k))], for per-part losses and diagnostics."""
        return [fc(features) for fc in self.fcs]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = 0
        for k, logits in enumerate(self.part_logits(features)):
            out = out + F.log_softmax(logits, dim=-1)[..., self.class_index[:, k]]
        return out


def make_head(in_features: int, num_classes: int, head: str = "linear", label_parts: Sequence[Sequence[Any]] | None = None) -> nn.Module:
    """The classifier layer of a clip model: ``nn.Linear`` or :class:`FactorisedHead`."""
    if head == "linear":
        return nn.Linear(in_features, num_classes)
    if head == "factorised":
        if not label_parts:
            raise ValueError("head='factorised' needs label_parts=[(part, part, ...), ...], one tuple per class")
        if len(label_parts) != num_classes:
            raise ValueError(f"head='factorised': num_classes={num_classes} but label_parts has {len(label_parts)} classes")
        return FactorisedHead(in_features, *parts_vocab(label_parts))
    raise ValueError(f"unknown head {head!r}: use one of {HEADS}")


def head_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Normalise clip overrides (lists from JSON as tuples); ``num_classes`` from ``label_parts`` when not given."""
    overrides = {k: tuple(v) if k in _TUPLE_FIELDS and isinstance(v, list) else v for k, v in overrides.items()}
    if overrides.get("label_parts"):
        overrides["label_parts"] = _parts_tuple(overrides["label_parts"])
        overrides.setdefault("num_classes", len(overrides["label_parts"]))
        overrides.setdefault("head", "factorised")
    return overrides


class ClipModel(ActkitModel):
    """Shared parts of clip models: input check, dropout + head, ``reset_classifier``, ``part_logits``.

    Subclasses set ``cfg`` (with ``num_classes``, ``head``, ``label_parts``, ``dropout``),
    ``data_cfg``, ``num_features``, call :meth:`_init_head` and implement ``forward_features``.
    """

    num_features: int

    def _init_head(self) -> None:
        self.cfg.label_parts = _parts_tuple(self.cfg.label_parts)
        self.drop = nn.Dropout(self.cfg.dropout)
        self.head = make_head(self.num_features, self.cfg.num_classes, self.cfg.head, self.cfg.label_parts)

    def check_input(self, x: torch.Tensor, frames: int | None = None) -> None:
        """Raise a clear error unless ``x`` is (B, C, T, H, W) with the model's channels (and ``frames``)."""
        c = self.data_cfg.in_chans
        if x.dim() != 5 or x.shape[1] != c:
            raise ValueError(f"{self.model_name or type(self).__name__} expects a clip (B, {c}, T, H, W), got {tuple(x.shape)}")
        if frames is not None and x.shape[2] != frames:
            raise ValueError(f"{self.model_name or type(self).__name__} was built for {frames} frames (config num_frames={frames}) "
                             f"but the clip has {x.shape[2]}; sample {frames} frames or build with num_frames={x.shape[2]}")

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(x))

    def part_logits(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Per-part logits of a factorised head (``features`` from :meth:`forward_features`)."""
        if not isinstance(self.head, FactorisedHead):
            raise ValueError("part_logits needs head='factorised'")
        return self.head.part_logits(self.drop(features))

    def reset_classifier(self, num_classes: int, label_parts: Sequence[Sequence[Any]] | None = None) -> None:
        """New head for ``num_classes`` (a factorised head needs ``label_parts`` when the count changes)."""
        if label_parts:
            self.cfg.head, self.cfg.label_parts = "factorised", _parts_tuple(label_parts)
        elif self.cfg.head == "factorised" and num_classes != len(self.cfg.label_parts):
            raise ValueError(f"factorised head has {len(self.cfg.label_parts)} classes; to reset to {num_classes} "
                             "pass label_parts=[...] with one part tuple per class")
        self.cfg.num_classes = num_classes
        self.head = make_head(self.num_features, num_classes, self.cfg.head, self.cfg.label_parts)

    def config_dict(self) -> dict[str, Any]:
        # ``pretrained`` only initialises weights; a checkpoint carries them, so rebuilding from
        # the config must not need (or re-download) the original file.
        d = asdict(self.cfg)
        if "pretrained" in d:
            d["pretrained"] = ""
        d["label_parts"] = [list(p) for p in d.get("label_parts") or ()]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
