"""``actkit app NAME``: an application over a camera, a file, a URL or a folder of frames.

Every app has ``update(results, dt) -> results`` (its own fields in :attr:`~actkit.results.Results.app`), a
``summary()``, the keypoint ``parts`` it needs and a ``model``. :func:`run_app` feeds it keypoints frame by frame
(:class:`~actkit.perception.keypoints.KeypointRun`: with a model, everyone the detector finds, each labelled by it;
without, one person on the whole frame, e.g. the face for drowsiness), times each stage (the summary's ``speed``:
median milliseconds per frame of the keypoints and of the app, and the frames per second they allow), and
writes what
was asked for: JSON lines (one per frame, then the summary), an annotated mp4 (the skeletons and each person's
app fields), a window. The JSON lines file is written as the run goes, so a long run stopped early keeps its
frames; the summary closes it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

APPS = ("fitness", "gestures", "sitting", "drowsiness", "dives")


def make_app(name: str, **options: Any) -> Any:
    """The app called ``name`` (see :data:`APPS`) with its options."""
    if name == "sitting":
        from .sitting import SittingApp

        return SittingApp(**options)
    if name == "fitness":
        from .fitness import FitnessApp

        return FitnessApp(**options)
    if name == "gestures":
        from .gestures import GesturesApp

        return GesturesApp(**options)
    if name == "drowsiness":
        from .drowsiness import DrowsinessApp

        return DrowsinessApp(**options)
    raise ValueError(f"unknown app {name!r}; known: {', '.join(APPS)}")


def overlay(rgb: np.ndarray, r: Any) -> np.ndarray:
    """The skeletons and boxes of ``r`` drawn on ``rgb``, with each person's app fields under their box."""
    import cv2

    from ..perception.keypoints import draw

    out = draw(rgb, r)
    if r.app is not None and r.app.get("calibrated"):  # a whole-frame app (drowsiness): its state at the top
        a = r.app
        text = (f"eyes L {a['openness']['left']:.2f} R {a['openness']['right']:.2f}  blinks {a['counts']['blinks']}  "
                f"PERCLOS {100 * a['perclos']:.0f}%  yawns {a['counts']['yawns']}  microsleeps {a['counts']['microsleeps']}")
        read = [s[0].upper() for s, o in sorted(a.get("opinion", {}).items()) if o != "landmarks"]
        if read:  # the eyes the crop model decided on this frame
            cv2.putText(out, f"eye crop read: {' '.join(read)}", (8, 58), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (255, 255, 0), 1, cv2.LINE_AA)
        cv2.putText(out, text, (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    if r.app is not None and "kcal" in r.app:  # fitness: what the person does, the set, the calories
        a = r.app
        text = (f"{a['activity']}  reps legs {a['reps']['legs']} arms {a['reps']['arms']}  {a['kcal']:.1f} kcal  "
                f"MET {a['met']:.1f}")
        cv2.putText(out, text, (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    if r.app is not None and "hands" in r.app:  # gestures: each hand's static gesture, the last movement
        moves = [e["event"] for e in r.app["events"] if e["event"].startswith(("swipe", "wave", "push", "pull"))]
        text = "  ".join(f"{side}: {g}" for side, g in sorted(r.app["hands"].items())) + (f"  {moves[-1]}" if moves else "")
        cv2.putText(out, text, (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    for t in r.tracks or []:
        if t.app is None:
            continue
        x0, _, _, y1 = (int(v) for v in t.box)
        text = f"{t.app['posture']} {t.app['sitting_for_s']:.0f}s" + (" ALERT" if t.app["alert"] else "")
        cv2.putText(out, text, (x0, min(out.shape[0] - 4, y1 + 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 80, 80) if t.app["alert"] else (255, 255, 255), 1, cv2.LINE_AA)
    return out


def run_app(app: Any, source: str | int | Path, detector: str = "motion", jsonl: str | Path | None = None,
            annotate: str | Path | None = None, display: bool = False, max_frames: int | None = None,
            threads: int = 1, progress: bool = False) -> dict[str, Any]:
    """Run ``app`` over ``source`` (see the module docstring); returns its summary."""
    from ..data.video.writer import VideoWriter
    from ..perception.keypoints import KeypointRun
    from ..streaming.sinks import DisplaySink
    from ..utils.progress import progress as progress_bar

    parts = getattr(app, "parts", ("body",))
    run = KeypointRun(source, parts, threads, max_frames, detector=detector if app.model else None, model=app.model)
    dt = 1.0 / run.fps
    lines = open(jsonl, "w", encoding="utf-8") if jsonl else None
    writer = VideoWriter(annotate, run.fps, "mp4v") if annotate else None
    window = DisplaySink(f"actkit app {app.name}") if display else None
    bar = progress_bar(total=min(filter(None, (run.src.frames_promised, max_frames)), default=None), desc=app.name,
                       unit="frame", enable=None if progress else False)
    stages: dict[str, list[float]] = {"keypoints": [], "app": []}
    try:
        for r, rgb in run:
            t0 = time.perf_counter()
            app.update(r, dt, rgb) if getattr(app, "needs_frame", False) else app.update(r, dt)
            stages["app"].append((time.perf_counter() - t0) * 1e3)
            stages["keypoints"].append(r.timings.get("keypoints", 0.0))
            bar.update(1)
            if lines is not None:
                lines.write(json.dumps(r.to_dict()) + "\n")
            if writer is not None:
                writer.write(overlay(rgb, r))
            if window is not None:
                window.write(r, rgb, lambda: np.ascontiguousarray(overlay(rgb, r)[..., ::-1]))
                if window.stop_requested:
                    break
    finally:
        bar.close()
        ms = {k: round(float(np.median(v)), 2) if v else None for k, v in stages.items()}
        speed = {"ms_median": ms, "frames_per_s": round(1000 / sum(ms.values()), 1) if all(ms.values()) else None}
        summary = {**app.summary(), "source": str(source), "fps": run.fps, "speed": speed}
        if lines is not None:
            lines.write(json.dumps({"summary": summary}) + "\n")
            lines.close()
        for closing in (writer, window):
            if closing is not None:
                closing.close()
    return summary
