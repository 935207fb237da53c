"""`actkit stream` and `actkit eval`'s live options: one dataclass, one set of defaults.

Every field is one flag (``smooth`` -> ``--smooth``). ``verbs`` in a field's metadata says which verbs
show it: the post-processing (smoothing, the event rule, repetition counting), the detector and the
test-time options are shared, so ``actkit eval`` scores a model with exactly what ``actkit stream``
runs live by default; capture and sink options are live only, scoring options evaluation only.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .core import opt

BOTH = ("stream", "eval")
LIVE = ("stream",)
EVAL = ("eval",)
SMOOTHERS = ("none", "mean", "ema", "hmm")
ALIASES = {"threshold": "event_threshold", "tune": "tune_events"}
DECODERS = ("yolo", "yolo_nobj", "boxes_scores")


@dataclass
class StreamConfig:
    """Options of the live pipeline (:class:`actkit.streaming.pipeline.Stream`) and of its evaluation
    (:func:`actkit.streaming.evaluate.evaluate_streams`)."""

    # post-processing: smoothing, events, counters (shared)
    smooth: str = opt("none", "causal smoothing of the probabilities over --window frames (hmm: a sticky HMM "
                             "filter, labels lasting --window frames on average)", choices=SMOOTHERS, verbs=BOTH)
    window: int = opt(5, "smoothing window in frames", verbs=BOTH)
    event_threshold: float = opt(0.5, "event threshold t: an event starts (and a count is made) when p > t, ends "
                                      "(and re-arms) when p < t/2", verbs=BOTH, live_alias="--threshold")
    min_event_frames: int = opt(1, "shortest event reported, in frames", verbs=BOTH)
    event_hold: int = opt(0, "frames a dip below t/2 must last to end an event (a shorter dip continues it; "
                             "0: ends at once)", verbs=BOTH)
    event_lag: int = opt(0, "events compensate N frames of smoothing delay: placed N frames earlier, each start "
                            "known N frames after it (per-frame labels unchanged)", verbs=BOTH, metavar="N")
    rep_thresholds: tuple = opt((0.5, 0.5), "thresholds (T0, T1) of the two-position repetition counter",
                                verbs=BOTH, nargs=2, metavar=("T0", "T1"))
    # what is run (shared)
    detector: str = opt("auto", "person detector for tracking: hog, motion, auto (hog where this OpenCV has it), "
                                "a detector .onnx (eval also: truth, the true boxes, to score the tracker alone)",
                        verbs=BOTH)
    decoder: str = opt("yolo", "output layout of a --detector .onnx: rows of 4+1+C, rows of 4+C, or boxes + "
                               "scores outputs", choices=DECODERS, verbs=BOTH)
    flip: bool = opt(False, "test-time flip: also run every frame (or track) mirrored left-right with its own "
                            "state and average the two (twice the model's work)", verbs=BOTH)
    lowpass: float = opt(0.0, "streaming models: Gaussian blur of every input frame, sigma in model-input pixels "
                              "(fine textures alias less; 0: none)", verbs=BOTH, metavar="SIGMA")
    # live only
    events: str = opt("", "comma-separated classes to detect events for (default: the positive class, or all); "
                          "an exercise (squat) of a model trained on its positions (squat_high/_low) sums them",
                      verbs=LIVE)
    reps: str = opt("", "two-position repetition counter: POS0,POS1 class names (e.g. up,down), or auto: one per "
                    "exercise of a model trained on exercise positions (<exercise>_high / _low)", verbs=LIVE)
    vote: str = opt("", "k-of-n vote on a binary model's positive class, e.g. 3/7,3/4", verbs=LIVE)
    track: bool = opt(False, "detect and track people; classify each one", verbs=LIVE)
    realtime: bool = opt(False, "pace files to their fps and drop the oldest frames when behind", verbs=LIVE)
    fps: float = opt(0.0, "source frame rate override (folders: default 10; 0: the source's)", verbs=LIVE)
    queue_size: int = opt(4, "capture queue bound", verbs=LIVE, flag="--queue")
    max_frames: int = opt(0, "stop after this many frames (0: at the end of the source)", verbs=LIVE)
    threads: int = opt(0, "CPU threads (0: default)", verbs=LIVE)
    out_video: str = opt("", "write an annotated mp4 here", verbs=LIVE)
    jsonl: str = opt("", "write one JSON line per frame (labels, events, counts) plus a summary line", verbs=LIVE)
    overwrite: bool = opt(False, "replace --jsonl / --out-video files that exist", verbs=LIVE)
    display: bool = opt(False, "show a window ('q' quits; headless OpenCV: warns, continues)", verbs=LIVE)
    print_every: float = opt(0.0, "print a status line every N seconds (0: only events)", verbs=LIVE)
    # evaluation only
    max_videos: int = opt(0, "only the first N videos of the split (0: all)", verbs=EVAL)
    tune_events: bool = opt(False, "also sweep smoothing, threshold, shortest event and hold on this split for the "
                                   "best event F1 (tune on val, then score test with the flags it prints)", verbs=EVAL)
    offline_window: int = opt(0, "also score the model offline on N-frame clips centred every --offline-hop "
                                 "frames, told no segment bounds (torch .pt models; 0: not run)", verbs=EVAL,
                              metavar="N")
    offline_hop: int = opt(4, "frames between offline window centres", verbs=EVAL)

    def __post_init__(self) -> None:
        check_stream_config(self)

    @classmethod
    def of(cls, config: "StreamConfig | None" = None, **options: Any) -> "StreamConfig":
        """``config`` (or the defaults) with ``options`` replaced; an unknown option names its closest field.
        Python keywords of earlier releases are taken too: ``threshold`` (``event_threshold``), ``tune``
        (``tune_events``) and ``smooth=None`` (``"none"``)."""
        from .core import unknown_key

        options = {ALIASES.get(k, k): v for k, v in options.items()}
        if "smooth" in options and options["smooth"] is None:
            options["smooth"] = "none"
        names = {f.name for f in fields(cls)}
        for key in options:
            if key not in names:
                raise TypeError(str(unknown_key(key, sorted(names), "")).replace("config key", "stream option"))
        base = {f.name: getattr(config, f.name) for f in fields(cls)} if config is not None else {}
        return cls(**{**base, **options})


def check_stream_config(c: StreamConfig) -> None:
    """Range checks shared by every verb and the Python API; one error naming the option."""
    if c.smooth is not None and c.smooth not in SMOOTHERS:
        raise ValueError(f"smooth: unknown smoother {c.smooth!r}; choose one of {', '.join(SMOOTHERS)}")
    checks = [("window", c.window >= 1, ">= 1"), ("min_event_frames", c.min_event_frames >= 1, ">= 1"),
              ("event_hold", c.event_hold >= 0, ">= 0"), ("event_lag", c.event_lag >= 0, ">= 0"),
              ("event_threshold", 0 < c.event_threshold <= 1, "in (0, 1]"), ("lowpass", c.lowpass >= 0, ">= 0"),
              ("queue_size", c.queue_size >= 1, ">= 1"), ("fps", c.fps is None or c.fps >= 0, ">= 0"),
              ("offline_window", c.offline_window >= 0, ">= 0"), ("offline_hop", c.offline_hop >= 1, ">= 1")]
    for name, ok, want in checks:
        if not ok:
            raise ValueError(f"{name} must be {want}, got {getattr(c, name)}")
    if len(tuple(c.rep_thresholds)) != 2:
        raise ValueError(f"rep_thresholds needs two values (T0, T1), got {c.rep_thresholds}")
