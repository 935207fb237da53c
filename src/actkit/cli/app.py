"""`actkit app`: finished applications on a camera, a file, a URL or a folder of frames."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..apps.run import APPS

    sp = verb(sub, "app", run, "finished applications: fitness (exercise, repetitions, calories), gestures (static hand gestures, swipes, "
              "waves, push / pull), dives (the dive number of a clip), sitting (time "
              "sitting, standing and lying per person, with an alert after too long sitting), drowsiness (blinks, "
              "winks, PERCLOS, microsleeps, yawns)")
    sp.add_argument("name", choices=APPS, help="the application")
    sp.add_argument("--source", help="camera index (0), video file, rtsp://... / http(s)://... URL, or folder of frames")
    sp.add_argument("--evaluate", metavar="SET", help="fitness: score the repetition count on a keypoint reps "
                    "set (actkit synth skeletons --set reps, or actkit keypoints REPS --dataset --out KP); sitting: score "
                    "the seconds per person on a posture stream set (actkit synth skeletons --set sitting); dives: score "
                    "the dive numbers on a Diving48-format set (actkit synth dives, or Diving48)")
    sp.add_argument("--split", default="test", choices=("train", "val", "test", "all"), help="--evaluate: the split")
    for flag, kind, default, text in (("--weight", float, 70.0, "kg"), ("--height", float, 175.0, "cm"),
                                      ("--age", float, 35.0, "years")):
        sp.add_argument(flag, type=kind, default=default, help=f"fitness: the person's {flag[2:]} ({text}), for calories")
    sp.add_argument("--sex", default="other", choices=("male", "female", "other"), help="fitness: for the resting rate")
    sp.add_argument("--angle", action="append", default=[], metavar="JOINT:LOW:HIGH", help="fitness: also count "
                    "repetitions of a joint's angle (elbow, knee, hip, shoulder), e.g. elbow:90:150 for push-ups")
    sp.add_argument("--detector", default="motion", help="person detector for tracking: motion, hog, auto, blazepose "
                    "or a .onnx detector")
    sp.add_argument("--model", help="sitting: the skeleton posture model (default: the shipped posture); fitness: the "
                    "streaming skeleton model naming the activity (default: the shipped exercises); gestures: your own hand "
                    "gestures too (a classifier of actkit custom train --extractor hands); dives: a clip "
                    "model trained on Diving48 classes (required)")
    sp.add_argument("--vote", default="3/7,3/4", help="sitting: k-of-n rules that decide sitting per person")
    sp.add_argument("--alert-minutes", type=float, default=30.0, help="sitting: minutes without a break before an alert")
    sp.add_argument("--hold-s", type=float, default=1.0, help="sitting: seconds a tracked person whose body is not "
                    "found keeps their last posture")
    sp.add_argument("--microsleep-s", type=float, default=1.0, help="drowsiness: eyes shut this long is a microsleep")
    sp.add_argument("--calibrate-s", type=float, default=2.0, help="drowsiness: seconds of face that set the person's "
                    "open eyes and resting mouth")
    sp.add_argument("--eyes-model", default="eyes", help="drowsiness: the open / closed eye crop model asked where the "
                    "landmarks are uncertain (default: the shipped eyes model; none: landmarks only)")
    sp.add_argument("--eye-crops", default="uncertain", choices=("uncertain", "always"), help="drowsiness: when to read "
                    "the eye crops")
    sp.add_argument("--clips", type=int, default=2, help="dives: clips averaged per video (the views the model "
                    "was trained for, as actkit eval reads them)")
    sp.add_argument("--flip", action="store_true", help="dives: average each clip with its mirror image too")
    sp.add_argument("--jsonl", help="write one JSON line per frame (each person's app fields), then the summary")
    sp.add_argument("--annotate", help="write the frames drawn (skeletons, postures, sitting time) to this mp4")
    sp.add_argument("--overwrite", action="store_true", help="replace --jsonl / --annotate files that exist")
    sp.add_argument("--display", action="store_true", help="show the drawn frames in a window ('q' or Esc stops)")
    sp.add_argument("--max-frames", type=int, help="stop after this many frames")
    sp.add_argument("--threads", type=int, default=1, help="LiteRT threads per pose model")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..apps.run import make_app, run_app

    from ..apps.calories import Profile
    from ..utils.io import refuse_to_replace

    refuse_to_replace({"--jsonl": a.jsonl, "--annotate": a.annotate}, a.overwrite)
    if a.evaluate:
        if a.name not in ("fitness", "sitting", "dives"):
            raise ValueError("--evaluate scores the fitness app's repetition count, the sitting app's seconds or the "
                             "dives app's numbers")
        if a.name == "dives":
            from ..apps.dives import evaluate_dives

            if a.model is None:
                raise ValueError("actkit app dives --evaluate needs --model (a dive model)")
            report = evaluate_dives(a.evaluate, a.model, a.split, a.clips, a.flip, progress=False if a.quiet else None)
        elif a.name == "sitting":
            from ..apps.sitting import evaluate_sitting

            report = evaluate_sitting(a.evaluate, a.split, a.model or "posture", a.vote)
        else:
            from ..apps.fitness import evaluate_reps

            report = evaluate_reps(a.evaluate, a.split, a.model or "exercises")
        print(json.dumps(report, indent=1))
        return report
    if a.name == "dives":
        from ..apps.dives import dives, format_dive

        if a.source is None or a.model is None:
            raise ValueError("actkit app dives needs --source (a clip or a folder of clips) and --model (a dive model)")
        reports = dives(a.source, a.model, a.clips, a.flip, progress=False if a.quiet else None)
        print("\n".join(format_dive(r) for r in reports))
        if a.jsonl:
            from ..utils.io import atomic_write_bytes

            atomic_write_bytes(a.jsonl, "".join(json.dumps(r) + "\n" for r in reports).encode())
        return reports
    if a.source is None:
        raise ValueError(f"actkit app {a.name} needs --source (a camera index, a file, a URL or a folder of frames)")
    options = {"fitness": lambda: dict(model=a.model or "exercises", angles=tuple(a.angle),
                                       profile=Profile(a.weight, a.height, a.age, a.sex)),
               "sitting": lambda: dict(model=a.model or "posture", vote=a.vote, alert_minutes=a.alert_minutes,
                                       hold_s=a.hold_s),
               "gestures": lambda: dict(custom=a.model),
               "drowsiness": lambda: dict(microsleep_s=a.microsleep_s, calibrate_s=a.calibrate_s, crops=a.eye_crops,
                                          eyes_model=None if a.eyes_model == "none" else a.eyes_model)}[a.name]()
    app = make_app(a.name, **options)
    summary = run_app(app, a.source, a.detector, a.jsonl, a.annotate, a.display, a.max_frames, a.threads,
                      progress=not a.quiet)
    print(json.dumps(summary, indent=1))
    return summary
