"""`actkit keypoints`: body, hand and face keypoints in every frame of a source (file, camera, URL, folder).

One person by default (BlazePose in tracking mode: the region comes from the previous frame's landmarks, the
detector runs only when they are lost); several with a person detector (:mod:`.people`). Each frame gives an
:class:`~actkit.results.Results` whose ``keypoints`` (or, with a detector, each of ``tracks``) hold
MediaPipe's 33 body points (``COCO17`` indexes the COCO-17 view of them), ``hands`` (21 points each, with
handedness) and ``faces`` (468 points and irises); ``label`` is ``person`` or ``none``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..data.video.sources import ImageSource, image_kind, open_source
from ..results import Results
from ..utils.io import atomic_write, atomic_write_bytes
from .hands import BONES as HAND_BONES
from .people import People
from .pose import NUM_LANDMARKS


# MediaPipe-33 indices of COCO-17's nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles.
COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
# Lines of the drawn skeleton (MediaPipe-33 indices).
BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27),
         (24, 26), (26, 28), (27, 31), (28, 32), (0, 11), (0, 12))


def keypoints(source: str | int | Path, parts: Sequence[str] = ("body",), threads: int = 1,
              max_frames: int | None = None, detector: Any = None) -> Iterator[Results]:
    """Keypoints, frame by frame: ``for r in actkit.keypoints("video.mp4"): r.keypoints["xy"]``.

    Args:
        source: camera index, video file, URL or folder of frames (as ``actkit stream`` takes).
        parts: any of ``body``, ``hands``, ``face``.
        threads: LiteRT threads per model.
        max_frames: stop after this many frames.
        detector: None for one person; ``blazepose``, ``motion``, ``hog``, ``auto`` or a ``.onnx`` file for
            several (each in ``r.tracks`` with its ``track_id``, ``box`` and ``keypoints``).
    """
    for r, _ in KeypointRun(source, parts, threads, max_frames, detector=detector):
        yield r


class KeypointRun:
    """Iterate ``(Results, frame)`` over a source; ``fps`` is the source's (opened at construction, so a bad
    source fails at once)."""

    def __init__(self, source: str | int | Path, parts: Sequence[str] = ("body",), threads: int = 1,
                 max_frames: int | None = None, smooth: bool = True, detector: Any = None,
                 max_people: int = 6, model: str | None = None) -> None:
        self.people = People(parts, detector, max_people, threads, smooth)
        self.labeller = None
        if model is not None:
            from .labeller import SkeletonLabeller

            if "body" not in self.people.parts:
                raise ValueError("--model labels body keypoints: add body to --parts")
            self.labeller = SkeletonLabeller(model)
        self.several = detector is not None
        still = isinstance(source, (str, Path)) and Path(source).is_file() and image_kind(source) is not None
        self.src = ImageSource(Path(source)) if still else open_source(source)
        self.fps = self.src.fps or 10.0
        self.max_frames = max_frames

    def __iter__(self) -> Iterator[tuple[Results, np.ndarray]]:
        src, i = self.src, 0
        try:
            while (self.max_frames is None or i < self.max_frames) and (rgb := src.read()) is not None:
                t0 = time.perf_counter()
                found = [(p, box, self.people.keypoints(p, i / self.fps)) for p, box in self.people(rgb, i / self.fps)]
                with_kp = [(p, box, kp) for p, box, kp in found if kp is not None]
                score = max((kp.get("score", 1.0) for _, _, kp in with_kp), default=0.0)
                timestamp = round(i / src.fps, 4) if src.fps and not src.live else None
                r = Results(np.array([1.0 - score, score], np.float32), ["none", "person"], source=src.name, frame=i,
                            timestamp=timestamp)
                labels = self.labeller({p.id: kp for p, _, kp in found}) if self.labeller is not None else {}
                if self.several:  # everyone tracked; those beyond max_people (or not found) without keypoints
                    r.tracks = []
                    for p, box, kp in found:
                        s = 0.5 if kp is None else kp.get("score", 1.0)
                        probs, names = (labels[p.id], self.labeller.names) if p.id in labels else \
                            (np.array([1 - s, s], np.float32), ["none", "person"])
                        r.tracks.append(Results(probs, names, source=src.name, frame=i, timestamp=timestamp,
                                                box=tuple(float(v) for v in box), track_id=p.id, keypoints=kp))
                else:
                    r.keypoints = with_kp[0][2] if with_kp else None
                    if labels:
                        r.probs, r.names = next(iter(labels.values())), self.labeller.names
                r.timings["keypoints"] = (time.perf_counter() - t0) * 1e3
                yield r, rgb
                i += 1
        finally:
            src.close()


def people_of(r: Results) -> list[dict[str, Any]]:
    """The keypoint dicts of a frame's result: its tracks' or its own."""
    if r.tracks is not None:
        return [t.keypoints for t in r.tracks if t.keypoints is not None]
    return [] if r.keypoints is None else [r.keypoints]


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw(rgb: np.ndarray, r: Results, min_visibility: float = 0.5) -> np.ndarray:
    """An RGB copy of ``rgb`` with everyone's skeleton, hands, face points and irises drawn (visible body
    points only), each tracked person's box and id, and the frame number (for labelling a video by hand)."""
    import cv2

    out = np.ascontiguousarray(rgb.copy())
    if r.frame is not None:
        cv2.putText(out, f"frame {r.frame}", (8, out.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
    for t in r.tracks or []:
        x0, y0, x1, y1 = (int(v) for v in t.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 200, 0), 1)
        text = f"{t.track_id}" + (f" {t.label}" if t.names != ["none", "person"] else "")
        cv2.putText(out, text, (x0, max(10, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 200, 0), 1)
    if r.tracks is None and r.names != ["none", "person"]:
        cv2.putText(out, f"{r.label} {r.confidence:.2f}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 200, 0), 2)
    for kp in people_of(r):
        if "xy" in kp:
            xy, vis = np.asarray(kp["xy"]), np.asarray(kp["visibility"])
            for a, b in BONES:
                if vis[a] >= min_visibility and vis[b] >= min_visibility:
                    cv2.line(out, _pt(xy[a]), _pt(xy[b]), (0, 220, 0), 2, cv2.LINE_AA)
            for k in range(NUM_LANDMARKS):
                if vis[k] >= min_visibility:
                    cv2.circle(out, _pt(xy[k]), 3, (255, 60, 60), -1, cv2.LINE_AA)
        for hand in kp.get("hands", []):
            colour = (255, 140, 0) if hand["handedness"] == "left" else (0, 160, 255)
            for a, b in HAND_BONES:
                cv2.line(out, _pt(hand["xy"][a]), _pt(hand["xy"][b]), colour, 1, cv2.LINE_AA)
        for face in kp.get("faces", []):
            for p in np.asarray(face["xy"])[::3]:
                cv2.circle(out, _pt(p), 1, (230, 230, 230), -1)
            for iris in face["irises"].values():
                centre, edge = np.asarray(iris)[0], np.asarray(iris)[1:]
                radius = max(1, int(np.linalg.norm(edge - centre, axis=1).mean()))
                cv2.circle(out, _pt(centre), radius, (0, 255, 255), 1, cv2.LINE_AA)
    return out


def _write_image(path: str | Path, rgb: np.ndarray) -> None:
    import cv2

    ok, data = cv2.imencode(Path(path).suffix.lower(), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: cannot encode the drawn picture")
    atomic_write_bytes(path, data.tobytes())


def run_keypoints(source: str | int | Path, out: str | Path | None = None, annotate: str | Path | None = None,
                  parts: Sequence[str] = ("body",), threads: int = 1, max_frames: int | None = None,
                  detector: Any = None, max_people: int = 6, progress: bool = False,
                  display: bool = False, model: str | None = None) -> dict[str, Any]:
    """The ``actkit keypoints`` verb: ``out`` as JSON lines (one per frame) or, for a ``.parquet`` name, the
    keypoint sequence format (:mod:`.sequence`), written atomically at the end; an annotated mp4 to
    ``annotate``; the drawn frames in a window with ``display`` ('q' or Esc stops); returns a summary."""
    from ..streaming.sinks import DisplaySink
    from ..data.video.writer import VideoWriter
    from ..utils.progress import progress as progress_bar

    run = KeypointRun(source, parts, threads, max_frames, detector=detector, max_people=max_people, model=model)
    frames = found = 0
    ms: list[float] = []
    kept: list[Results] = []
    still = annotate is not None and Path(annotate).suffix.lower() in (".png", ".jpg", ".jpeg")
    writer = VideoWriter(annotate, run.fps, "mp4v") if annotate and not still else None
    total = min(filter(None, (run.src.frames_promised, max_frames)), default=None)
    bar = progress_bar(total=total, desc="keypoints", unit="frame", enable=None if progress else False)
    window = DisplaySink("actkit keypoints") if display else None
    try:
        for r, rgb in run:
            frames += 1
            found += bool(people_of(r))
            ms.append(r.timings["keypoints"])
            kept.append(r)
            bar.update(1)
            if writer is not None:
                writer.write(draw(rgb, r))
            elif still and frames == 1:  # a picture: the first frame drawn
                _write_image(annotate, draw(rgb, r))
            if window is not None:
                window.write(r, rgb, lambda: np.ascontiguousarray(draw(rgb, r)[..., ::-1]))
                if window.stop_requested:
                    break
    finally:
        bar.close()
        if window is not None:
            window.close()
        if writer is not None:
            writer.close()
    if out and Path(out).suffix == ".parquet":
        from ..data.keypoint_sequences import layout_for, save_sequences, sequence_array

        layout = layout_for(run.people.parts)
        save_sequences(out, [{"source": str(source), "fps": run.fps, "layout": layout,
                              "keypoints": sequence_array(kept, layout)}])
    elif out:
        with atomic_write(out, "w") as f:
            f.writelines(json.dumps(r.to_dict()) + "\n" for r in kept)
    return {"frames": frames, "with_person": found, "ms_per_frame_median": float(np.median(ms)) if ms else None,
            "out": str(out) if out else None, "annotate": str(annotate) if annotate else None}


def dataset_keypoints(root: str | Path, out: str | Path, parts: Sequence[str] = ("body",), threads: int = 1,
                      progress: bool = False) -> dict[str, Any]:
    """Every video of a labelled video dataset (any format ``actkit train --task clip`` reads) through the
    keypoint front-end, as a keypoint sequence file with the dataset's ``label``, ``split`` and ``group``
    columns (one person, BlazePose's tracking): what ``actkit train --task skeleton`` and ``actkit eval``
    take. Videos that cannot be read are skipped and listed."""
    from ..data.keypoint_sequences import layout_for, save_sequences, sequence_array
    from ..data.video import read_videos
    from ..utils.progress import progress as progress_bar

    table = read_videos(root)
    layout = layout_for(parts)
    rows, skipped = [], [{"path": str(p), "reason": r} for p, r in table.skipped]
    for rec in progress_bar(table.records, desc="keypoints", unit="video", enable=None if progress else False):
        try:
            run = KeypointRun(rec.path, parts, threads)
            results = [r for r, _ in run]
        except (OSError, ValueError, RuntimeError) as e:
            skipped.append({"path": rec.path, "reason": str(e).splitlines()[0][:200]})
            continue
        if not results:
            skipped.append({"path": rec.path, "reason": "no frames"})
            continue
        rows.append({"source": rec.path, "fps": run.fps, "layout": layout, "keypoints": sequence_array(results, layout),
                     "label": rec.label, "split": rec.split, "group": rec.group})
    if not rows:
        raise ValueError(f"{root}: no video could be read ({len(skipped)} skipped)")
    save_sequences(out, rows)
    found = float(np.mean([np.isfinite(r["keypoints"][:, 0, 0, 0]).mean() for r in rows]))
    return {"videos": len(rows), "skipped": skipped, "frames_with_person": round(found, 3), "out": str(out)}


def labelled_keypoints(root: str | Path, out: str | Path, threads: int = 1, progress: bool = False) -> dict[str, Any]:
    """A frame-labelled folder of videos (``actkit synth streams`` / ``reps``, or your own labelled clips) as a
    keypoint set: ``out/labels/`` (the label files, copied) and ``out/keypoints/`` (the body keypoints BlazePose
    finds in each video, one person, tracked and smoothed as live), which ``actkit evaluate`` and ``actkit train
    --task skeleton`` read as they read ``actkit synth skeletons --set streams|reps``. Finished videos are kept
    (a re-run resumes); videos that cannot be read are skipped and listed."""
    import shutil

    from ..data.keypoint_sequences import layout_for, save_sequences, sequence_array
    from ..data.video.framelabels import read_labelled_videos
    from ..utils.progress import progress as progress_bar

    root, out = Path(root), Path(out)
    if out.resolve() == root.resolve():
        raise ValueError(f"{out}: write the keypoint set to another folder than the videos")
    _, videos = read_labelled_videos(root)
    layout, skipped, done, frames = layout_for(("body",)), [], 0, []
    for v in progress_bar(videos, desc="keypoints", unit="video", enable=None if progress else False):
        rel = v.label_file.relative_to(root / "labels").with_suffix("")
        target = out / "keypoints" / rel.with_suffix(".parquet")
        if not target.is_file():
            try:
                run = KeypointRun(v.path, ("body",), threads)
                results = [r for r, _ in run]
            except (OSError, ValueError, RuntimeError) as e:
                skipped.append({"path": str(v.path), "reason": str(e).splitlines()[0][:200]})
                continue
            if len(results) < v.frames:
                skipped.append({"path": str(v.path), "reason": f"decoded {len(results)} of {v.frames} labelled frames"})
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            save_sequences(target, [{"source": str(v.path), "fps": v.fps, "layout": layout,
                                     "keypoints": sequence_array(results[:v.frames], layout)}])
            done += 1
        (out / "labels" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(v.label_file, out / "labels" / rel.with_suffix(".json"))
        from ..data.keypoint_sequences import load_sequences

        frames.append(float(np.isfinite(load_sequences(target)[0]["keypoints"][:, 0, 0, 0]).mean()))
    return {"videos": len(videos) - len(skipped), "written": done, "skipped": skipped,
            "frames_with_person": round(float(np.mean(frames)), 3) if frames else None, "out": str(out)}
