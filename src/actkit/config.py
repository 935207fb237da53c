"""One typed source of truth for run configuration.

A run is configured by a tree of dataclasses with defaults. Values come, in order, from the
defaults, a YAML file (``--config run.yaml``) and command-line flags. Flags are derived from
the dataclass fields (``--optim.lr 0.01``; common ones have short aliases such as
``--epochs``), unknown keys are rejected with a close-match suggestion, and the resolved
config is saved in the run folder. Nothing is ever ``eval``-ed.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union


def _opt(default: Any, help: str, alias: str | None = None, choices: tuple[str, ...] | None = None) -> Any:
    meta = {"help": help, "alias": alias, "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataSection:
    """Where the samples come from and how they are sampled and augmented.

    Fields marked (crop) apply to ``task: crop`` only, (clip) to ``task: clip`` only, (video) to
    ``task: clip`` and ``task: stream`` (which trains on windows of frame-labelled videos), (stream) to
    ``task: stream`` only.
    """

    path: str = _opt("", "crop task: Parquet crop dataset; clip task: a video dataset (folder, UCF-101/HMDB51/"
                         "Diving48 root, Kinetics or generic CSV); stream task: a streams or reps folder", alias="--data")
    positive: str = _opt("", "(crop) binary view: this class vs the rest (e.g. sitting)", alias="--positive")
    batch_size: int = _opt(64, "batch size", alias="--batch-size")
    workers: int = _opt(0, "DataLoader worker processes")
    imbalance: str = _opt("loss", "correct class imbalance ONCE: by loss weights, by a balanced sampler, or not",
                          choices=("loss", "sampler", "none"))
    box_jitter: float = _opt(0.08, "random shift of the crop box, as a fraction of its size")
    scale_jitter: float = _opt(0.12, "random scale of the crop box (+/- fraction)")
    hflip: bool = _opt(True, "random horizontal flip")
    colour_jitter: float = _opt(0.25, "brightness/contrast/saturation jitter strength")
    hue_jitter: float = _opt(0.0, "turn colours about the grey axis by up to this fraction of a full turn "
                                  "(0: off, 0.5: any hue)")
    format: str = _opt("auto", "(clip) dataset format", choices=("auto", "folder", "ucf101", "hmdb51", "kinetics",
                                                                 "diving48", "csv"))
    split_index: int = _opt(1, "(clip) which official split (UCF-101 / HMDB51: 1-3)")
    sampler: str = _opt("random_window", "(clip) training frame sampler; evaluation takes dense windows, or "
                                          "uniform views of the whole video with uniform", choices=("random_window", "uniform"))
    frame_stride: int = _opt(2, "(clip) frame stride of the random window (and of the dense eval clips)")
    speed_jitter: float = _opt(0.0, "(video) random playback speed of training windows (clip task: random_window "
                                    "sampler): the frame step times a factor in [1-x, 1+x]; for test videos played "
                                    "faster or slower than training")
    blur: float = _opt(0.0, "(video) Gaussian blur of half the training clips, sigma up to this many input pixels "
                            "(for test footage softer than training)")
    aspect_jitter: float = _opt(0.0, "(video) stretch or squeeze the width of every training clip by a factor in "
                                     "[1/(1+x), 1+x], log-uniform (0: off); for camera angles between the training ones")
    eval_clips: int = _opt(3, "(clip) clips per video at val/test, averaged for video-level accuracy")
    eval_flip: bool = _opt(False, "(clip) also score every val/test clip mirrored left-right, averaged (test-time flip)")
    cache: bool = _opt(False, "(video) keep decoded, resized frames as uint8 .npy (small sets, many epochs)")
    cache_dir: str = _opt("", "(video) where the frame cache lives (default: <run.out>/frame_cache); point several "
                              "runs on one dataset at one folder to decode it once")
    target: str = _opt("tags", "(stream) per-frame targets of a streams/reps set: tags (exercise high/low "
                               "positions, for rep counting) or labels", choices=("tags", "labels"))
    warmup_frames: int = _opt(4, "(stream) first frames of a training window left out of the loss")
    mixup: float = _opt(0.0, "(crop, clip) mixup alpha (0: off; multi-class tasks)")
    cutmix: float = _opt(0.0, "(crop, clip) cutmix alpha, a box of another crop or a spatio-temporal box of another "
                              "clip (0: off; multi-class tasks)")


@dataclass
class ModelSection:
    """Which registered model, at what input size and colour mode."""

    name: str = _opt("fastcrop_p", "registered model name (see `actkit models`)", alias="--model")
    input_size: list = _opt([], "input HxW, e.g. 32,24 (default: the model's)", alias="--input")
    colour: str = _opt("rgb", "colour mode fed to the model", choices=("rgb", "y", "lab", "luv"))
    num_frames: int = _opt(0, "(video) frames per clip or training window (0: the model's)", alias="--frames")
    pretrained: str = _opt("", "weights: a local file/folder, or a hub name where a network exists")
    head: str = _opt("", "classifier head override, e.g. 'factorised' for multi-part labels (Diving48)")
    args: dict = _opt({}, "more fields of the model's config, as a YAML mapping, e.g. '{rep_branches: 2, head_dim: 384}' "
                          "(`actkit models NAME --config` lists them)")
    init_from: str = _opt("", "start from an actkit checkpoint's weights (fine-tuning, or training on): all of them "
                              "when its classes are the same, all but the classifier otherwise")


@dataclass
class OptimSection:
    """Optimiser and schedule."""

    epochs: int = _opt(30, "training epochs", alias="--epochs")
    lr: float = _opt(1e-2, "peak learning rate (AdamW, cosine schedule)", alias="--lr")
    weight_decay: float = _opt(0.02, "AdamW weight decay")
    warmup_epochs: float = _opt(1.0, "linear warm-up length in epochs")
    label_smoothing: float = _opt(0.0, "label smoothing (multi-class only)")
    grad_clip: float = _opt(0.0, "clip gradient norm (0: off)")
    ema: float = _opt(0.0, "keep a moving average of the weights with this decay per step, e.g. 0.99, and evaluate, "
                           "pick and save it as the model (0: off)")


@dataclass
class DistillSection:
    """Knowledge distillation from a trained checkpoint (off unless ``teacher`` is set)."""

    teacher: str = _opt("", "an actkit checkpoint with the same classes whose soft predictions the model also learns "
                            "(any input size; e.g. a larger model trained on the same data)", alias="--teacher")
    alpha: float = _opt(0.5, "weight of the teacher's soft targets in the loss, in (0, 1]; the rest is the label loss")
    temperature: float = _opt(4.0, "softmax temperature of the soft targets (higher: softer)")


@dataclass
class RunSection:
    """Run folder, reproducibility, device, checkpoints and logging."""

    out: str = _opt("runs/train", "run folder", alias="--out")
    seed: int = _opt(0, "random seed (data order, augmentation, init)", alias="--seed")
    device: str = _opt("auto", "auto, cpu, cuda or cuda:N", alias="--device")
    amp: bool = _opt(True, "mixed precision (bf16/fp16) on GPU; ignored on CPU")
    channels_last: str = _opt("auto", "channels-last memory layout: auto (on GPU; on CPU for the model families "
                                      "that train faster so: crop and streaming models), on or off",
                              choices=("auto", "on", "off"))
    compile: bool = _opt(False, "torch.compile the model for training (inductor; first steps are slow while it compiles)")
    resume: str = _opt("", "resume from a checkpoint path, or 'auto' for <out>/last.pt", alias="--resume")
    keep_last: int = _opt(3, "keep the last N epoch checkpoints")
    keep_best: int = _opt(3, "keep the best N checkpoints (by val macro-F1)")
    plots: bool = _opt(True, "write per-epoch confusion / ROC / PR PNGs")
    tensorboard: bool = _opt(True, "write TensorBoard scalars to <out>/tb")
    threads: int = _opt(0, "torch CPU threads (0: default)")


@dataclass
class TrainConfig:
    """Everything `actkit train` needs."""

    task: str = _opt("crop", "what is trained: crop classifiers (Parquet), clip classifiers (videos) or "
                             "streaming models with a target per frame (streams/reps sets)",
                     choices=("crop", "clip", "stream"))
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimSection = field(default_factory=OptimSection)
    distill: DistillSection = field(default_factory=DistillSection)
    run: RunSection = field(default_factory=RunSection)


# --------------------------------------------------------------------------- machinery


def _is_dataclass_type(t: Any) -> bool:
    return isinstance(t, type) and dataclasses.is_dataclass(t)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unknown(key: str, known: list[str], where: str) -> ValueError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"unknown config key {where}{key!r}.{hint} Known: {', '.join(sorted(known))}")


def coerce(value: Any, typ: Any, name: str = "") -> Any:
    """Convert ``value`` (often a string from the command line) to the field type ``typ``."""
    origin = typing.get_origin(typ)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        return None if value is None or value in ("", "none", "None") else coerce(value, args[0], name)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}: expected true/false, got {value!r}")
    if typ is dict or origin is dict:
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value) if value.strip() else {}
            except yaml.YAMLError as e:
                raise ValueError(f"{name}: not a YAML mapping: {value!r} ({e})") from e
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{name}: expected a mapping such as '{{rep_branches: 2}}', got {value!r}")
        return dict(value)
    if typ in (list, tuple) or origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.replace("x", ",").split(",") if v.strip()]
        return [int(v) if str(v).strip().lstrip("-").isdigit() else v for v in value]
    try:
        return typ(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: cannot read {value!r} as {getattr(typ, '__name__', typ)}") from e


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict; unknown keys raise with a suggestion."""
    if not isinstance(data, dict):
        raise ValueError(f"config section {prefix or '<root>'} must be a mapping, got {type(data).__name__}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown(key, list(fields), prefix)
        typ = hints[key]
        if _is_dataclass_type(typ):
            kwargs[key] = from_dict(typ, value or {}, f"{prefix}{key}.")
        else:
            choices = fields[key].metadata.get("choices")
            kwargs[key] = coerce(value, typ, prefix + key)
            if choices and kwargs[key] not in choices:
                raise ValueError(f"{prefix}{key}: {kwargs[key]!r} is not one of {choices}")
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass tree to a plain nested dict."""
    return dataclasses.asdict(obj)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins."""
    out = dict(base)
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c = value`` in a nested dict."""
    *parents, leaf = dotted.split(".")
    for p in parents:
        if tree.get(p) is None:  # an empty YAML section (`optim:`) reads as None
            tree[p] = {}
        tree = tree[p]
        if not isinstance(tree, dict):
            raise ValueError(f"config key {dotted!r}: {p!r} is a value, not a section")
    tree[leaf] = value


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a clear error naming the file otherwise."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level must be a mapping of sections")
    return data


def resolve(cls: type, yaml_path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Any:
    """Defaults <- YAML file <- dotted ``overrides`` (``{"optim.lr": "0.01"}``) -> dataclass."""
    tree: dict[str, Any] = load_yaml(yaml_path) if yaml_path else {}
    for dotted, value in (overrides or {}).items():
        set_dotted(tree, dotted, value)
    return from_dict(cls, tree)


def save_yaml(obj: Any, path: str | Path) -> None:
    """Save a resolved dataclass tree as YAML (atomically)."""
    import yaml

    from .utils.io import atomic_write

    with atomic_write(path, "w") as f:
        yaml.safe_dump(to_dict(obj), f, sort_keys=False)


def leaf_fields(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field, Any]]:
    """All leaf fields of a dataclass tree as (dotted name, field, type)."""
    out = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        typ = hints[f.name]
        if _is_dataclass_type(typ):
            out += leaf_fields(typ, f"{prefix}{f.name}.")
        else:
            out.append((prefix + f.name, f, typ))
    return out


def add_config_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """Declare one flag per leaf field (``--section.key`` plus its alias); defaults stay unset."""
    group = parser.add_argument_group("config (YAML keys; flags override the file)")
    for dotted, f, typ in leaf_fields(cls):
        names = [f"--{dotted}"] + ([f.metadata["alias"]] if f.metadata.get("alias") else [])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        choices = f.metadata.get("choices")
        extra = f" {{{','.join(choices)}}}" if choices else ""
        group.add_argument(*names, dest=f"cfg:{dotted}", default=argparse.SUPPRESS, metavar=getattr(typ, "__name__", "V").upper(),
                           help=f"{f.metadata.get('help', '')}{extra} (default: {default})")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The dotted overrides a user gave on the command line."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg:")}
