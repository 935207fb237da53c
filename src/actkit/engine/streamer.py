"""Live pipeline: camera / file / URL / folder of frames -> model -> post-processing -> sinks.

``actkit.stream(model, source)`` is the Python API (iterate it for one :class:`~actkit.results.Results`
per frame); ``actkit stream`` calls :func:`run_stream`.

Three threads, as in the reference streaming engine:

* capture: reads frames into a bounded queue. Live sources (camera, URL), and files with
  ``realtime=True`` (paced to the file's fps), use a drop-oldest queue: when inference falls behind
  the oldest frame is discarded and counted, so the label is always about the newest frame.
  With ``realtime=False`` (the default for files and folders) the capture thread blocks instead,
  so offline evaluation sees every frame.
* inference: optional person detection + tracking, then the model: a streaming model (one
  ``step`` per frame, one recurrent state per track) or a crop classifier (whole frame or per person).
* main (the iterator): smoothing, events, counters, votes, then sinks (window, annotated mp4, JSON lines).

Every frame carries its capture time, so ``Results.latency_ms`` is capture -> label per frame.
With tracking, each person gets its own model state, smoothing, events and vote; ``Results.tracks``
lists them and the frame-level fields are the largest person's (all-zero probabilities when nobody
is in view). ``Results.events`` holds events that ended on that frame; ``counts`` running totals.

Streaming-model preprocessing: the frame (or a person's box, enlarged by 10 %) is letterboxed to the
model's ``data_cfg.input_size`` (resized keeping its aspect ratio and padded with black, which for a
square input is the reference engine's "pad to square, resize"), scaled to [0, 1], converted to the
colour mode, then ``(x - mean) / std``. Crop classifiers keep their own preprocessing
(:func:`actkit.data.transforms.crop_to_input`, a plain resize of the box).
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..models import DataConfig
from ..results import Results
from .postprocess import EventCounter, Hysteresis, KofNVote, Lookahead, RepetitionCounter, make_smoother

log = logging.getLogger(__name__)
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
END = object()  # queue sentinel: the producer has finished


# --------------------------------------------------------------------------- queue

class DropOldestQueue:
    """A bounded FIFO between two threads.

    Args:
        maxsize: the bound (>= 1); the queue never holds more.
        drop: when full, ``put`` discards the oldest item (and counts it) instead of waiting.
    """

    def __init__(self, maxsize: int, drop: bool = True) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be >= 1, got {maxsize}")
        self.maxsize, self.drop = int(maxsize), drop
        self._items: deque[Any] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.max_len = 0  # high-water mark, for tests and stats

    def __len__(self) -> int:
        with self._cv:
            return len(self._items)

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        """Add ``item``; False when the queue was closed (or ``stop`` set while waiting for room)."""
        with self._cv:
            if self.drop:
                while len(self._items) >= self.maxsize:
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.maxsize and not self._closed and not (stop and stop.is_set()):
                    self._cv.wait(0.05)
            if self._closed or (stop is not None and stop.is_set()):
                return False
            self._items.append(item)
            self.max_len = max(self.max_len, len(self._items))
            self._cv.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Any:
        """The oldest item; :data:`END` once closed and drained; None on timeout."""
        with self._cv:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._items and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cv.wait(left)
            if self._items:
                item = self._items.popleft()
                self._cv.notify_all()
                return item
            return END

    def close(self) -> None:
        """No more puts; getters drain what is left, then get :data:`END`."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()


# --------------------------------------------------------------------------- sources

@dataclass
class Frame:
    """One captured frame.

    Attributes:
        index: position in the source (gaps mean dropped frames).
        image: HxWx3 uint8 RGB.
        t_capture: ``time.perf_counter()`` when the frame became available.
        pts: stream time in seconds (index / fps for files and folders; capture clock for live sources).
    """

    index: int
    image: np.ndarray
    t_capture: float
    pts: float


class FrameSource:
    """An opened source. ``read()`` returns the next RGB frame or None at the end.

    Attributes:
        name: what to print and put in ``Results.source``.
        fps: frames per second (0 when unknown).
        live: frames arrive on their own clock (camera, URL): never paced, always drop-oldest.
    """

    name: str = ""
    fps: float = 0.0
    live: bool = False

    def read(self) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass


class CvSource(FrameSource):
    """An OpenCV ``VideoCapture`` (camera index, file or URL)."""

    def __init__(self, cap: Any, name: str, live: bool, fps: float | None = None) -> None:
        import cv2

        self._cap, self.name, self.live = cap, name, live
        got = cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = float(fps or (got if math.isfinite(got) and 0 < got < 1000 else 0.0))
        self._pending: np.ndarray | None = None

    def prime(self) -> bool:
        """Read the first frame now, so an undecodable file fails at open time; False if none."""
        self._pending = self._read()
        return self._pending is not None

    def _read(self) -> np.ndarray | None:
        import cv2

        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            f, self._pending = self._pending, None
            return f
        return self._read()

    def close(self) -> None:
        self._cap.release()


class AvSource(FrameSource):
    """PyAV decoding, the fallback for files OpenCV cannot open."""

    def __init__(self, path: Path, fps: float | None = None) -> None:
        import av

        self.name = str(path)
        self._container = av.open(str(path))
        stream = self._container.streams.video[0]
        rate = float(stream.average_rate or 0)
        self.fps = float(fps or rate)
        self._frames = self._container.decode(stream)

    def read(self) -> np.ndarray | None:
        try:
            return next(self._frames).to_ndarray(format="rgb24")
        except StopIteration:
            return None

    def close(self) -> None:
        self._container.close()


