"""Hugging Face video transformers behind the actkit contract (``hf_timesformer``, ``hf_videomae``).

Papers:
* TimeSformer: Bertasius, Wang & Torresani, "Is Space-Time Attention All You Need for Video
  Understanding?", ICML 2021 (divided space-time attention; CLS token).
* VideoMAE: Tong et al., "VideoMAE: Masked Autoencoders are Data-Efficient Learners for
  Self-Supervised Video Pre-Training", NeurIPS 2022 (tubelets of 2 frames; mean-pooled tokens).

The plain names are small configs that run on a CPU in tests; ``*_base`` mirror the published
base configs. ``pretrained="folder/"`` loads a local ``save_pretrained`` folder (never the hub),
whose ``config.json`` then fixes the architecture and whose ``preprocessor_config.json`` (if any)
fixes mean/std. ``data_cfg.num_frames`` is always ``config.num_frames``: a clip with another
number of frames is refused (TimeSformer would silently interpolate its time embeddings).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ._base import DataConfig
from ._registry import build_config, register_model
from .heads import ClipModel, head_overrides

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (config class, model class) per kind
_KINDS = {
    "timesformer": ("TimesformerConfig", "TimesformerForVideoClassification"),
    "videomae": ("VideoMAEConfig", "VideoMAEForVideoClassification"),
}
_ARCH_FIELDS = {"hidden_size": "dim", "num_hidden_layers": "depth", "num_attention_heads": "heads",
                "intermediate_size": "mlp_dim", "patch_size": "patch_size", "num_frames": "num_frames"}
_SKIP_KEYS = {"id2label", "label2id", "architectures", "transformers_version", "model_type", "torch_dtype", "dtype",
              "problem_type", "_name_or_path", "image_size", "num_channels", "return_dict", "output_attentions",
              "output_hidden_states", "use_cache", "num_labels", "chunk_size_feed_forward", "tie_word_embeddings"}


@dataclass
class HfVideoConfig:
    """Config of the HF video family; ``extra`` holds any other HF config field (kept for rebuilding)."""

    kind: str = "videomae"
    dim: int = 64
    depth: int = 2
    heads: int = 2
    mlp_dim: int = 128
    patch_size: int = 16
    tubelet_size: int = 2
    extra: dict[str, Any] = field(default_factory=dict)
    pretrained: str = ""
    num_classes: int = 400
    num_frames: int = 8
    input_size: tuple[int, int] = (64, 64)
    fps: float = 15.0
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    head: str = "linear"
    label_parts: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    dropout: float = 0.0


class HfVideoNet(ClipModel):
    """A transformers video classifier whose classifier is replaced by an actkit head."""

    def __init__(self, cfg: HfVideoConfig) -> None:
        super().__init__()
        if cfg.kind not in _KINDS:
            raise ValueError(f"unknown HF video kind {cfg.kind!r}: use one of {sorted(_KINDS)}")
        from ..utils.deps import require

        transformers = require("transformers", "transformers")
        config_cls, model_cls = (getattr(transformers, n) for n in _KINDS[cfg.kind])
        if cfg.pretrained:
            net = _from_folder(cfg, model_cls)
        else:
            if cfg.input_size[0] != cfg.input_size[1]:
                raise ValueError(f"{cfg.kind} takes square frames; got input_size={tuple(cfg.input_size)}")
            kw = dict(hidden_size=cfg.dim, num_hidden_layers=cfg.depth, num_attention_heads=cfg.heads,
                      intermediate_size=cfg.mlp_dim, patch_size=cfg.patch_size, num_frames=cfg.num_frames,
                      image_size=cfg.input_size[0], num_channels=3, num_labels=cfg.num_classes, **cfg.extra)
            if cfg.kind == "videomae":
                kw["tubelet_size"] = cfg.tubelet_size
            net = model_cls(config_cls(**kw))
        old = net.classifier
        net.classifier = nn.Identity()
        self.net = net
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=cfg.input_size, colour="rgb", mean=cfg.mean, std=cfg.std,
                                   num_frames=cfg.num_frames, fps=cfg.fps)
        self.num_features = int(net.config.hidden_size)
        self._init_head()
        if cfg.pretrained and cfg.head == "linear" and isinstance(old, nn.Linear) and old.out_features == cfg.num_classes:
            self.head.load_state_dict(old.state_dict())

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x, self.cfg.num_frames)
        if tuple(x.shape[-2:]) != tuple(self.cfg.input_size):
            raise ValueError(f"{self.model_name or self.cfg.kind} was built for {tuple(self.cfg.input_size)} frames, got {tuple(x.shape[-2:])}")
        # HF video models take (B, T, C, H, W).
        return self.net(pixel_values=x.transpose(1, 2)).logits


def _from_folder(cfg: HfVideoConfig, model_cls: type) -> nn.Module:
    """Load a local ``save_pretrained`` folder and sync ``cfg`` with its config (so config_dict rebuilds it)."""
    folder = Path(cfg.pretrained).expanduser()
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"pretrained={cfg.pretrained!r} is not a local transformers folder with config.json "
                                "(models are never downloaded here; use save_pretrained/huggingface-cli download elsewhere)")
    hf = json.loads((folder / "config.json").read_text())
    if hf.get("model_type") != cfg.kind:
        raise ValueError(f"{folder} holds a {hf.get('model_type')!r} model, not {cfg.kind!r}")
    size = hf.get("image_size", 224)
    size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
    frames = hf.get("num_frames", cfg.num_frames)
    if cfg.num_frames not in (frames, _DEFAULT_FRAMES):
        raise ValueError(f"{folder} has config.num_frames={frames} but num_frames={cfg.num_frames} was asked; "
                         f"sample {frames} frames per clip or fine-tune a model built for {cfg.num_frames}")
    for hf_key, ours in _ARCH_FIELDS.items():
        if hf_key in hf:
            setattr(cfg, ours, hf[hf_key])
    if "tubelet_size" in hf:
        cfg.tubelet_size = hf["tubelet_size"]
    cfg.input_size = size
    cfg.extra = {k: v for k, v in hf.items() if k not in _SKIP_KEYS and k not in _ARCH_FIELDS and k != "tubelet_size"
                 and not k.startswith("decoder_")}
    pre = folder / "preprocessor_config.json"
    if pre.is_file():
        p = json.loads(pre.read_text())
        cfg.mean, cfg.std = tuple(p.get("image_mean", cfg.mean)), tuple(p.get("image_std", cfg.std))
    return model_cls.from_pretrained(str(folder), local_files_only=True, num_labels=cfg.num_classes, ignore_mismatched_sizes=True)


_DEFAULT_FRAMES = 0  # sentinel: num_frames not asked for -> take the checkpoint's


def _create(base: dict[str, Any], overrides: dict[str, Any]) -> HfVideoNet:
    overrides = head_overrides(overrides)
    if overrides.get("pretrained") and "num_frames" not in overrides:
        overrides["num_frames"] = _DEFAULT_FRAMES
    cfg = build_config(HfVideoConfig, base, overrides)
    if not cfg.pretrained and cfg.num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {cfg.num_frames}")
    return HfVideoNet(cfg)


_TSF_BASE = dict(kind="timesformer", dim=768, depth=12, heads=12, mlp_dim=3072, num_frames=8, input_size=(224, 224),
                 mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
_MAE_BASE = dict(kind="videomae", dim=768, depth=12, heads=12, mlp_dim=3072, num_frames=16, input_size=(224, 224))


@register_model("hf_video", task="clip")
def hf_timesformer(**kw: Any) -> HfVideoNet:
    """TimeSformer (transformers), small CPU config: dim 64, 2 layers, 8 frames of 64x64, patch 16."""
    return _create(dict(kind="timesformer", num_frames=8, input_size=(64, 64)), kw)


@register_model("hf_video", task="clip")
def hf_timesformer_base(**kw: Any) -> HfVideoNet:
    """TimeSformer-base config (121M): 8 frames of 224x224, patch 16, mean/std 0.45/0.225 (K400 checkpoint)."""
    return _create(dict(_TSF_BASE), kw)


@register_model("hf_video", task="clip")
def hf_videomae(**kw: Any) -> HfVideoNet:
    """VideoMAE (transformers), small CPU config: dim 64, 2 layers, 8 frames of 64x64, tubelet 2, patch 16."""
    return _create(dict(kind="videomae", num_frames=8, input_size=(64, 64)), kw)


@register_model("hf_video", task="clip")
def hf_videomae_base(**kw: Any) -> HfVideoNet:
    """VideoMAE-base config (86M): 16 frames of 224x224, tubelet 2, patch 16, ImageNet mean/std."""
    return _create(dict(_MAE_BASE), kw)
