"""torchvision video classifiers behind the actkit contract (``tv_r3d_18`` .. ``tv_swin3d_t``).

Papers:
* R3D-18, MC3-18, R(2+1)D-18: Tran et al., "A Closer Look at Spatiotemporal Convolutions for
  Action Recognition", CVPR 2018.
* S3D: Xie et al., "Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in
  Video Classification", ECCV 2018.
* MViTv2-S: Li et al., "MViTv2: Improved Multiscale Vision Transformers for Classification and
  Detection", CVPR 2022.
* Swin3D-T: Liu et al., "Video Swin Transformer", CVPR 2022.

``data_cfg`` holds the preprocessing of torchvision's Kinetics-400 weights (``weights.transforms()``
and the clip length in ``weights.meta["_docs"]``). ``pretrained`` takes a local ``.pth`` state dict
(torchvision key names) or a weights name such as ``"KINETICS400_V1"`` (downloaded to the torch hub
cache where a network exists). The published classifier is kept when ``num_classes`` is 400 and
the head is linear, otherwise a fresh head is made.
"""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ._base import DataConfig
from ._registry import build_config, register_model
from .heads import ClipModel, head_overrides

log = logging.getLogger(__name__)

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
DOWNLOAD_TIMEOUT_S = 15.0

# arch -> (torchvision builder, weights enum, classifier attribute, embedding width)
_ARCHS = {
    "r3d_18": ("r3d_18", "R3D_18_Weights", "fc", 512),
    "mc3_18": ("mc3_18", "MC3_18_Weights", "fc", 512),
    "r2plus1d_18": ("r2plus1d_18", "R2Plus1D_18_Weights", "fc", 512),
    "s3d": ("s3d", "S3D_Weights", "classifier", 1024),
    "mvit_v2_s": ("mvit_v2_s", "MViT_V2_S_Weights", "head", 768),
    "swin3d_t": ("swin3d_t", "Swin3D_T_Weights", "head", 768),
}


@dataclass
class TvVideoConfig:
    """Config of the torchvision video family (the architecture itself is torchvision's)."""

    arch: str = "r3d_18"
    num_classes: int = 400
    num_frames: int = 16
    input_size: tuple[int, int] = (112, 112)
    fps: float = 15.0
    mean: tuple[float, ...] = KINETICS_MEAN
    std: tuple[float, ...] = KINETICS_STD
    pretrained: str = ""
    head: str = "linear"
    label_parts: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    dropout: float = 0.0


class TvVideoNet(ClipModel):
    """A torchvision video network with its classifier replaced by an actkit head."""

    def __init__(self, cfg: TvVideoConfig) -> None:
        super().__init__()
        if cfg.arch not in _ARCHS:
            raise ValueError(f"unknown torchvision video arch {cfg.arch!r}: use one of {sorted(_ARCHS)}")
        tvm = _require_tv_video()
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=cfg.input_size, colour="rgb", mean=cfg.mean, std=cfg.std,
                                   num_frames=cfg.num_frames, fps=cfg.fps)
        fn_name, _, cls_attr, self.num_features = _ARCHS[cfg.arch]
        if cfg.arch == "mvit_v2_s" and (cfg.num_frames != 16 or tuple(cfg.input_size) != (224, 224)):
            # torchvision builds its positional embeddings for exactly this clip shape.
            raise ValueError(f"tv_mvit_v2_s takes exactly 16 frames of 224x224 (torchvision fixes it); "
                             f"got num_frames={cfg.num_frames}, input_size={tuple(cfg.input_size)}")
        net = getattr(tvm, fn_name)(weights=None)
        if cfg.pretrained:
            _load_backbone(net, load_tv_state_dict(cfg.arch, cfg.pretrained), cls_attr)
        old = getattr(net, cls_attr)
        setattr(net, cls_attr, nn.Identity())
        if cfg.arch == "s3d":
            # S3D averages (2,7,7) windows then the whole map; at its native 16x224 that is the global
            # mean, and the global mean also works at any other clip size.
            net.avgpool = nn.Identity()
        self.backbone = net
        self._init_head()
        if cfg.pretrained and cfg.head == "linear":
            self._copy_classifier(old)

    def _copy_classifier(self, old: nn.Module) -> None:
        lin = [m for m in (old.modules() if isinstance(old, nn.Module) else []) if isinstance(m, (nn.Linear, nn.Conv3d))]
        if not lin or lin[-1].weight.shape[0] != self.cfg.num_classes:
            return
        with torch.no_grad():
            self.head.weight.copy_(lin[-1].weight.reshape(self.head.weight.shape))
            self.head.bias.copy_(lin[-1].bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x, self.cfg.num_frames if self.cfg.arch == "mvit_v2_s" else None)
        f = self.backbone(x)
        return f.mean((2, 3, 4)) if f.dim() == 5 else f


