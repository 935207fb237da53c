"""`actkit keypoints`: body, hand and face keypoints of one person or everyone in every frame of a file, camera,
URL or folder."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import names, verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "keypoints", run, "body, hand and face keypoints (MediaPipe's models, offline) of every frame of "
              "a video file, camera, URL, image or folder of frames; JSON lines or Parquet, and the drawn skeletons")
    sp.add_argument("source", help="camera index (0), video file, image, rtsp://... / http(s)://... URL, or folder of "
                    "frames")
    sp.add_argument("--parts", default="body", help="what to find, comma-separated: body, hands, face")
    sp.add_argument("--detector", help="find several people: motion (the measured best on a fixed camera), hog, auto, blazepose (BlazePose's detector over tiles), "
                    "or a person detector .onnx; default: one person, followed by BlazePose itself")
    sp.add_argument("--max-people", type=int, default=6, help="with --detector: the most people given landmarks per "
                    "frame (largest first; the tracker follows everyone)")
    sp.add_argument("--out", help="write one JSON line per frame (Results with a keypoints field) here, or the "
                    "keypoint sequence format for a .parquet name")
    sp.add_argument("--annotate", help="write the video with the skeletons drawn (.mp4), or the first frame as a "
                    "picture (.png, .jpg)")
    sp.add_argument("--model", help="label each person with a skeleton model: a shipped name (`posture`, see `actkit "
                    "models --pretrained`), a .pt or an .onnx; the label goes in each person's result and on the "
                    "drawn frames")
    sp.add_argument("--dataset", action="store_true", help="SOURCE is a labelled video dataset (a folder `actkit "
                    "train --task clip` reads): write every video's keypoints with its label and split to --out "
                    "(.parquet), for `actkit train --task skeleton` and `actkit eval`; or a frame-labelled folder "
                    "(labels/ beside videos/: actkit synth streams / reps, your own labelled clips): write a keypoint "
                    "set to --out FOLDER")
    sp.add_argument("--overwrite", action="store_true", help="replace --out / --annotate files that exist (a "
                    "--dataset folder is never replaced: it is completed)")
    sp.add_argument("--display", action="store_true", help="show the drawn frames in a window ('q' or Esc stops)")
    sp.add_argument("--threads", type=int, default=1, help="LiteRT threads per model")
    sp.add_argument("--max-frames", type=int, help="stop after this many frames")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..perception.keypoints import dataset_keypoints, labelled_keypoints, run_keypoints

    if a.dataset:
        from ..data.video.framelabels import stream_layout

        if stream_layout(a.source) and a.out and not a.out.endswith(".parquet"):
            s = labelled_keypoints(a.source, a.out, a.threads, progress=not a.quiet)
            print(f"{s['videos']} videos -> {s['out']} ({s['written']} new); a person on "
                  f"{s['frames_with_person'] or 0:.1%} of frames; {len(s['skipped'])} skipped")
            return s
        if not a.out or not a.out.endswith(".parquet"):
            raise ValueError("--dataset writes a keypoint sequence file (--out NAME.parquet), or for a frame-labelled "
                             "folder (labels/ beside videos/) a keypoint set (--out FOLDER)")
        s = dataset_keypoints(a.source, a.out, names(a.parts) or (), a.threads, progress=not a.quiet)
        print(f"{s['videos']} videos -> {s['out']}; a person on {s['frames_with_person']:.1%} of frames; "
              f"{len(s['skipped'])} skipped")
        return s

    from ..utils.io import refuse_to_replace

    refuse_to_replace({"--out": a.out, "--annotate": a.annotate}, a.overwrite)
    s = run_keypoints(a.source, a.out, a.annotate, names(a.parts) or (), a.threads, a.max_frames, a.detector,
                      a.max_people, progress=not a.quiet, display=a.display, model=a.model)
    med = s["ms_per_frame_median"]
    print(f"{s['frames']} frames, a person in {s['with_person']}; median {med or 0:.1f} ms per frame"
          + (f" -> {s['out']}" if s["out"] else "") + (f", {s['annotate']}" if s["annotate"] else ""))
    return s
