"""`actkit train`'s configuration: task, data, model, optimiser, distillation and run sections."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .core import opt


@dataclass
class CommonData:
    """Options every task reads."""

    # Allowed values: (low, high), high None for no bound, "above" when low itself is not allowed.
    RANGES: ClassVar[dict] = {"batch_size": (1, None), "workers": (0, None), "colour_jitter": (0, 1),
                              "hue_jitter": (0, 0.5), "mixup": (0, None), "cutmix": (0, None)}

    path: str = opt("", "crop task: Parquet crop dataset; image task: a Stanford40 root or <root>/<class>/ photos; "
                         "clip task: a video dataset (folder, UCF-101/HMDB51/Diving48 root, Kinetics or generic "
                         "CSV); stream task: a streams or reps folder", alias="--data")
    batch_size: int = opt(64, "batch size", alias="--batch-size")
    workers: int = opt(0, "DataLoader worker processes")
    imbalance: str = opt("loss", "correct class imbalance ONCE: by loss weights, by a balanced sampler, or not",
                          choices=("loss", "sampler", "none"))
    hflip: bool = opt(True, "random horizontal flip")
    colour_jitter: float = opt(0.25, "brightness/contrast/saturation jitter strength")
    hue_jitter: float = opt(0.0, "turn colours about the grey axis by up to this fraction of a full turn "
                                  "(0: off, 0.5: any hue)")
    mixup: float = opt(0.0, "(crop, clip) mixup alpha (0: off; multi-class tasks)")
    cutmix: float = opt(0.0, "(crop, clip) cutmix alpha, a box of another crop or a spatio-temporal box of another "
                              "clip (0: off; multi-class tasks)")


@dataclass
class CropData:
    """Options of ``task: crop`` (Parquet crops)."""

    RANGES: ClassVar[dict] = {"box_jitter": (0, 0.5), "scale_jitter": (0, 0.9)}

    positive: str = opt("", "(crop, skeleton) binary view: this class vs the rest (e.g. sitting)", alias="--positive")
    box_jitter: float = opt(0.08, "random shift of the crop box, as a fraction of its size")
    scale_jitter: float = opt(0.12, "random scale of the crop box (+/- fraction)")
    person_box: bool = opt(False, "(image) crop Stanford40 photos to the person box of their XML annotation")


@dataclass
class ClipData:
    """Options of ``task: clip`` (clip) and of both video tasks, clip and stream (video)."""

    RANGES: ClassVar[dict] = {"split_index": (1, 3), "frame_stride": (1, None), "speed_jitter": (0, 0.9),
                              "blur": (0, None), "aspect_jitter": (0, None), "eval_clips": (1, None)}

    format: str = opt("auto", "(clip) dataset format", choices=("auto", "folder", "ucf101", "hmdb51", "kinetics",
                                                                 "diving48", "csv"))
    split_index: int = opt(1, "(clip) which official split (UCF-101 / HMDB51: 1-3)")
    sampler: str = opt("random_window", "(clip) training frame sampler; evaluation takes dense windows, or "
                                          "uniform views of the whole video with uniform", choices=("random_window", "uniform"))
    frame_stride: int = opt(2, "(clip) frame stride of the random window (and of the dense eval clips)")
    speed_jitter: float = opt(0.0, "(video) random playback speed of training windows (clip task: random_window "
                                    "sampler): the frame step times a factor in [1-x, 1+x]; for test videos played "
                                    "faster or slower than training")
    blur: float = opt(0.0, "(video) Gaussian blur of half the training clips, sigma up to this many input pixels "
                            "(for test footage softer than training)")
    aspect_jitter: float = opt(0.0, "(video) stretch or squeeze the width of every training clip by a factor in "
                                     "[1/(1+x), 1+x], log-uniform (0: off); for camera angles between the training ones")
    eval_clips: int = opt(3, "(clip) clips per video at val/test, averaged for video-level accuracy")
    eval_flip: bool = opt(False, "(clip) also score every val/test clip mirrored left-right, averaged (test-time flip)")
    cache: bool = opt(False, "(video) keep decoded, resized frames as uint8 .npy (small sets, many epochs)")
    cache_dir: str = opt("", "(video) where the frame cache lives (default: <run.out>/frame_cache); point several "
                              "runs on one dataset at one folder to decode it once")


@dataclass
class StreamData:
    """Options of ``task: stream`` (per-frame targets of frame-labelled videos)."""

    RANGES: ClassVar[dict] = {"warmup_frames": (0, None)}

    target: str = opt("tags", "(stream) per-frame targets of a streams/reps set: tags (exercise high/low "
                               "positions, for rep counting) or labels", choices=("tags", "labels"))
    warmup_frames: int = opt(4, "(stream) first frames of a training window left out of the loss")


@dataclass
class DataSection(StreamData, ClipData, CropData, CommonData):
    """Where the samples come from and how they are sampled and augmented.

    Fields marked (crop) apply to ``task: crop`` only, (clip) to ``task: clip`` only, (video) to
    ``task: clip`` and ``task: stream`` (which trains on windows of frame-labelled videos), (stream) to
    ``task: stream`` only.
    """


@dataclass
class ModelSection:
    """Which registered model, at what input size and colour mode."""

    RANGES: ClassVar[dict] = {"num_frames": (0, None)}

    name: str = opt("fastcrop_p", "registered model name (see `actkit models`)", alias="--model")
    input_size: list = opt([], "input HxW, e.g. 32,24 (default: the model's)", alias="--input")
    colour: str = opt("rgb", "colour mode fed to the model", choices=("rgb", "y", "lab", "luv"))
    num_frames: int = opt(0, "(video) frames per clip or training window (0: the model's)", alias="--frames")
    pretrained: str = opt("", "weights: a local file/folder, or a hub name where a network exists")
    head: str = opt("", "classifier head override, e.g. 'factorised' for multi-part labels (Diving48)")
    args: dict = opt({}, "more fields of the model's config, as a YAML mapping, e.g. '{rep_branches: 2, head_dim: 384}' "
                          "(`actkit models NAME --config` lists them)")
    init_from: str = opt("", "start from an actkit checkpoint's weights (fine-tuning, or training on): all of them "
                              "when its classes are the same, all but the classifier otherwise")


@dataclass
class OptimSection:
    """Optimiser and schedule."""

    RANGES: ClassVar[dict] = {"epochs": (1, None), "lr": (0, None), "weight_decay": (0, None),
                              "warmup_epochs": (0, None), "label_smoothing": (0, 0.99), "grad_clip": (0, None),
                              "ema": (0, 0.99999)}

    epochs: int = opt(30, "training epochs", alias="--epochs")
    lr: float = opt(1e-2, "peak learning rate (AdamW, cosine schedule)", alias="--lr")
    weight_decay: float = opt(0.02, "AdamW weight decay")
    warmup_epochs: float = opt(1.0, "linear warm-up length in epochs")
    label_smoothing: float = opt(0.0, "label smoothing (multi-class only)")
    grad_clip: float = opt(0.0, "clip gradient norm (0: off)")
    ema: float = opt(0.0, "keep a moving average of the weights with this decay per step, e.g. 0.99, and evaluate, "
                           "pick and save it as the model (0: off)")


@dataclass
class DistillSection:
    """Knowledge distillation from a trained checkpoint (off unless ``teacher`` is set)."""

    RANGES: ClassVar[dict] = {"alpha": (0, 1, "above"), "temperature": (0, None, "above")}

    teacher: str = opt("", "an actkit checkpoint with the same classes whose soft predictions the model also learns "
                            "(any input size; e.g. a larger model trained on the same data)", alias="--teacher")
    alpha: float = opt(0.5, "weight of the teacher's soft targets in the loss, in (0, 1]; the rest is the label loss")
    temperature: float = opt(4.0, "softmax temperature of the soft targets (higher: softer)")


@dataclass
class RunSection:
    """Run folder, reproducibility, device, checkpoints and logging."""

    RANGES: ClassVar[dict] = {"keep_last": (0, None), "keep_best": (0, None), "threads": (0, None)}

    out: str = opt("runs/train", "run folder", alias="--out")
    seed: int = opt(0, "random seed (data order, augmentation, init)", alias="--seed")
    device: str = opt("auto", "auto, cpu, cuda or cuda:N", alias="--device")
    amp: bool = opt(True, "mixed precision (bf16/fp16) on GPU; ignored on CPU")
    channels_last: str = opt("auto", "channels-last memory layout: auto (on GPU; on CPU for the model families "
                                      "that train faster so: crop and streaming models), on or off",
                              choices=("auto", "on", "off"))
    compile: bool = opt(False, "torch.compile the model for training (inductor; first steps are slow while it compiles)")
    resume: str = opt("", "resume from a checkpoint path, or 'auto' for <out>/last.pt", alias="--resume")
    overwrite: bool = opt(False, "train into a run folder that is not empty: the old run is moved aside to "
                                 "<out>.1 (.2, ...) first, never mixed with the new one", alias="--overwrite")
    keep_last: int = opt(3, "keep the last N epoch checkpoints")
    keep_best: int = opt(3, "keep the best N checkpoints (by val macro-F1)")
    plots: bool = opt(True, "write per-epoch confusion / ROC / PR PNGs")
    tensorboard: bool = opt(True, "write TensorBoard scalars to <out>/tb")
    threads: int = opt(0, "torch CPU threads (0: default)")
    sync_bn: bool = opt(False, "with several processes on GPUs (torchrun / --nproc), BatchNorm statistics over the "
                               "whole global batch (SyncBatchNorm)")


@dataclass
class TrainConfig:
    """Everything `actkit train` needs."""

    task: str = opt("crop", "what is trained: crop classifiers (Parquet), image classifiers (Stanford40 or "
                             "class folders of photos), skeleton classifiers (keypoint sequences, or per frame on "
                             "keypoint streams/reps sets), keypoints (one pose per sample), clip classifiers "
                             "(videos) or streaming models with a target per frame (streams/reps sets)",
                     choices=("crop", "image", "skeleton", "keypoints", "clip", "stream"))
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimSection = field(default_factory=OptimSection)
    distill: DistillSection = field(default_factory=DistillSection)
    run: RunSection = field(default_factory=RunSection)