class FolderSource(FrameSource):
    """Sorted image files of a folder as frames (unreadable files are skipped with a warning)."""

    def __init__(self, folder: Path, fps: float | None = None) -> None:
        self.name = str(folder)
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
        if not self.files:
            raise ValueError(f"{folder}: no image files ({', '.join(sorted(IMAGE_EXTS))}) to stream")
        self.fps = float(fps or 10.0)
        self._i = 0

    def read(self) -> np.ndarray | None:
        import cv2

        while self._i < len(self.files):
            path = self.files[self._i]
            self._i += 1
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None:
                return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            log.warning("%s: unreadable image, skipped", path)
        return None


class LoopSource(FrameSource):
    """A video file or frame folder played again from the start at its end (for runs longer than the file).

    The stream's frame index keeps increasing across restarts; ``loops`` counts them. The file is
    reopened each time, so decoder setup and teardown are part of a long run too.

    Args:
        source: video file or folder of frames (not a camera or URL).
        fps: frame rate override, as for :func:`open_source`.

    Raises:
        ValueError: a live source, or a file that yields no frame after a restart.
    """

    def __init__(self, source: str | Path, fps: float | None = None) -> None:
        self._source, self._fps = source, fps
        self._src = open_source(source, fps)
        if self._src.live:
            self._src.close()
            raise ValueError(f"{self._src.name}: a live source (camera, URL) cannot be looped")
        self.name, self.fps, self.loops = self._src.name, self._src.fps, 0

    def read(self) -> np.ndarray | None:
        img = self._src.read()
        if img is None:
            self._src.close()
            self._src = open_source(self._source, self._fps)
            self.loops += 1
            img = self._src.read()
            if img is None:
                raise ValueError(f"{self.name}: no frames after restarting the loop")
        return img

    def close(self) -> None:
        self._src.close()


class ReconnectingSource(FrameSource):
    """A network stream that reopens itself when it drops, with exponential back-off.

    A camera on the network restarts, Wi-Fi blips, a server closes idle connections: when a read
    fails, the stream is reopened up to ``retries`` times, waiting ``delay_s``, then twice as long
    each time (at most ``max_delay_s``); a frame read after a reopen resets the count. Only when
    every retry fails does the source end. ``reconnects`` counts successful reopens.

    Args:
        opener: opens the stream, returning a :class:`FrameSource`; raises ``ValueError`` when it cannot.
        name: what the stream is called in messages.
        retries: reopen attempts per outage (0: end at the first failure).
        delay_s, max_delay_s: back-off.
        sleep: the wait function (tests pass a fake).
    """

    live = True

    def __init__(self, opener: Callable[[], FrameSource], name: str, retries: int = 5, delay_s: float = 0.5,
                 max_delay_s: float = 8.0, sleep: Callable[[float], Any] = time.sleep) -> None:
        self._opener, self.name, self.retries = opener, name, int(retries)
        self.delay_s, self.max_delay_s, self._sleep = float(delay_s), float(max_delay_s), sleep
        self._src: FrameSource | None = opener()
        self.fps, self.reconnects = self._src.fps, 0

    def read(self) -> np.ndarray | None:
        img = self._src.read() if self._src is not None else None
        attempt = 0
        while img is None and attempt < self.retries:
            wait = min(self.max_delay_s, self.delay_s * 2 ** attempt)
            attempt += 1
            log.warning("%s: no frame; reconnecting in %.1f s (attempt %d of %d)", self.name, wait, attempt, self.retries)
            if self._src is not None:
                self._src.close()
                self._src = None
            self._sleep(wait)
            try:
                self._src = self._opener()
            except ValueError as e:
                log.warning("%s: reconnect failed: %s", self.name, e)
                continue
            img = self._src.read()
            if img is not None:
                self.reconnects += 1
        if img is None:
            log.warning("%s: stream ended%s", self.name, f" after {self.retries} reconnect attempts" if self.retries else "")
        return img

    def close(self) -> None:
        if self._src is not None:
            self._src.close()
            self._src = None


def open_source(source: str | int | Path | FrameSource, fps: float | None = None, timeout_s: float = 10.0,
                retries: int = 5) -> FrameSource:
    """Open a camera index (``0`` or ``"0"``), URL, video file or folder of frames.

    Args:
        source: what to read (an opened :class:`FrameSource`, such as a :class:`LoopSource`, is used as is).
        fps: frame rate override (folders default to 10; files and cameras report theirs).
        timeout_s: open / read timeout for URLs.
        retries: URLs: reopen attempts when the stream drops (see :class:`ReconnectingSource`).

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: a source that exists but cannot be opened or decoded (named in the message).
    """
    import cv2

    if isinstance(source, FrameSource):
        return source
    text = str(source)
    if isinstance(source, int) or text.isdigit():
        cap = cv2.VideoCapture(int(text))
        if not cap.isOpened():
            cap.release()
            raise ValueError(f"camera {text}: cannot open (no camera with that index, or it is busy)")
        return CvSource(cap, f"camera:{text}", live=True, fps=fps)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            raise ValueError(f"{text}: unsupported URL scheme {scheme!r} (use one of {', '.join(URL_SCHEMES)})")
        ms = int(timeout_s * 1000)

        def opener() -> CvSource:
            cap = cv2.VideoCapture(text, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
            if not cap.isOpened():
                cap.release()
                raise ValueError(f"{text}: cannot open stream (unreachable, wrong path or unsupported codec)")
            return CvSource(cap, text, live=True, fps=fps)

        return ReconnectingSource(opener, text, retries=retries)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"source not found: {path}")
    if path.is_dir():
        return FolderSource(path, fps)
    cap = cv2.VideoCapture(str(path))
    if cap.isOpened():
        src = CvSource(cap, str(path), live=False, fps=fps)
        if src.prime():
            return src
        src.close()
    else:
        cap.release()
    try:
        src = AvSource(path, fps)
        first = src.read()
    except Exception as e:  # PyAV missing, or its own error types for a foreign file
        raise ValueError(f"{path}: cannot open video (neither OpenCV nor PyAV can decode it: {type(e).__name__})") from e
    if first is None:
        src.close()
        raise ValueError(f"{path}: no decodable frames (empty or corrupt video)")
    src.close()
    return AvSource(path, fps)


