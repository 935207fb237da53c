"""The live pipeline: source -> (detector -> tracker) -> runner -> post-processing -> sinks.

``actkit.stream(model, source)`` is the Python API (iterate it for one :class:`~actkit.results.Results`
per frame); ``actkit stream`` calls :func:`run_stream`.

Three threads:

* capture: reads frames from :func:`actkit.data.video.sources.open_source` into a bounded
  :class:`~.capture.DropOldestQueue`. Live sources (camera, URL), and files with ``realtime=True``
  (paced to the file's fps), drop the oldest frame when inference falls behind; with
  ``realtime=False`` (the default for files and folders) the capture thread blocks instead, so every
  frame is processed.
* inference: :class:`~.step.FrameStep`: optional person detection + tracking, then the model (one
  ``step`` per frame and per track for a streaming model, or a crop classifier).
* main (the iterator): :class:`~.step.KeyPost` per key (smoothing, events, counters, votes), then the
  sinks (window, annotated mp4, JSON lines).

Every frame carries its capture time, so ``Results.latency_ms`` is capture -> label per frame.
With tracking, each person gets its own model state, smoothing, events and vote; ``Results.tracks``
lists them and the frame-level fields are the largest person's (all-zero probabilities when nobody
is in view). ``Results.events`` holds events that ended on that frame; ``counts`` running totals.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..config.stream import StreamConfig
from ..data.video.sources import open_source, short_of
from ..data.vocab import event_columns, label_names
from ..results import Results
from .capture import END, DropOldestQueue, Frame
from .runners import load_runner
from .sinks import DisplaySink, JsonlSink, Sink, VideoSink, annotate
from .step import FrameStep, KeyPost, StepOutput, post_options, split_names

log = logging.getLogger(__name__)


@dataclass
class _Output:
    frame: Frame
    step: StepOutput


class Stream:
    """A live pipeline; iterate it for one :class:`~actkit.results.Results` per processed frame.

    Opening the model and the source happens here, so a bad path fails at construction.

    Args:
        model: ``.pt`` / ``.onnx`` path, registered streaming model name, Predictor or streaming module.
        source: camera index (``0``), video file, URL (rtsp/http...), or folder of frames.
        config: a :class:`~actkit.config.StreamConfig` (default: its defaults, as ``actkit stream``).
        detector: a person detector object (``detect(rgb) -> (boxes, scores)``) instead of
            ``config.detector``'s name.
        detector_options: keyword arguments of a named detector, e.g. ``{"decoder": "boxes_scores"}`` for
            an :class:`~actkit.streaming.tracking.OnnxDetector`.
        tracker: an :class:`~actkit.streaming.tracking.IoUTracker` (default one when tracking).
        model_fps: step a streaming model at this rate, reusing its last output on frames in between
            ("auto": the model's ``data_cfg.fps`` when the source is faster; 0: every frame).
        device: torch device.
        **options: fields of :class:`~actkit.config.StreamConfig` replacing ``config``'s: ``smooth``,
            ``window``, ``event_threshold`` (also ``threshold``), ``events``, ``reps``, ``vote``,
            ``track``, ``realtime``, ``out_video``, ``jsonl``, ``display``, ... ``events`` and ``reps`` take
            a list or a comma-separated string. A model trained on exercise positions (``squat_high`` /
            ``squat_low``) also takes the exercise (``squat``) as an event: its score is the positions' sum.
    """

    def __init__(self, model: Any, source: str | int | Path, config: StreamConfig | None = None, *,
                 detector: Any = None, detector_options: dict[str, Any] | None = None, tracker: Any = None,
                 model_fps: float | str = "auto", device: str = "cpu", **options: Any) -> None:
        cfg = self.config = StreamConfig.of(config, **options)
        self.runner = load_runner(model, device, cfg.threads, flip=cfg.flip, lowpass=cfg.lowpass)
        names = self.runner.class_names
        events = split_names(cfg.events)
        self.event_classes = events or ([names[1]] if len(names) == 2 else label_names(names))
        self._event_idx = {c: event_columns(c, names) for c in self.event_classes}
        self.post = post_options(names, cfg)
        det = trk = None
        if cfg.track:
            from .tracking import IoUTracker, make_detector

            if detector is None and cfg.detector.endswith(".onnx"):
                detector_options = {"decoder": cfg.decoder, **(detector_options or {})}
            det = make_detector(detector if detector is not None else cfg.detector, **(detector_options or {}))
            trk = tracker or IoUTracker()
        self.detector, self.tracker = det, trk
        self.source = open_source(source, cfg.fps or None)
        self.realtime = self.drop = self.source.live or bool(cfg.realtime)
        self.max_frames = cfg.max_frames or None
        src_fps = self.source.fps or 0.0
        want = self.runner.fps if model_fps == "auto" else float(model_fps or 0)
        self.model_fps = want if self.runner.kind == "stream" and want and src_fps > want * 1.2 else 0.0
        self.sinks = self._open_sinks(src_fps)
        self.events: deque[dict[str, Any]] = deque(maxlen=10000)  # bounded: a days-long run must not grow
        self.stats: dict[str, Any] = {"frames_read": 0, "frames_out": 0, "dropped_capture": 0, "dropped_output": 0,
                                      "capture_queue_max": 0, "events": 0}
        self._latencies: deque[float] = deque(maxlen=10000)
        self._states: dict[Any, KeyPost] = {}
        self._totals: dict[str, int] = {}
        self._used = False

    def _open_sinks(self, fps: float) -> list[Sink]:
        from ..utils.io import refuse_to_replace

        cfg, sinks = self.config, []
        try:
            refuse_to_replace({"--jsonl": cfg.jsonl, "--out-video": cfg.out_video}, cfg.overwrite)
        except FileExistsError:
            self.source.close()
            raise
        try:
            if cfg.jsonl:
                sinks.append(JsonlSink(cfg.jsonl))
            if cfg.out_video:
                sinks.append(VideoSink(cfg.out_video, fps or 10.0))
        except OSError as e:
            self.source.close()
            for sink in sinks:
                sink.close()
            raise ValueError(f"cannot write {e.filename}: {e.strerror}") from e
        if cfg.display:
            sinks.append(DisplaySink(f"actkit: {self.source.name}"))
        return sinks

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
            step = FrameStep(self.runner, self.detector, self.tracker, self.model_fps)
            while not stop.is_set():
                f = inq.get(timeout=0.1)
                if f is None:
                    continue
                if f is END:
                    break
                if not outq.put(_Output(f, step(f.image, f.pts)), stop):
                    break
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)
        finally:
            outq.close()

    # -- post-processing (main thread) -------------------------------------------------------

    def _emit(self, ev: Any, key: Any, out: list[dict[str, Any]]) -> None:
        d = ev.to_dict()
        if key is not None:
            d["track_id"] = key
        out.append(d)
        self.events.append(d)
        self.stats["events"] += 1

    def _post(self, o: _Output) -> Results:
        t0 = time.perf_counter()
        names, s = self.runner.class_names, o.step
        new_events: list[dict[str, Any]] = []
        for key in s.ended:  # close what ended tracks left open, then forget them
            state = self._states.pop(key, None)
            for ev in state.flush() if state is not None else ():
                self._emit(ev, key, new_events)
        per_key = []
        for i, key in enumerate(s.keys):
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = KeyPost(list(names), self.post, self._event_idx)
            p, ended, counted, voted = state.update(s.probs[i], o.frame.index, self.runner.threshold)
            for ev in ended:
                self._emit(ev, key, new_events)
            for c in counted:
                self._totals[c] = self._totals.get(c, 0) + 1
            per_key.append((key, p, voted))
        ts = dict(s.timings)
        common = dict(threshold=self.runner.threshold, source=self.source.name, frame=o.frame.index,
                      timestamp=round(o.frame.pts, 4), events=new_events, counts=self._counts(), timings=ts)
        if self.tracker is None:
            _, p, voted = per_key[0]
            r = Results(p, names, vote=voted, **common)
        else:
            r = self._tracked(per_key, s.boxes, names, common)
        now = time.perf_counter()
        r.timings["postprocess"] = (now - t0) * 1e3
        r.latency_ms = round((now - o.frame.t_capture) * 1e3, 3)
        self._latencies.append(r.latency_ms)
        return r

    def _counts(self) -> dict[str, int]:
        counts = {c: self._totals.get(c, 0) for c in self.event_classes}
        if self.post.reps:
            counts["reps"] = self._totals.get("reps", 0)
            counts.update({k: v for k, v in sorted(self._totals.items()) if k.startswith("reps_")})
        return counts

    @staticmethod
    def _tracked(per_key: list[tuple[Any, np.ndarray, Any]], boxes: list[np.ndarray], names: Sequence[str],
                 common: dict[str, Any]) -> Results:
        """The frame's Results with one per track; the frame-level fields are the largest person's."""
        each = {k: v for k, v in common.items() if k not in ("events", "counts", "timings")}
        tracks = [Results(p, names, box=tuple(float(v) for v in boxes[i]), track_id=key, vote=voted, **each)
                  for i, (key, p, voted) in enumerate(per_key)]
        main = max(tracks, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]), default=None)
        if main is None:  # nobody in view: all-zero probabilities, confidence 0
            return Results(np.zeros(len(names), np.float32), names, tracks=[], **common)
        return Results(main.probs, names, box=main.box, track_id=main.track_id, tracks=tracks, vote=main.vote,
                       **common)

    def _flush(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, state in list(self._states.items()):
            for ev in state.flush():
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
        capq = DropOldestQueue(self.config.queue_size, drop=self.drop)
        outq = DropOldestQueue(1 if self.drop else self.config.queue_size, drop=self.drop)
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
            if ok and self.max_frames is None:
                self.stats["truncated"] = short_of(self.source, self.stats["frames_read"])
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
                "counts": self._counts(),
                "model_fps": self.model_fps or None, "realtime": self.realtime, "source": self.source.name,
                "reconnects": getattr(self.source, "reconnects", 0),
                "frames_promised": getattr(self.source, "frames_promised", 0)}

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


def stream(model: Any, source: str | int | Path, config: StreamConfig | None = None, **options: Any) -> Stream:
    """Stream ``source`` through ``model``: ``for r in actkit.stream(model, source): ...``.

    Args:
        model: ``.pt`` / ``.onnx`` path, registered streaming model name, Predictor or streaming module.
        source: camera index, video file, URL or folder of frames.
        config: a :class:`~actkit.config.StreamConfig` (default: ``actkit stream``'s defaults).
        **options: its fields, and :class:`Stream`'s keywords (``out_video``, ``jsonl``, ``display``,
            ``smooth``, ``window``, ``threshold``, ``events``, ``reps``, ``vote``, ``track``, ``detector``, ...).

    Returns:
        An iterable :class:`Stream` (``.stats`` holds drops, latency and counts after the run).
    """
    return Stream(model, source, config, **options)


def run_stream(model: Any, source: str | int | Path, config: StreamConfig | None = None, **options: Any) -> dict[str, Any]:
    """Run a stream to its end for the ``actkit stream`` verb, printing events (and a status line every
    ``config.print_every`` seconds); returns the summary. Arguments as :class:`Stream`'s."""
    s = Stream(model, source, config, **options)
    print_every = s.config.print_every
    last = time.perf_counter()
    for r in s:
        for ev in r.events or ():
            print(f"event {ev['label']} frames {ev['start_frame']}-{ev['end_frame']}"
                  + (f" track {ev['track_id']}" if "track_id" in ev else ""))
        if print_every and time.perf_counter() - last >= print_every:
            last = time.perf_counter()
            print(f"frame {r.frame}: {r.label} {r.confidence:.2f}  latency {r.latency_ms:.0f} ms  counts {r.counts}")
    return s.stats
