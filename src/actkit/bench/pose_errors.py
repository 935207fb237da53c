"""`actkit bench --perception --pose-errors REPS KP`: what BlazePose really does to the keypoints of rendered
people, measured against the true joints, to set the noise model of ``actkit synth skeletons`` by.

A rendered ``reps`` folder knows every frame's body and camera (:func:`actkit.data.synth.reps.plan_poses`,
:func:`~actkit.data.synth.reps.plan_cameras`); the true MediaPipe-33 points are projected through that camera
exactly as the renderer does (OpenGL look-at, vertical field of view, square frames) and compared with the
keypoints ``actkit keypoints REPS --dataset --out KP`` found in the same frames. Reported: the share of frames
with a person, the joint error in fractions of the true body box's diagonal (the humanoid's own 12 joints,
shoulders to ankles, where the derived face / hand / foot points are only approximate), the share of frames
with left and right swapped (the swapped assignment fits at least twice as well), and the noise model those
numbers imply.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

BODY = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def project_camera(points: np.ndarray, camera: Any, size: int) -> np.ndarray:
    """(33, 2) pixels of world ``points`` (33, 3) through a renderer :class:`~actkit.data.synth.scene.Camera` of a
    ``size`` x ``size`` frame."""
    eye = camera.eye()
    f = np.asarray(camera.target, np.float64) - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, [0.0, 1.0, 0.0])
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    rel = points - eye
    depth = rel @ f
    t = math.tan(math.radians(camera.fov) / 2)
    x, y = (rel @ s) / depth / t, (rel @ u) / depth / t
    return np.stack([(x + 1) / 2 * size, (1 - y) / 2 * size], axis=1)


def pose_errors(reps: str | Path, keypoints: str | Path) -> dict[str, Any]:
    """See the module docstring. ``reps``: a folder of ``actkit synth reps``; ``keypoints``: its keypoint set."""
    from ..data.keypoint_sequences import load_sequences
    from ..data.synth.reps import plan_cameras, plan_poses, plan_video
    from ..data.synth.skeleton_sets import body_points
    from ..data.synth.skeletons import PAIRS, fk_renderer

    reps, keypoints = Path(reps), Path(keypoints)
    cfg = json.loads((reps / "render_config.json").read_text())
    renderer = fk_renderer()
    errors, swapped, found, frames, vis = [], 0, 0, 0, []
    left, right = [a for a, _ in PAIRS], [b for _, b in PAIRS]
    files = sorted((keypoints / "keypoints").glob("*/*.parquet"))
    if not files:
        raise ValueError(f"{keypoints}: no keypoints/<exercise>/*.parquet (write them with actkit keypoints "
                         f"{reps} --dataset --out {keypoints})")
    for path in files:
        ex, k = path.parent.name, int(path.stem.rsplit("_", 1)[1])
        plan = plan_video(cfg["seed"], ex, k, cfg["videos_per_exercise"], tuple(cfg["seconds"]), cfg["fps"])
        poses, corners, rng = plan_poses(renderer, plan, cfg["seed"])
        cameras = plan_cameras(poses, corners, rng, plan)
        world = body_points(renderer, poses)
        found_kp = load_sequences(path)[0]["keypoints"][:, 0]
        for t, (points, camera) in enumerate(zip(world, cameras)):
            frames += 1
            kp = found_kp[t] if t < len(found_kp) else None
            if kp is None or not np.isfinite(kp).all():
                continue
            found += 1
            true = project_camera(points, camera, cfg["size"])
            diag = float(np.linalg.norm(np.ptp(true[BODY], axis=0)))
            straight = np.linalg.norm(kp[:, :2] - true, axis=1) / diag
            mirrored = kp[:, :2].copy()
            mirrored[left + right] = mirrored[right + left]
            crossed = np.linalg.norm(mirrored - true, axis=1) / diag
            is_swapped = crossed[BODY].mean() * 2 <= straight[BODY].mean()
            swapped += int(is_swapped)
            errors.append(crossed[BODY] if is_swapped else straight[BODY])
            vis.append(float(kp[BODY, 3].mean()))
    err = np.concatenate(errors) if errors else np.zeros(0)
    swap_share = swapped / max(1, found)
    median = float(np.median(err)) if len(err) else float("nan")
    return {
        "videos": len(files), "frames": frames, "frames_with_person": round(found / max(1, frames), 3),
        "joint_error_median": round(median, 4), "joint_error_p90": round(float(np.percentile(err, 90)), 4) if len(err) else None,
        "frames_swapped": round(swap_share, 3), "body_visibility_mean": round(float(np.mean(vis)), 3) if vis else None,
        # a per-axis normal of std s has a median distance of s * sqrt(2 ln 2); a swap lasts 3.5 frames on average
        "implied_noise": {"jitter": round(median / math.sqrt(2 * math.log(2)), 4), "swap": round(swap_share / 3.5, 4),
                          "drop_frame": round(1 - found / max(1, frames), 3)},
    }