# --------------------------------------------------------------------------- runners

def _as_data_cfg(cfg: Any) -> DataConfig:
    """A DataConfig from a DataConfig, a dict or any object with the same attribute names."""
    if isinstance(cfg, DataConfig):
        return cfg
    keys = ("input_size", "colour", "mean", "std", "num_frames", "fps")
    d = dict(cfg) if isinstance(cfg, dict) else {k: getattr(cfg, k) for k in keys if hasattr(cfg, k)}
    return DataConfig.from_dict({k: v for k, v in d.items() if k in keys})


def stream_input(rgb: np.ndarray, box: Sequence[float] | None, cfg: DataConfig, margin: float = 0.1,
                 lowpass: float = 0.0) -> np.ndarray:
    """Frame (or a box of it, enlarged by ``margin``) -> float32 (C, H, W) for a streaming model (see module doc).

    ``lowpass``: Gaussian blur of the resized frame, sigma in model-input pixels (0: none), as
    ``--data.blur`` blurs training windows: fine ground textures then alias less.
    """
    from ..data.transforms import crop_resize, normalise_u8
    from .tracking import letterbox

    img = rgb
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        mx, my = (x1 - x0) * margin / 2, (y1 - y0) * margin / 2
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
        img = crop_resize(rgb, np.array([x0, y0, x1, y1]), (max(1, round(y1 - y0)), max(1, round(x1 - x0))))
    x, _, _ = letterbox(img, cfg.input_size, value=0)
    if lowpass > 0:
        import cv2

        x = cv2.GaussianBlur(x, (0, 0), float(lowpass))
    return normalise_u8(x, cfg)


class Runner:
    """What the inference thread calls: per-frame probabilities for each key (track id, or None).

    Attributes:
        class_names: label names.
        threshold: binary decision threshold (None: argmax).
        fps: the model's frame rate (0: any).
        kind: ``stream`` or ``crop``.
        lowpass: streaming runners: Gaussian blur sigma of every input frame (:func:`stream_input`).
    """

    class_names: list[str]
    threshold: float | None = None
    fps: float = 0.0
    kind: str = "crop"
    lowpass: float = 0.0

    def __call__(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]] | None, keys: Sequence[Any]) -> np.ndarray:
        """(len(keys), K) probabilities; ``boxes`` aligned with ``keys`` (None: the whole frame)."""
        raise NotImplementedError  # pragma: no cover

    def forget(self, keys: Sequence[Any]) -> None:
        """Drop per-key state (ended tracks)."""


