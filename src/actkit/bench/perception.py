"""`actkit bench --perception`: the keypoint front-end's speed per person, beside MediaPipe's own Python solutions
when a reference interpreter is given, and its people recall on real footage.

Speed (``landmark_speed``): median milliseconds per call on the sample photos, one LiteRT thread: body on a still
(detector + landmarks) and tracked (landmarks only), hands (palm detector + landmarks) and tracked, face with both
irises (detector + mesh + 2 iris runs) and tracked. With ``reference_python`` (a venv with ``mediapipe==0.10.21``),
``benchmarks/mediapipe_reference.py --time`` measures MediaPipe's solutions on the same photos in the same run.

Footage (``footage``): the sample plaza video (768x576, 10 fps) through ``actkit keypoints --detector D``; on the
frames a person counted by hand (``benchmarks/data/vtest_people.json``: every person at least 50 px tall), a
person is found when a reported person's box overlaps theirs at IoU >= 0.3 (one to one); boxes left over are
false boxes. Frames per second is the whole pipeline (detector, tracker, landmarks per person).
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..utils.progress import progress

COUNTS = Path(__file__).parent / "data" / "vtest_people.json"
REFERENCE_SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "mediapipe_reference.py"  # a source checkout
SPEED_PHOTOS = {"body": ("messi5.jpg", "basketball1.png"), "hands": ("handSrc.jpg", "right04.jpg"),
                "face": ("227943776_1.jpg", "230501201_1.jpg")}


def _median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def _photo(name: str) -> np.ndarray:
    import cv2

    from ..perception.samples import sample_path

    return cv2.cvtColor(cv2.imread(str(sample_path(name))), cv2.COLOR_BGR2RGB)


def landmark_speed(repeats: int = 50, threads: int = 1) -> dict[str, float]:
    """Median ms per call of each stage (see the module doc), averaged over the stage's photos."""
    from ..perception.face import FaceMesh
    from ..perception.hands import Hands
    from ..perception.pose import BlazePose

    pose, hands, face = BlazePose(threads), Hands(1, threads), FaceMesh(1, True, threads)
    out: dict[str, list[float]] = {}
    for part, photos in SPEED_PHOTOS.items():
        for name in photos:
            rgb = _photo(name)
            if part == "body":
                first = pose(rgb)
                out.setdefault("body_still", []).append(_median_ms(lambda: pose(rgb), repeats))
                out.setdefault("body_tracking", []).append(_median_ms(lambda: pose(rgb, first), repeats))
            elif part == "hands":
                first = hands(rgb)
                out.setdefault("hands_still", []).append(_median_ms(lambda: hands(rgb), repeats))
                out.setdefault("hands_tracking", []).append(_median_ms(lambda: hands(rgb, first), repeats))
            else:
                first = face(rgb)
                out.setdefault("face_irises_still", []).append(_median_ms(lambda: face(rgb), repeats))
                out.setdefault("face_irises_tracking", []).append(_median_ms(lambda: face(rgb, first), repeats))
    return {k: round(float(np.mean(v)), 2) for k, v in out.items()}


