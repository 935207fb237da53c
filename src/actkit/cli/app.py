"""`actkit app`: finished applications on a camera, a file, a URL or a folder of frames."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..apps.run import APPS

    sp = verb(sub, "app", run, "finished applications: sitting (time sitting, standing and lying per person, "
              "with an alert after too long sitting), drowsiness (blinks, winks, PERCLOS, microsleeps, yawns)")
    sp.add_argument("name", choices=APPS, help="the application")
    sp.add_argument("--source", required=True, help="camera index (0), video file, rtsp://... / http(s)://... URL, "
                    "or folder of frames")
    sp.add_argument("--detector", default="motion", help="person detector for tracking: motion, hog, auto, blazepose "
                    "or a .onnx detector")
    sp.add_argument("--model", default="posture", help="sitting: the skeleton posture model (default: the shipped "
                    "posture)")
    sp.add_argument("--vote", default="3/7,3/4", help="sitting: k-of-n rules that decide sitting per person")
    sp.add_argument("--alert-minutes", type=float, default=30.0, help="sitting: minutes without a break before an alert")
    sp.add_argument("--microsleep-s", type=float, default=1.0, help="drowsiness: eyes shut this long is a microsleep")
    sp.add_argument("--calibrate-s", type=float, default=2.0, help="drowsiness: seconds of face that set the person's "
                    "open eyes and resting mouth")
    sp.add_argument("--jsonl", help="write one JSON line per frame (each person's app fields), then the summary")
    sp.add_argument("--annotate", help="write the frames drawn (skeletons, postures, sitting time) to this mp4")
    sp.add_argument("--display", action="store_true", help="show the drawn frames in a window ('q' or Esc stops)")
    sp.add_argument("--max-frames", type=int, help="stop after this many frames")
    sp.add_argument("--threads", type=int, default=1, help="LiteRT threads per pose model")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..apps.run import make_app, run_app

    options = {"sitting": dict(model=a.model, vote=a.vote, alert_minutes=a.alert_minutes),
               "drowsiness": dict(microsleep_s=a.microsleep_s, calibrate_s=a.calibrate_s)}[a.name]
    app = make_app(a.name, **options)
    summary = run_app(app, a.source, a.detector, a.jsonl, a.annotate, a.display, a.max_frames, a.threads,
                      progress=not a.quiet)
    print(json.dumps(summary, indent=1))
    return summary