class CropRunner(Runner):
    """An actkit crop classifier (:class:`actkit.engine.predictor.Predictor`), unchanged."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.class_names = list(predictor.class_names)
        self.threshold = predictor.threshold

    def __call__(self, rgb, boxes, keys):
        return np.stack([r.probs for r in self.predictor.predict(rgb, boxes)]).astype(np.float32)


class StreamModelRunner(Runner):
    """A torch streaming model: ``init_state`` / ``step`` (one step per frame, one state per key).

    Args:
        model: a module following the streaming contract (``data_cfg``, ``num_classes``, ``init_state``, ``step``).
        class_names: label names (default ``class_0..``).
        device: torch device.
    """

    kind = "stream"

    def __init__(self, model: Any, class_names: Sequence[str] | None = None, device: str = "cpu") -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.cfg = _as_data_cfg(model.data_cfg)
        k = int(model.num_classes)
        self.class_names = list(class_names) if class_names else [f"class_{i}" for i in range(max(k, 2))]
        self.fps = float(self.cfg.fps or 0)
        self._states: dict[Any, Any] = {}

    def __call__(self, rgb, boxes, keys):
        from ..models import probabilities

        torch = self._torch
        out = []
        with torch.inference_mode():
            for i, key in enumerate(keys):
                x = torch.from_numpy(stream_input(rgb, None if boxes is None else boxes[i], self.cfg,
                                                  lowpass=self.lowpass))[None].to(self.device)
                state = self._states.get(key)
                if state is None:
                    state = self.model.init_state(batch_size=1, device=self.device)
                logits, self._states[key] = self.model.step(x, state)
                out.append(probabilities(logits.float())[0].cpu().numpy())
        return np.stack(out).astype(np.float32)

    def forget(self, keys):
        for k in keys:
            self._states.pop(k, None)


class OnnxStreamRunner(Runner):
    """An ONNX streaming model (``OnnxStreamer``: ``reset()`` / ``step(frame) -> logits``), one instance per key.

    Args:
        factory: builds a fresh streamer (one per track).
        class_names: label names.
        data_cfg: preprocessing.
    """

    kind = "stream"

    def __init__(self, factory: Callable[[], Any], class_names: Sequence[str], data_cfg: Any) -> None:
        self._factory = factory
        self.class_names = list(class_names)
        self.cfg = _as_data_cfg(data_cfg)
        self.fps = float(self.cfg.fps or 0)
        self._streamers: dict[Any, Any] = {}

    def __call__(self, rgb, boxes, keys):
        out = []
        for i, key in enumerate(keys):
            s = self._streamers.get(key)
            if s is None:
                s = self._streamers[key] = self._factory()
                s.reset()
            x = stream_input(rgb, None if boxes is None else boxes[i], self.cfg, lowpass=self.lowpass)
            logits = np.asarray(s.step(x[None]), np.float32).reshape(-1)
            if logits.size == 1:
                p = 1 / (1 + np.exp(-logits[0]))
                out.append(np.array([1 - p, p], np.float32))
            else:
                e = np.exp(logits - logits.max())
                out.append(e / e.sum())
        return np.stack(out).astype(np.float32)

    def forget(self, keys):
        for k in keys:
            self._streamers.pop(k, None)


class FlipRunner(Runner):
    """Test-time flip: every frame also runs mirrored left-right, through its own state (a streaming
    model keeps one state per view and key), and the two views' probabilities are averaged.

    It doubles the model's work per frame. A model trained with random flips (every actkit trainer's
    default) sees both views as the same action, so their average cancels some of either view's errors.

    Args:
        inner: the runner of the model.
    """

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.class_names, self.threshold = inner.class_names, inner.threshold
        self.fps, self.kind = inner.fps, inner.kind

    def __call__(self, rgb, boxes, keys):
        w = rgb.shape[1]
        mirrored = None if boxes is None else [None if b is None else (w - b[2], b[1], w - b[0], b[3]) for b in boxes]
        a = self.inner(rgb, boxes, keys)
        b = self.inner(np.ascontiguousarray(rgb[:, ::-1]), mirrored, [("flip", k) for k in keys])
        return ((a + b) / 2).astype(np.float32)

    def forget(self, keys):
        self.inner.forget(list(keys) + [("flip", k) for k in keys])


def load_runner(model: Any, device: str = "cpu", threads: int = 0, flip: bool = False,
                lowpass: float = 0.0) -> Runner:
    """A :class:`Runner` for a path (``.pt`` / ``.onnx``), a registered streaming model name, or a loaded
    object; ``flip`` wraps it in a :class:`FlipRunner` (each frame also run mirrored, averaged);
    ``lowpass`` blurs every input frame of a streaming model (:func:`stream_input`).

    Raises:
        FileNotFoundError: ``model`` is neither a file nor a registered streaming model.
        ValueError: the file is not an actkit model, or ``lowpass`` is negative or given for a crop classifier.
    """
    check_lowpass(lowpass)
    runner = _load_runner(model, device, threads)
    if lowpass:
        set_lowpass(runner, lowpass, str(model) if isinstance(model, (str, Path)) else type(model).__name__)
    return FlipRunner(runner) if flip and not isinstance(runner, FlipRunner) else runner


def check_lowpass(lowpass: float) -> None:
    if not (lowpass >= 0 and math.isfinite(lowpass)):
        raise ValueError(f"lowpass must be a blur sigma >= 0 (model-input pixels), got {lowpass}")


def set_lowpass(runner: Runner, lowpass: float, name: str) -> None:
    """Blur every input frame of ``runner`` (a streaming model's runner; anything else is refused)."""
    check_lowpass(lowpass)
    inner = runner.inner if isinstance(runner, FlipRunner) else runner
    if not isinstance(inner, (StreamModelRunner, OnnxStreamRunner)):
        raise ValueError(f"{name}: --lowpass blurs a streaming model's input frames; this is a "
                         f"{type(inner).__name__}")
    inner.lowpass = float(lowpass)


def _load_runner(model: Any, device: str, threads: int) -> Runner:
    from .predictor import Predictor

    if isinstance(model, Runner):
        return model
    if isinstance(model, Predictor):
        return CropRunner(model)
    if hasattr(model, "init_state") and hasattr(model, "step"):
        return StreamModelRunner(model, getattr(model, "class_names", None), device)
    if hasattr(model, "reset") and hasattr(model, "step"):
        return OnnxStreamRunner(lambda: model, model.class_names, model.data_cfg)  # one instance: no per-track state
    if not isinstance(model, (str, Path)):
        raise TypeError(f"cannot stream with {type(model).__name__}: give a .pt/.onnx path, a streaming model name, "
                        "a Predictor or a module with init_state/step")
    if threads:
        import torch

        torch.set_num_threads(threads)
    path = Path(model)
    if path.is_file():
        if path.suffix == ".onnx":
            meta = _onnx_meta(path)
            if "stream" in meta:  # a stateful export (actkit.engine.stream_export)
                from .stream_export import OnnxStreamer

                made = [OnnxStreamer(path, threads or 1)]  # the first one also validates the file now
                return OnnxStreamRunner(lambda: made.pop() if made else OnnxStreamer(path, threads or 1),
                                        meta["class_names"], meta["data_cfg"])
            return CropRunner(Predictor(path, threads, device))
        from ..models import model_entry
        from .checkpoint import model_from_checkpoint, read_checkpoint

        ckpt = read_checkpoint(path)
        try:
            task = model_entry(ckpt["model_name"]).task
        except KeyError as e:
            raise ValueError(f"{path}: model {ckpt['model_name']!r} is not registered in this actkit") from e
        if task == "stream":
            m, ckpt = model_from_checkpoint(ckpt)
            return StreamModelRunner(m, ckpt.get("class_names"), device)
        return CropRunner(Predictor(path, threads, device))
    from ..models import create_model, list_models

    if str(model) in list_models(task="stream"):
        log.warning("%s: registry model with untrained weights (give a trained .pt checkpoint for real labels)", model)
        return StreamModelRunner(create_model(str(model)), None, device)
    raise FileNotFoundError(f"model not found: {model} (not a file, nor a registered streaming model: "
                            f"{', '.join(list_models(task='stream')) or 'none registered'})")


def _onnx_meta(path: Path) -> dict[str, Any]:
    from .exporter import read_metadata

    try:
        return read_metadata(path)
    except ValueError:
        raise
    except Exception as e:  # onnx raises protobuf errors for a file that is not ONNX
        raise ValueError(f"{path}: not a readable ONNX model ({type(e).__name__})") from e


# --------------------------------------------------------------------------- sinks

def _colour(track_id: Any) -> tuple[int, int, int]:
    if track_id is None:
        return (0, 200, 0)
    rng = np.random.default_rng(int(track_id) * 7919)
    return tuple(int(v) for v in rng.integers(60, 256, 3))


def annotate(rgb: np.ndarray, r: Results) -> np.ndarray:
    """BGR copy of ``rgb`` with label, confidence, boxes with track ids, counters and latency drawn."""
    import cv2

    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    h, w = img.shape[:2]
    fs = max(0.3, min(h, w) / 480)
    th = max(1, round(fs * 2))

    def text(s: str, org: tuple[int, int], colour: tuple[int, int, int]) -> None:
        cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th + 2, cv2.LINE_AA)
        cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, fs, colour, th, cv2.LINE_AA)

    line = int(22 * fs) + 4
    if r.tracks is not None:
        for t in r.tracks:
            x0, y0, x1, y1 = (int(round(v)) for v in t.box)
            c = _colour(t.track_id)
            cv2.rectangle(img, (x0, y0), (x1, y1), c, th)
            tag = f"#{t.track_id} {t.label} {t.confidence:.2f}" + (" *" if t.vote else "")
            text(tag, (x0 + 2, max(line, y0 - 4)), c)
        head = f"{len(r.tracks)} tracked"
    else:
        head = f"{r.label} {r.confidence:.2f}" + (" *" if r.vote else "")
    text(head, (4, line), (0, 255, 0))
    y = h - 6
    if r.counts:
        text("  ".join(f"{k}: {v}" for k, v in r.counts.items()), (4, y), (0, 255, 255))
        y -= line
    if r.latency_ms is not None:
        text(f"{r.latency_ms:.0f} ms", (4, y), (255, 255, 255))
    return img