def reference_speed(python: str, repeats: int = 50) -> dict[str, float]:
    """MediaPipe 0.10.21's Python solutions on the same photos, timed by ``benchmarks/mediapipe_reference.py``."""
    from ..perception.samples import sample_path

    photos = {part: [str(sample_path(n)) for n in names] for part, names in SPEED_PHOTOS.items()}
    if not REFERENCE_SCRIPT.is_file():
        raise FileNotFoundError(f"{REFERENCE_SCRIPT}: the reference timing script comes with a source checkout of actkit")
    cmd = [python, str(REFERENCE_SCRIPT), "--time", json.dumps(photos), str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _match(truth: list[list[float]], found: list[np.ndarray]) -> tuple[int, int]:
    """(people found, false boxes) by greedy one-to-one IoU >= 0.3 (the tracker's own matching)."""
    from ..streaming.tracking.matching import greedy_match, iou_matrix

    pairs = greedy_match(iou_matrix(np.array(truth, np.float32), np.array(found, np.float32)), 0.3)
    return len(pairs), len(found) - len(pairs)


def _person_box(kp: dict[str, Any] | None, fallback: tuple[float, ...]) -> np.ndarray:
    """The visible body landmarks' box (the detector's box when the body was not found)."""
    if kp and "xy" in kp:
        xy = np.asarray(kp["xy"])[np.asarray(kp["visibility"]) >= 0.5]
        if len(xy) >= 4:
            return np.concatenate([xy.min(0), xy.max(0)])
    return np.asarray(fallback, np.float32)


def footage(detectors: tuple[str, ...] = ("motion", "hog", "blazepose"), threads: int = 2) -> dict[str, Any]:
    """People recall, false boxes per frame and frames per second of each detector on the plaza video."""
    from ..perception.keypoints import KeypointRun
    from ..perception.samples import sample_path

    counts = json.loads(COUNTS.read_text())
    truth = {int(k): v for k, v in counts["frames"].items()}
    out = {"hand_counted_people": sum(len(v) for v in truth.values()), "frames_counted": len(truth)}
    for det in detectors:
        run = KeypointRun(sample_path("vtest.avi"), ("body",), threads, max(truth) + 1, detector=det)
        found = {"boxes": 0, "keypoints": 0}
        false = {"boxes": 0, "keypoints": 0}
        t0 = time.perf_counter()
        for r, _ in progress(run, total=max(truth) + 1, desc=det, unit="frame"):
            if r.frame in truth:
                tracks = r.tracks or []
                for kind, boxes in (("boxes", [np.asarray(t.box) for t in tracks]),
                                    ("keypoints", [_person_box(t.keypoints, t.box) for t in tracks])):
                    f, x = _match(truth[r.frame], boxes)
                    found[kind], false[kind] = found[kind] + f, false[kind] + x
        elapsed = time.perf_counter() - t0
        n = out["hand_counted_people"]
        out[det] = {"recall": round(found["boxes"] / n, 3),
                    "false_boxes_per_frame": round(false["boxes"] / len(truth), 2),
                    "keypoint_recall": round(found["keypoints"] / n, 3),
                    "fps": round((max(truth) + 1) / elapsed, 1)}
    return out


def posture_on_footage(model: str | Path, video: str | Path | None = None, detector: str = "motion",
                       max_frames: int | None = None, min_frames: int = 10) -> dict[str, Any]:
    """A skeleton posture model on everyone in a real video (default: the sample plaza video, where people
    walk and stand), labelled live as ``actkit keypoints --model`` does: per tracked person with at least
    ``min_frames`` frames of landmarks, the share of their frames called each posture."""
    from ..perception.keypoints import KeypointRun
    from ..perception.samples import sample_path

    run = KeypointRun(video or sample_path("vtest.avi"), ("body",), 2, max_frames, detector=detector, model=model)
    names = run.labeller.names
    counts: dict[int, np.ndarray] = {}
    for r, _ in progress(run, desc="posture on footage", unit="frame"):
        for t in r.tracks or []:
            if t.keypoints is not None and t.names == names:
                counts.setdefault(int(t.track_id), np.zeros(len(names), np.int64))[t.index] += 1
    per_person, totals = {}, np.zeros(len(names))
    for tid, c in counts.items():
        frames = int(c.sum())
        if frames < min_frames:
            continue
        totals += c
        per_person[tid] = {n: round(float(v) / frames, 3) for n, v in zip(names, c)}
        per_person[tid]["frames"] = frames
    share = {n: round(float(c) / max(1.0, totals.sum()), 3) for n, c in zip(names, totals)}
    top = names[int(np.argmax(totals))] if len(totals) else None
    mine = [p[top] for p in per_person.values()] if top else []
    return {"video": str(video or "vtest.avi"), "detector": detector, "people": len(per_person),
            "person_frames": int(totals.sum()), "share": share,
            "per_person_summary": {"label": top, "median_share": round(float(np.median(mine)), 3) if mine else None,
                                   "people_at_least_95_percent": int(sum(x >= 0.95 for x in mine))},
            "per_person": per_person}


def skeleton_step_speed(model: str | Path, steps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Milliseconds per person per frame of a skeleton model on 1 thread, as the live pipeline calls it (causal
    normalisation + one step, or a clip model on its window), on noisy keypoints of a walking body; and the pose
    model's own time per person on a real photo, for scale."""
    import onnxruntime  # noqa: F401 - the shipped models run on it

    from ..data.synth.skeletons import Noise, clip_points, sample_sequence
    from ..streaming.keypoint_runner import keypoint_runner

    rng = np.random.default_rng(seed)
    seq, _ = sample_sequence(clip_points("walk", False), rng, 64, 15.0, 0, 1.0, Noise(drop_frame=0))
    runner = keypoint_runner(model, threads=1)
    frames = iter(np.resize(seq, (steps + 12, 33, 4)))
    for _ in range(10):
        runner(next(frames), None, [0])
    per = _median_ms(lambda: runner(next(frames), None, [0]), steps)
    from ..perception.pose import BlazePose
    from ..perception.samples import fetch_samples

    fetch_samples()
    pose, rgb = BlazePose(1), _photo("messi5.jpg")
    first = pose(rgb)
    kind = "stream" if runner.predictor is None else f"clip of {runner.window} frames"
    return {"model": str(model), "kind": kind, "ms_per_person_frame": round(per, 4), "steps": steps,
            "blazepose_tracking_ms": round(_median_ms(lambda: pose(rgb, first), 20), 2)}


def posture_rule_accuracy(parquet: str | Path, split: str = "test") -> dict[str, Any]:
    """The geometric posture rule (:mod:`actkit.perception.posture`) on one split of a postures crop set:
    BlazePose on each crop (still-image mode), then the rule. ``coverage`` is the share of crops that get an
    answer (a body found and the landmarks the rule needs visible); ``accuracy`` is over those."""
    from ..data.crops import read_crops_table
    from ..data.schema import decode_image
    from ..perception.pose import BlazePose
    from ..perception.posture import POSTURES, posture_rule

    table = read_crops_table(parquet).select(split)
    pose = BlazePose()
    confusion = np.zeros((len(POSTURES), len(POSTURES)), np.int64)
    unanswered = {"no body": 0, "landmarks not visible": 0}
    for data, label in progress(list(zip(table.images, table.labels)), desc="posture rule", unit="crop"):
        lm = pose(decode_image(data))
        if lm is None:
            unanswered["no body"] += 1
            continue
        got = posture_rule(lm.xy, lm.visibility)
        if got is None:
            unanswered["landmarks not visible"] += 1
            continue
        if label in POSTURES:
            confusion[POSTURES.index(label), POSTURES.index(got[0])] += 1
    answered = int(confusion.sum())
    return {"split": split, "crops": len(table), "coverage": round(answered / max(1, len(table)), 3),
            "accuracy": round(float(np.trace(confusion)) / max(1, answered), 3), "unanswered": unanswered,
            "classes": list(POSTURES), "confusion": confusion.tolist()}


def two_stream(data: str | Path, model: str | Path, seed: int = 0) -> dict[str, Any]:
    """What the pose stream adds to an image model trained with ``actkit train --task image --data DATA``: the
    image model's probabilities and BlazePose keypoints for every image of the same splits (``seed`` as
    trained), then :func:`actkit.perception.twostream.two_stream_report`."""
    from ..data.images import read_images
    from ..data.schema import decode_image
    from ..engine.predictor import load
    from ..data.splits import carve_val
    from ..perception.pose import BlazePose
    from ..perception.twostream import FEATURES, pose_features, two_stream_report

    table = read_images(data, seed=seed)
    if not np.any(table.splits == "val"):
        table.splits = carve_val(table.splits, table.labels, table.groups, seed)
    predictor, pose = load(model), BlazePose()
    if predictor.class_names != table.class_names:
        raise ValueError(f"{data}: classes {table.class_names} differ from the model's {predictor.class_names}")
    appearance, keypoints, labels = {}, {}, {}
    for split in ("train", "val", "test"):
        sub = table.select(split)
        probs, feats, found = [], np.zeros((len(sub), FEATURES), np.float32), np.zeros(len(sub), bool)
        for i, data_bytes in enumerate(progress(sub.images, desc=f"two streams: {split}", unit="image")):
            rgb = decode_image(data_bytes)
            probs.append(predictor.predict(rgb)[0].probs)
            lm = pose(rgb)
            if lm is not None:
                feats[i], found[i] = pose_features(lm.xy, lm.visibility), True
        appearance[split], keypoints[split], labels[split] = np.array(probs), (feats, found), sub.class_ids
    return {"data": str(data), "model": str(model), **two_stream_report(appearance, keypoints, labels,
                                                                        len(table.class_names))}


RENDERED_CLASSES = ("walk", "run", "punch")


def rendered_frames(out: str | Path) -> list[np.ndarray]:
    """51 RGB frames of rendered people (walk, run, punch: 17 frames each at 256 px) for the parity check."""
    import logging

    from ..data.synth.actions import render_actions
    from ..data.video.sources import read_video

    quiet = logging.getLogger("actkit.data.synth.actions")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # one clip per class leaves splits without some classes: expected here
    try:
        render_actions(out, clips_per_class=1, frames=17, size=256, workers=1, classes=list(RENDERED_CLASSES),
                       progress=False)
    finally:
        quiet.setLevel(level)
    frames = []
    for name in RENDERED_CLASSES:
        frames.extend(read_video(next(Path(out).rglob(f"v_{name.title()}_*.mp4"))))
    return frames


def parity_images(work: str | Path) -> dict[str, np.ndarray]:
    """The parity check's images by name: the sample photos and ``rendered/NNN``."""
    from ..perception.samples import SAMPLES

    out = {Path(k).name: _photo(k) for k in SAMPLES if not k.endswith(".avi")}
    for i, rgb in enumerate(rendered_frames(Path(work) / "rendered")):
        out[f"rendered/{i:03d}"] = rgb
    return out


def _error(ours: np.ndarray, ref: np.ndarray, box: np.ndarray) -> float:
    """Mean distance between corresponding points over the diagonal of ``box``'s points."""
    return float(np.linalg.norm(ours - ref, axis=1).mean() / np.linalg.norm(box.max(0) - box.min(0)))


def parity(reference: dict[str, Any], images: dict[str, np.ndarray]) -> dict[str, Any]:
    """actkit against MediaPipe's reference outputs (``tests/data/mediapipe_reference.json``): per part, the
    images where the detections differ and each matched landmark set's error (see docs/perception.md)."""
    from ..perception.face import FaceMesh
    from ..perception.hands import Hands
    from ..perception.pose import BlazePose

    pose, hands, mesh = BlazePose(), Hands(max_hands=2), FaceMesh(max_faces=3)
    res: dict[str, Any] = {k: {} for k in ("body", "hands", "faces", "irises", "handedness")}
    res["disagree"] = []
    for name, ref in reference.items():
        rgb = images[name]
        lm, hs, fs = pose(rgb), hands(rgb), mesh(rgb)
        if (lm is None) != (ref["pose"] is None) or len(hs) != len(ref["hands"]) or len(fs) != len(ref["faces"]):
            res["disagree"].append(name)
            continue
        if lm is not None:
            r = np.array(ref["pose"])
            seen = r[:, 2] >= 0.5  # the points MediaPipe calls visible; the rest are guesses
            res["body"][name] = _error(lm.xy[seen], r[seen, :2], r[:, :2])
        for k, h in enumerate(ref["hands"]):
            r = np.array(h["xy"])
            best = min(hs, key=lambda f: np.linalg.norm(f.xy - r, axis=1).mean())
            res["hands"][f"{name}#{k}"] = _error(best.xy, r, r)
            # MediaPipe labels a mirrored (selfie) view; actkit names the person's own hand
            res["handedness"][f"{name}#{k}"] = best.handedness == {"Left": "right", "Right": "left"}[h["label"]]
        for k, (face, irises) in enumerate(zip(ref["faces"], ref["irises"])):
            r = np.array(face)
            best = min(fs, key=lambda f: np.linalg.norm(f.xy - r, axis=1).mean())
            res["faces"][f"{name}#{k}"] = _error(best.xy, r, r)
            ours = np.vstack([best.irises["right"], best.irises["left"]])  # MediaPipe's points 468-477
            res["irises"][f"{name}#{k}"] = _error(ours, np.array(irises), r)
    return res


def format_parity(res: dict[str, Any]) -> str:
    lines = [f"images where the detections differ: {len(res['disagree'])} {res['disagree'] or ''}".rstrip(),
             "part     sets   median %   max %"]
    for part in ("body", "hands", "faces", "irises"):
        v = np.array(list(res[part].values())) * 100
        if len(v):
            lines.append(f"{part:8s} {len(v):4d}   {np.median(v):8.2f}   {v.max():5.2f}")
    hand = list(res["handedness"].values())
    lines.append(f"handedness agrees on {sum(hand)} of {len(hand)} hands")
    return "\n".join(lines)


def format_perception(res: dict[str, Any]) -> str:
    lines = ["stage                  actkit ms" + ("   MediaPipe ms   ratio" if "reference" in res else "")]
    for k, v in res["speed"].items():
        ref = res.get("reference", {}).get(k)
        lines.append(f"{k:22s} {v:9.2f}" + (f"   {ref:12.2f}   {v / ref:5.2f}" if ref else ""))
    if "footage" in res:
        f = res["footage"]
        lines.append(f"\nplaza video, {f['hand_counted_people']} people counted by hand on {f['frames_counted']} frames")
        lines.append("detector    recall   false boxes/frame   keypoint recall   frames/s")
        for k, v in f.items():
            if isinstance(v, dict):
                lines.append(f"{k:10s} {v['recall']:7.3f}   {v['false_boxes_per_frame']:17.2f}   "
                             f"{v['keypoint_recall']:15.3f}   {v['fps']:8.1f}")
    return "\n".join(lines)