def _require_tv_video() -> Any:
    from ..utils.deps import require

    require("torchvision", "video")
    import torchvision.models.video as tvm

    return tvm


def _load_backbone(net: nn.Module, sd: dict[str, torch.Tensor], cls_attr: str) -> None:
    # A fine-tuned file may have another number of classes: its classifier is dropped, the rest must match.
    own = net.state_dict()
    drop = [k for k in sd if k.startswith(cls_attr + ".") and k in own and sd[k].shape != own[k].shape]
    sd = {k: v for k, v in sd.items() if k not in drop}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k not in drop]
    if missing or unexpected:
        raise ValueError(f"pretrained weights do not fit {type(net).__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if drop:
        log.info("pretrained classifier %s has another number of classes: not loaded", drop)


def load_tv_state_dict(arch: str, pretrained: str) -> dict[str, torch.Tensor]:
    """A torchvision state dict from a local file or a torchvision weights name.

    Args:
        arch: key of the torchvision architecture, e.g. ``"r3d_18"``.
        pretrained: path to a ``.pth``/``.pt`` state dict, or a weights name (``"KINETICS400_V1"``,
            ``"DEFAULT"``) fetched with a short timeout; offline this raises one clear error.
    """
    tvm = _require_tv_video()
    weights_enum = getattr(tvm, _ARCHS[arch][1])
    names = [w.name for w in weights_enum] + ["DEFAULT"]
    path = Path(pretrained).expanduser()
    if pretrained not in names:
        if not path.is_file():
            raise FileNotFoundError(f"pretrained={pretrained!r} is neither a file nor a torchvision weights name for {arch} "
                                    f"(one of {names})")
        sd = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
            sd = sd["state_dict"]
        return sd
    weights = weights_enum[pretrained] if pretrained != "DEFAULT" else weights_enum.DEFAULT
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except Exception as e:  # URLError, timeouts, DNS failures, proxies: all mean "no file"
        fname = weights.url.rsplit("/", 1)[-1]
        raise RuntimeError(
            f"could not fetch the {arch} {weights.name} weights from {weights.url} ({type(e).__name__}: {e}). "
            f"Download {fname} on a machine with internet and pass the local file: "
            f"create_model('tv_{arch}', pretrained='/path/to/{fname}')") from e
    finally:
        socket.setdefaulttimeout(before)


def _create(base: dict[str, Any], overrides: dict[str, Any]) -> TvVideoNet:
    return TvVideoNet(build_config(TvVideoConfig, base, head_overrides(overrides)))


_IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
_MVIT = dict(mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))


@register_model("tv_video", task="clip")
def tv_r3d_18(**kw: Any) -> TvVideoNet:
    """torchvision R3D-18 (33.4M, K400 63.2%): 16 frames at 15 fps, resize 128x171, crop 112."""
    return _create(dict(arch="r3d_18"), kw)


@register_model("tv_video", task="clip")
def tv_mc3_18(**kw: Any) -> TvVideoNet:
    """torchvision MC3-18 (11.7M, K400 64.0%): 16 frames at 15 fps, resize 128x171, crop 112."""
    return _create(dict(arch="mc3_18"), kw)


@register_model("tv_video", task="clip")
def tv_r2plus1d_18(**kw: Any) -> TvVideoNet:
    """torchvision R(2+1)D-18 (31.5M, K400 67.5%): 16 frames at 15 fps, resize 128x171, crop 112."""
    return _create(dict(arch="r2plus1d_18"), kw)


@register_model("tv_video", task="clip")
def tv_s3d(**kw: Any) -> TvVideoNet:
    """torchvision S3D (8.3M, K400 68.4%): 16 frames (eval used 128), resize 256, crop 224."""
    return _create(dict(arch="s3d", input_size=(224, 224), dropout=0.2), kw)


@register_model("tv_video", task="clip")
def tv_mvit_v2_s(**kw: Any) -> TvVideoNet:
    """torchvision MViTv2-S (34.5M, K400 80.8%): exactly 16 frames at 7.5 fps, resize 256, crop 224."""
    return _create(dict(arch="mvit_v2_s", input_size=(224, 224), fps=7.5, dropout=0.5, **_MVIT), kw)


@register_model("tv_video", task="clip")
def tv_swin3d_t(**kw: Any) -> TvVideoNet:
    """torchvision Swin3D-T (28.2M, K400 77.7%): 32 frames at 15 fps, resize 256, crop 224."""
    return _create(dict(arch="swin3d_t", input_size=(224, 224), num_frames=32, **_IMAGENET), kw)