class Sink:
    """Receives each annotated frame and its result."""

    stop_requested = False

    def write(self, r: Results, frame: Frame, annotated: Callable[[], np.ndarray]) -> None:  # pragma: no cover
        raise NotImplementedError

    def close(self, summary: dict[str, Any] | None = None) -> None:
        pass


class JsonlSink(Sink):
    """One JSON line per frame (``Results.to_dict()``), then one ``{"summary": ...}`` line at the end."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("w", buffering=1)

    def write(self, r, frame, annotated):
        self._f.write(json.dumps(r.to_dict(), default=_json_default) + "\n")

    def close(self, summary=None):
        if summary is not None:
            self._f.write(json.dumps({"summary": summary}, default=_json_default) + "\n")
        self._f.close()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


class VideoSink(Sink):
    """Annotated mp4 (``mp4v``), opened at the first frame's size."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path, self.fps = Path(path), float(fps or 10.0)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._w: Any = None
        self.frames = 0

    def write(self, r, frame, annotated):
        import cv2

        img = annotated()
        if self._w is None:
            h, w = img.shape[:2]
            self._w = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._w.isOpened():
                raise ValueError(f"{self.path}: cannot write video (no mp4v encoder in this OpenCV build?)")
        self._w.write(img)
        self.frames += 1

    def close(self, summary=None):
        if self._w is not None:
            self._w.release()


class DisplaySink(Sink):
    """An OpenCV window ('q' or Esc stops); without GUI support it warns once and goes headless."""

    def __init__(self, title: str = "actkit stream") -> None:
        self.title, self.enabled = title, True

    def write(self, r, frame, annotated):
        if not self.enabled:
            return
        import cv2

        try:
            cv2.imshow(self.title, annotated())
            key = cv2.waitKey(1) & 0xFF
        except cv2.error:
            log.warning("no window support in this OpenCV build (headless wheel): continuing without display")
            self.enabled = False
            return
        if key in (ord("q"), 27):
            self.stop_requested = True

    def close(self, summary=None):
        if self.enabled:
            import cv2

            try:
                cv2.destroyWindow(self.title)
            except cv2.error:
                pass


# --------------------------------------------------------------------------- the stream

def label_names(names: Sequence[str]) -> list[str]:
    """Event names of a model's classes: exercise positions (``squat_high`` / ``squat_low``) become their
    exercise (``squat``); other names stay; first-seen order, each once."""
    from ..data.video.framelabels import tag_to_label

    return list(dict.fromkeys(tag_to_label(n) for n in names))


def class_groups(names: Sequence[str]) -> list[str]:
    """Each class's event name (:func:`label_names`), which the HMM smoother treats as one label."""
    from ..data.video.framelabels import tag_to_label

    return [tag_to_label(n) for n in names]


def event_columns(name: str, names: Sequence[str]) -> list[int]:
    """The class columns whose probabilities make the score of event ``name``: the class itself, or an
    exercise's two positions.

    Raises:
        ValueError: ``name`` is neither a class nor an exercise whose positions are classes.
    """
    if name in names:
        return [list(names).index(name)]
    cols = [i for i, n in enumerate(names) if n in (f"{name}_high", f"{name}_low")]
    if len(cols) != 2:
        raise ValueError(f"class {name!r} is not one of the model's classes {list(names)}")
    return cols


@dataclass
class _Output:
    frame: Frame
    keys: list[Any]
    boxes: list[np.ndarray] | None
    probs: np.ndarray
    ended: list[Any]
    timings: dict[str, float]


@dataclass
class _KeyState:
    """Post-processing state of one stream key (the whole frame, or one track)."""

    smoother: Any
    events: dict[str, Hysteresis | Lookahead]
    counters: dict[str, EventCounter]
    reps: RepetitionCounter | None
    vote: KofNVote | None
    counts: dict[str, int] = field(default_factory=dict)


