"""`actkit synth`: labelled data rendered from motion capture (postures, actions, reps, streams, dives) and
keypoint sequences projected from its true joints (skeletons)."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import names


RESUMES = "output folder (re-running resumes: finished videos are kept)"


def _set(syp: Any, name: str, fn: Any, help: str, out_help: str = RESUMES) -> argparse.ArgumentParser:
    sp = syp.add_parser(name, help=help)
    sp.set_defaults(fn=fn)
    sp.add_argument("--out", required=True, help=out_help)
    return sp


def _rendering(sp: argparse.ArgumentParser, size: int | None = None, fps: int | None = None) -> None:
    """The options every set shares: frame size and rate (videos), seed, render processes, contact sheet."""
    if size is not None:
        sp.add_argument("--size", type=int, default=size, help="frame size in pixels (square)")
        sp.add_argument("--fps", type=int, default=fps)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")


def add_parser(sub: Any) -> None:
    syp = sub.add_parser("synth", help="render synthetic labelled data from motion capture").add_subparsers(
        dest="synth_verb", metavar="SET", required=True)
    sp = _set(syp, "postures", run_postures, "person crops (standing / sitting / lying) labelled from body geometry",
              "output .parquet")
    sp.add_argument("--n", type=int, default=3000, help="number of crops to render")
    _rendering(sp)

    sp = _set(syp, "eyes", run_eyes, "drawn 24x40 eye crops labelled open / closed (OCEC's crop shape; no motion "
              "capture)", "output .parquet")
    sp.add_argument("--n", type=int, default=20000, help="number of crops to draw")
    sp.add_argument("--seed", type=int, default=0)

    sp = _set(syp, "actions", run_actions, "the 15 motion-capture clips as 15 action classes, as mp4 clips in "
              "UCF-101 layout", "output folder (re-running resumes: finished clips are kept)")
    sp.add_argument("--clips-per-class", type=int, default=20)
    sp.add_argument("--frames", type=int, default=32, help="frames per clip")
    sp.add_argument("--classes", help="comma-separated clip names (default: all 15)")
    sp.add_argument("--split-by", default="appearance", choices=("appearance", "timeline"),
                    help="timeline: splits also hold out a part of each motion's timeline")
    _rendering(sp, 112, 16)

    sp = _set(syp, "reps", run_reps, "exercise videos (squat, jumping jack, lunge, arm raise) with per-frame phase "
              "tags and true rep counts")
    sp.add_argument("--videos-per-exercise", type=int, default=8)
    sp.add_argument("--splits", help="render only these splits, e.g. test (video k is the same either way)")
    sp.add_argument("--seconds", type=float, nargs=2, default=(6.0, 12.0), metavar=("MIN", "MAX"),
                    help="video length range")
    sp.add_argument("--exercises", help="comma-separated subset of squat,jumping_jack,lunge,arm_raise")
    _rendering(sp, 112, 16)

    sp = _set(syp, "streams", run_streams, "long videos chaining actions, idle and exercise sets (1-4 people) with "
              "per-frame labels, reps and boxes")
    sp.add_argument("--videos", type=int, default=4)
    sp.add_argument("--splits", help="render only these splits, e.g. test (video i is the same either way)")
    sp.add_argument("--seconds", type=float, nargs=2, default=(60.0, 120.0), metavar=("MIN", "MAX"),
                    help="video length range")
    sp.add_argument("--people", type=int, nargs=2, default=(1, 1), metavar=("MIN", "MAX"), help="people per video")
    _rendering(sp, 160, 16)

    sp = _set(syp, "dives", run_dives, "procedural dives of the 48 Diving48 classes (take-off, somersaults, twists, "
              "position) in Diving48 format")
    sp.add_argument("--videos-per-class", type=int, default=4)
    sp.add_argument("--frames", type=int, nargs="+", default=[32, 48], metavar="N",
                    help="frames per video, or MIN MAX drawn per video")
    sp.add_argument("--classes", help="comma-separated class indices 0-47 or dive numbers such as 5253B "
                    "(default: all 48)")
    _rendering(sp, 112, 25)

    sp = _set(syp, "skeletons", run_skeletons, "labelled keypoint sequences (MediaPipe-33) from the motion "
              "capture's true joints, seen by random cameras with a pose model's noise; no rendering",
              "output .parquet (actions, postures) or folder (streams, reps)")
    sp.add_argument("--set", dest="which", default="actions", choices=("actions", "postures", "streams", "reps", "sitting"),
                    help="actions: the 15 clips as 15 classes; postures: standing / sitting / lying bodies as short "
                    "still sequences; streams / reps: the plans of `actkit synth streams` / `reps` (same seed, same "
                    "motion and labels) as keypoint videos with per-frame labels, tags and rep counts; sitting: several people "
                    "sitting down, standing up and lying down, with each person's posture per frame (scores actkit app "
                    "sitting --evaluate)")
    sp.add_argument("--videos", type=int, default=80, help="streams / sitting: number of videos")
    sp.add_argument("--videos-per-exercise", type=int, default=20, help="reps: videos per exercise")
    sp.add_argument("--seconds", type=float, nargs=2, help="streams / reps / sitting: min and max length (default 60 90 / 6 12 / 60 120)")
    sp.add_argument("--people", type=int, nargs=2, default=(2, 3), metavar=("MIN", "MAX"),
                    help="sitting: people per stream")
    sp.add_argument("--views", type=int, default=1, help="streams: cameras per training video (1-4, 90 degrees apart)")
    sp.add_argument("--sequences-per-class", type=int, default=200, help="actions: sequences per clip")
    sp.add_argument("--n", type=int, default=3000, help="postures: number of samples")
    sp.add_argument("--frames", type=int, help="frames per sequence (default: actions 32, postures 4)")
    sp.add_argument("--fps", type=float, help="frame rate (default: actions / postures 15, streams / reps 16)")
    sp.add_argument("--classes", help="actions: comma-separated clip names (default: all 15)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--clean", action="store_true", help="no noise: the true joints through the cameras only")
    sp.add_argument("--noise", help="noise model fields, e.g. jitter=0.04,swap=0.1,drop_joint=0.1 (actkit bench "
                    "--perception --pose-errors measures what BlazePose does)")


def run_postures(a: argparse.Namespace) -> Any:
    from ..data.synth.postures import render_postures

    s = render_postures(a.out, n=a.n, seed=a.seed, workers=a.workers, sheet=a.sheet)
    print(json.dumps({k: v for k, v in s.items() if k != "path"}, indent=1, default=str))
    return s


def run_eyes(a: argparse.Namespace) -> Any:
    from ..data.synth.eyes import render_eyes

    s = render_eyes(a.out, n=a.n, seed=a.seed)
    print(json.dumps({k: v for k, v in s.items() if k != "path"}, indent=1))
    return s


def run_actions(a: argparse.Namespace) -> Any:
    from ..data.synth.actions import render_actions

    s = render_actions(a.out, clips_per_class=a.clips_per_class, frames=a.frames, size=a.size, fps=a.fps,
                       seed=a.seed, workers=a.workers, sheet=a.sheet, classes=names(a.classes), split_by=a.split_by)
    print(json.dumps(s, indent=1, default=str))
    return s


def run_reps(a: argparse.Namespace) -> Any:
    from ..data.synth.reps import render_reps

    s = render_reps(a.out, videos_per_exercise=a.videos_per_exercise, seconds=tuple(a.seconds), size=a.size,
                    fps=a.fps, seed=a.seed, workers=a.workers, exercises=names(a.exercises), sheet=a.sheet,
                    splits=names(a.splits))
    print(json.dumps(s, indent=1, default=str))
    return s


def run_streams(a: argparse.Namespace) -> Any:
    from ..data.synth.streams import render_streams

    s = render_streams(a.out, videos=a.videos, seconds=tuple(a.seconds), size=a.size, fps=a.fps, seed=a.seed,
                       workers=a.workers, people=tuple(a.people), sheet=a.sheet, splits=names(a.splits))
    print(json.dumps({k: v for k, v in s.items() if k != "vocabulary"}, indent=1, default=str))
    return s


def run_dives(a: argparse.Namespace) -> Any:
    from ..data.synth.dives import render_dives

    frames = a.frames[0] if len(a.frames) == 1 else tuple(a.frames)
    s = render_dives(a.out, videos_per_class=a.videos_per_class, frames=frames, size=a.size, fps=a.fps, seed=a.seed,
                     workers=a.workers, classes=names(a.classes), sheet=a.sheet)
    print(json.dumps(s, indent=1, default=str))
    return s


def run_skeletons(a: argparse.Namespace) -> Any:
    from ..data.synth.skeletons import Noise, render_posture_skeletons, render_skeletons

    noise = Noise(jitter=0, drop_joint=0, swap=0, occlude_limb=0, drop_frame=0, time_warp=0) if a.clean else None
    if a.noise:
        noise = noise_of(a.noise)
    if a.which in ("streams", "reps"):
        from ..data.synth.skeleton_sets import render_skeleton_reps, render_skeleton_streams

        fps = int(a.fps or 16)
        if a.which == "streams":
            s = render_skeleton_streams(a.out, a.videos, tuple(a.seconds or (60, 90)), fps, a.seed, views=a.views,
                                        noise=noise)
        else:
            s = render_skeleton_reps(a.out, a.videos_per_exercise, tuple(a.seconds or (6, 12)), fps, a.seed, noise)
    elif a.which == "sitting":
        from ..data.synth.posture_streams import render_posture_streams

        s = render_posture_streams(a.out, a.videos, tuple(a.seconds or (60, 120)), a.fps or 15.0, a.seed,
                                   tuple(a.people), noise)
    elif a.which == "postures":
        s = render_posture_skeletons(a.out, a.n, a.frames or 4, a.fps or 15.0, a.seed, noise)
    else:
        s = render_skeletons(a.out, a.sequences_per_class, a.frames or 32, a.fps or 15.0, a.seed, names(a.classes),
                             noise)
    print(json.dumps(s, indent=1))
    return s


def noise_of(text: str) -> Any:
    """``jitter=0.04,swap=0.1`` -> a :class:`~actkit.data.synth.skeletons.Noise` with those fields changed."""
    from dataclasses import fields

    from ..data.synth.skeletons import Noise

    known = {f.name for f in fields(Noise)}
    values = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if key.strip() not in known or not value:
            raise ValueError(f"--noise {text!r}: {item!r} is not FIELD=VALUE with a field of {sorted(known)}")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--noise {text!r}: {value!r} is not a number") from None
        if not 0 <= values[key.strip()] <= 1:
            raise ValueError(f"--noise {text!r}: {key.strip()} must be in [0, 1]")
    return Noise(**values)