class Stream:
    """A live pipeline; iterate it for one :class:`~actkit.results.Results` per processed frame.

    Opening the model and the source happens here, so a bad path fails at construction.

    Args:
        model: ``.pt`` / ``.onnx`` path, registered streaming model name, Predictor or streaming module.
        source: camera index (``0``), video file, URL (rtsp/http...), or folder of frames.
        realtime: pace files to their fps and drop the oldest frame when behind (default: True for
            cameras and URLs, which always drop; False for files and folders: every frame processed).
        fps: source frame rate override (folders default to 10).
        queue_size: capture queue bound (the reference uses 4).
        out_video: write an annotated mp4 here.
        jsonl: write per-frame JSON lines here (plus a final ``summary`` line).
        display: show a window (warns and continues headless without GUI support).
        smooth: ``mean``, ``ema`` or None, over ``window`` frames.
        window: smoothing window in frames.
        events: class names to detect events and count for (default: the positive class of a binary
            model, every class otherwise). A model trained on exercise positions (``squat_high`` /
            ``squat_low``) also takes the exercise (``squat``): its score is the positions' sum, and
            by default its events are per exercise, not per position.
        threshold: event threshold ``t`` (start/count when p > t, end/re-arm when p < t/2).
        min_event_frames: shortest event reported.
        event_hold: frames a dip below the off threshold must last to end an event (0: at once); a
            shorter dip continues the event (see :class:`~actkit.engine.postprocess.Hysteresis`).
        event_lag: frames of smoothing delay the event detector compensates: the score smoothed at frame
            ``t`` judges frame ``t - event_lag`` (:class:`~actkit.engine.postprocess.Lookahead`), so events
            are placed that much earlier and reported no later; labels, counts and votes are unchanged.
        reps: (position 0, position 1) class names for the repetition counter, e.g. ``("up", "down")``.
        rep_thresholds: (t0, t1) of the repetition counter.
        vote: k-of-n rule on the binary positive decision, e.g. ``"3/7,3/4"``.
        track: detect and track people; classify each one.
        detector: ``auto``, ``hog``, ``motion``, ``detector.onnx`` or a PersonDetector object.
        detector_options: keyword arguments of the detector, e.g. ``{"decoder": "boxes_scores"}`` for
            an :class:`~actkit.engine.tracking.OnnxDetector`.
        tracker: an :class:`~actkit.engine.tracking.IoUTracker` (default one when tracking).
        max_frames: stop after this many captured frames.
        model_fps: step a streaming model at this rate, reusing its last output on frames in between
            ("auto": the model's ``data_cfg.fps`` when the source is faster; 0: every frame).
        threads: torch / ONNX Runtime CPU threads (0: default).
        device: torch device.
        flip: also run every frame (or track crop) mirrored left-right, with its own state, and average
            the two views' probabilities (:class:`FlipRunner`; twice the model's work).
        lowpass: Gaussian blur of every input frame of a streaming model, sigma in model-input pixels
            (:func:`stream_input`; 0: none).
    """

    def __init__(self, model: Any, source: str | int | Path, *, realtime: bool | None = None, fps: float | None = None,
                 queue_size: int = 4, out_video: str | Path | None = None, jsonl: str | Path | None = None,
                 display: bool = False, smooth: str | None = None, window: int = 5, events: Sequence[str] | None = None,
                 threshold: float = 0.5, min_event_frames: int = 1, event_hold: int = 0, event_lag: int = 0,
                 reps: Sequence[str] | None = None,
                 rep_thresholds: tuple[float, float] = (0.5, 0.5), vote: str | Sequence[tuple[int, int]] | None = None,
                 track: bool = False, detector: Any = "auto", detector_options: dict[str, Any] | None = None,
                 tracker: Any = None, max_frames: int | None = None,
                 model_fps: float | str = "auto", threads: int = 0, device: str = "cpu", flip: bool = False,
                 lowpass: float = 0.0) -> None:
        make_smoother(smooth, window)  # validate before opening anything
        Lookahead(Hysteresis("check", threshold, None, min_event_frames, event_hold), event_lag)
        if vote is not None:
            KofNVote(vote)
        self.runner = load_runner(model, device, threads, flip=flip, lowpass=lowpass)
        names = self.runner.class_names
        binary = len(names) == 2
        self.event_classes = list(events) if events is not None else ([names[1]] if binary else label_names(names))
        self._event_idx = {c: event_columns(c, names) for c in self.event_classes}
        for c in reps or ():
            if c not in names:
                raise ValueError(f"class {c!r} is not one of the model's classes {names}")
        if reps is not None and len(reps) != 2:
            raise ValueError(f"reps needs two class names (position 0, position 1), got {reps}")
        if vote is not None and not binary:
            raise ValueError("a k-of-n vote needs a binary model (positive class = class 1)")
        self.detector = self.tracker = None
        if track:
            from .tracking import IoUTracker, make_detector

            self.detector = make_detector(detector, **(detector_options or {}))
            self.tracker = tracker or IoUTracker()
        self.source = open_source(source, fps)
        self.realtime = self.source.live or bool(realtime)
        self.drop = self.realtime
        self.queue_size = queue_size
        self.opts = dict(smooth=smooth, window=window, threshold=threshold, min_event_frames=min_event_frames,
                         event_hold=event_hold, event_lag=int(event_lag), reps=tuple(reps) if reps else None, rep_thresholds=tuple(rep_thresholds), vote=vote)
        self.max_frames = max_frames
        src_fps = self.source.fps or 0.0
        want = self.runner.fps if model_fps == "auto" else float(model_fps or 0)
        self.model_fps = want if self.runner.kind == "stream" and want and src_fps > want * 1.2 else 0.0
        self.sinks: list[Sink] = []
        try:
            if jsonl:
                self.sinks.append(JsonlSink(jsonl))
            if out_video:
                self.sinks.append(VideoSink(out_video, src_fps or 10.0))
        except OSError as e:
            self.source.close()
            for sink in self.sinks:
                sink.close()
            raise ValueError(f"cannot write {e.filename}: {e.strerror}") from e
        if display:
            self.sinks.append(DisplaySink(f"actkit: {self.source.name}"))
        self.events: deque[dict[str, Any]] = deque(maxlen=10000)  # bounded: a days-long run must not grow
        self.stats: dict[str, Any] = {"frames_read": 0, "frames_out": 0, "dropped_capture": 0, "dropped_output": 0,
                                      "capture_queue_max": 0, "events": 0}
        self._latencies: deque[float] = deque(maxlen=10000)
        self._states: dict[Any, _KeyState] = {}
        self._totals: dict[str, int] = {}
        self._used = False

    # -- threads ---------------------------------------------------------------------------

    def _capture(self, q: DropOldestQueue, stop: threading.Event, errors: list[BaseException]) -> None:
        try:
            pace = self.realtime and not self.source.live and self.source.fps > 0
            fps = self.source.fps
            t0 = time.perf_counter()
            i = 0
            while not stop.is_set() and (self.max_frames is None or i < self.max_frames):
                img = self.source.read()
                if img is None:
                    break
                if pace:
                    delay = t0 + i / fps - time.perf_counter()
                    if delay > 0 and stop.wait(delay):
                        break
                t = time.perf_counter()
                pts = i / fps if (fps and not self.source.live) else t - t0
                if not q.put(Frame(i, img, t, pts), stop):
                    break
                i += 1
                self.stats["frames_read"] = i
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)
        finally:
            q.close()

    def _infer(self, inq: DropOldestQueue, outq: DropOldestQueue, stop: threading.Event, errors: list[BaseException]) -> None:
        try:
            k = len(self.runner.class_names)
            cache: dict[Any, np.ndarray] = {}
            next_t = 0.0
            while not stop.is_set():
                f = inq.get(timeout=0.1)
                if f is None:
                    continue
                if f is END:
                    break
                t0 = time.perf_counter()
                ended: list[Any] = []
                if self.tracker is not None:
                    boxes, scores = self.detector.detect(f.image)
                    tracks = self.tracker.update(boxes, scores)
                    ended = list(self.tracker.ended)
                    keys, tboxes = [t.id for t in tracks], [t.box.copy() for t in tracks]
                    self.runner.forget(ended)
                    for e in ended:
                        cache.pop(e, None)
                else:
                    keys, tboxes = [None], None
                t1 = time.perf_counter()
                step = not self.model_fps or f.pts + 1e-6 >= next_t
                if step and self.model_fps:
                    next_t = max(next_t + 1 / self.model_fps, f.pts)
                todo = [i for i, key in enumerate(keys) if step or key not in cache]
                if todo:
                    probs = self.runner(f.image, None if tboxes is None else [tboxes[i] for i in todo], [keys[i] for i in todo])
                    for i, p in zip(todo, probs):
                        cache[keys[i]] = p
                probs = np.stack([cache[key] for key in keys]) if keys else np.zeros((0, k), np.float32)
                t2 = time.perf_counter()
                timings = {"inference": (t2 - t1) * 1e3}
                if self.tracker is not None:
                    timings["detect"] = (t1 - t0) * 1e3
                if not outq.put(_Output(f, keys, tboxes, probs, ended, timings), stop):
                    break
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)
        finally:
            outq.close()

    # -- post-processing (main thread) -------------------------------------------------------

    def _key_state(self, key: Any) -> _KeyState:
        s = self._states.get(key)
        if s is None:
            o = self.opts
            s = self._states[key] = _KeyState(
                make_smoother(o["smooth"], o["window"], class_groups(self.runner.class_names)),
                {c: self._detector(c) for c in self.event_classes},
                {c: EventCounter(o["threshold"]) for c in self.event_classes},
                RepetitionCounter(o["rep_thresholds"][1], o["rep_thresholds"][0]) if o["reps"] else None,
                KofNVote(o["vote"]) if o["vote"] is not None else None)
        return s

    def _detector(self, label: str) -> Hysteresis | Lookahead:
        o = self.opts
        h = Hysteresis(label, o["threshold"], None, o["min_event_frames"], o["event_hold"])
        return Lookahead(h, o["event_lag"]) if o["event_lag"] else h

    def _emit(self, ev: Any, key: Any, out: list[dict[str, Any]]) -> None:
        d = ev.to_dict()
        if key is not None:
            d["track_id"] = key
        out.append(d)
        self.events.append(d)
        self.stats["events"] += 1

    def _post(self, o: _Output) -> Results:
        t0 = time.perf_counter()
        names = self.runner.class_names
        idx = {n: i for i, n in enumerate(names)}
        new_events: list[dict[str, Any]] = []
        for key in o.ended:  # close what ended tracks left open, then forget them
            s = self._states.pop(key, None)
            if s is not None:
                for h in s.events.values():
                    ev = h.flush()
                    if ev is not None:
                        self._emit(ev, key, new_events)
        per_key = []
        for i, key in enumerate(o.keys):
            s = self._key_state(key)
            p = s.smoother.update(o.probs[i])
            for c, h in s.events.items():
                score = float(p[self._event_idx[c]].sum())
                ev = h.update(score, o.frame.index)
                if ev is not None:
                    self._emit(ev, key, new_events)
                if s.counters[c].update(score):
                    self._totals[c] = self._totals.get(c, 0) + 1
            if s.reps is not None:
                a, b = self.opts["reps"]
                if s.reps.update(float(p[idx[a]]), float(p[idx[b]])):
                    self._totals["reps"] = self._totals.get("reps", 0) + 1
            voted = None
            if s.vote is not None:
                thr = self.runner.threshold if self.runner.threshold is not None else 0.5
                voted = s.vote.update(bool(p[1] >= thr))
            per_key.append((key, p, voted))
        counts = {c: self._totals.get(c, 0) for c in self.event_classes}
        if self.opts["reps"]:
            counts["reps"] = self._totals.get("reps", 0)
        ts = dict(o.timings)
        common = dict(threshold=self.runner.threshold, source=self.source.name, frame=o.frame.index,
                      timestamp=round(o.frame.pts, 4))
        if self.tracker is None:
            _, p, voted = per_key[0]
            r = Results(p, names, timings=ts, events=new_events, counts=counts, vote=voted, **common)
        else:
            tracks = [Results(p, names, box=tuple(float(v) for v in o.boxes[i]), track_id=key, vote=voted, **common)
                      for i, (key, p, voted) in enumerate(per_key)]
            main = max(tracks, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]), default=None)
            if main is None:  # nobody in view: all-zero probabilities, confidence 0
                r = Results(np.zeros(len(names), np.float32), names, timings=ts, events=new_events, counts=counts,
                            tracks=[], **common)
            else:
                r = Results(main.probs, names, box=main.box, track_id=main.track_id, timings=ts, events=new_events,
                            counts=counts, tracks=tracks, vote=main.vote, **common)
        now = time.perf_counter()
        r.timings["postprocess"] = (now - t0) * 1e3
        r.latency_ms = round((now - o.frame.t_capture) * 1e3, 3)
        self._latencies.append(r.latency_ms)
        return r

    def _flush(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, s in list(self._states.items()):
            for h in s.events.values():
                ev = h.flush()
                if ev is not None:
                    self._emit(ev, key, out)
        return out

    # -- the loop --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Results]:
        if self._used:
            raise RuntimeError("a Stream can be iterated once; create a new one")
        self._used = True
        return self._run()

    def _run(self) -> Iterator[Results]:
        stop = threading.Event()
        errors: list[BaseException] = []
        capq = DropOldestQueue(self.queue_size, drop=self.drop)
        outq = DropOldestQueue(1 if self.drop else self.queue_size, drop=self.drop)
        threads = [threading.Thread(target=self._capture, args=(capq, stop, errors), name="actkit-capture", daemon=True),
                   threading.Thread(target=self._infer, args=(capq, outq, stop, errors), name="actkit-infer", daemon=True)]
        t_start = time.perf_counter()
        ok = False
        try:
            for t in threads:
                t.start()
            while True:
                o = outq.get(timeout=0.1)
                if o is None:
                    if errors:
                        break
                    continue
                if o is END:
                    break
                r = self._post(o)
                cache: list[np.ndarray] = []

                def annotated(r: Results = r, img: np.ndarray = o.frame.image, cache: list = cache) -> np.ndarray:
                    if not cache:  # drawn once, shared by the window and the video
                        cache.append(annotate(img, r))
                    return cache[0]

                for s in self.sinks:
                    s.write(r, o.frame, annotated)
                self.stats["frames_out"] += 1
                yield r
                if any(s.stop_requested for s in self.sinks):
                    break
            if errors:
                raise errors[0]
            ok = True
        finally:
            stop.set()
            capq.close()
            outq.close()
            for t in threads:
                t.join(timeout=5.0)
                if t.is_alive():
                    log.warning("%s thread did not stop within 5 s", t.name)
            self.source.close()
            self.stats["final_events"] = self._flush()
            self.stats.update(self._summary(capq, outq, time.perf_counter() - t_start))
            for s in self.sinks:
                try:
                    s.close(self.stats if ok else None)
                except Exception as e:  # noqa: BLE001 - one failing sink must not hide the original error
                    log.warning("closing %s failed: %s", type(s).__name__, e)

    def _summary(self, capq: DropOldestQueue, outq: DropOldestQueue, seconds: float) -> dict[str, Any]:
        lat = np.asarray(self._latencies, np.float64)
        return {"dropped_capture": capq.dropped, "dropped_output": outq.dropped, "capture_queue_max": capq.max_len,
                "capture_queue_bound": capq.maxsize, "seconds": round(seconds, 3),
                "fps": round(self.stats["frames_out"] / seconds, 2) if seconds > 0 else 0.0,
                "latency_ms_median": float(np.median(lat)) if lat.size else float("nan"),
                "latency_ms_p95": float(np.percentile(lat, 95)) if lat.size else float("nan"),
                "counts": {**{c: self._totals.get(c, 0) for c in self.event_classes},
                           **({"reps": self._totals.get("reps", 0)} if self.opts["reps"] else {})},
                "model_fps": self.model_fps or None, "realtime": self.realtime, "source": self.source.name,
                "reconnects": getattr(self.source, "reconnects", 0)}

    def run(self) -> dict[str, Any]:
        """Consume the whole stream (sinks do the work); returns the summary stats."""
        for _ in self:
            pass
        return self.stats

    def close(self) -> None:
        """Release the source when the stream is never iterated."""
        if not self._used:
            self.source.close()
            for s in self.sinks:
                s.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def stream(model: Any, source: str | int | Path, **options: Any) -> Stream:
    """Stream ``source`` through ``model``: ``for r in actkit.stream(model, source): ...``.

    Args:
        model: ``.pt`` / ``.onnx`` path, registered streaming model name, Predictor or streaming module.
        source: camera index, video file, URL or folder of frames.
        **options: see :class:`Stream` (``out_video``, ``jsonl``, ``display``, ``smooth``, ``window``,
            ``threshold``, ``events``, ``reps``, ``vote``, ``track``, ``detector``, ``realtime``, ...).

    Returns:
        An iterable :class:`Stream` (``.stats`` holds drops, latency and counts after the run).
    """
    return Stream(model, source, **options)


def run_stream(model: Any, source: str | int | Path, print_every: float = 0.0, **options: Any) -> dict[str, Any]:
    """Run a stream to its end for the ``actkit stream`` verb; returns the summary.

    Args:
        print_every: print a status line every this many seconds (0: never).
        **options: see :class:`Stream`.
    """
    s = Stream(model, source, **options)
    last = time.perf_counter()
    for r in s:
        for ev in r.events or ():
            print(f"event {ev['label']} frames {ev['start_frame']}-{ev['end_frame']}"
                  + (f" track {ev['track_id']}" if "track_id" in ev else ""))
        if print_every and time.perf_counter() - last >= print_every:
            last = time.perf_counter()
            print(f"frame {r.frame}: {r.label} {r.confidence:.2f}  latency {r.latency_ms:.0f} ms  counts {r.counts}")
    return s.stats
