"""Absolute vs relative two-position repetition counters on one model's outputs (BENCHMARKS.md).

Usage: .venv/bin/python benchmarks/rep_counters.py CHECKPOINT [REPS_DIR] [SPLIT]
(defaults runs/bench/reps, val). Runs the model over each video of the split (EMA over 5 frames, as
`actkit evaluate` does), picks the exercise most frames were labelled with, and counts its repetitions
with `RepetitionCounter(relative=False)` (each position > 0.5 on its own) and with the default relative
counter (positions divided by their sum); prints the per-video counts and both MAEs.
"""
from __future__ import annotations

import sys

import numpy as np

from actkit.engine import stream_eval as SE
from actkit.engine.postprocess import RepetitionCounter, make_smoother
from actkit.engine.streamer import load_runner


def main(ckpt: str, root: str = "runs/bench/reps", split: str = "val") -> None:
    runner = load_runner(ckpt, "cpu")
    cls = SE._Classes.of(runner.class_names, ckpt)
    errors: dict[str, list[int]] = {"absolute": [], "relative": []}
    for v in SE.read_stream_set(root, split)[1]:
        frames = list(SE._frames(v.path))[: v.frames]
        probs, _ = SE._whole_video_probs(runner, frames, v.people[0].segments, False)
        smoother = make_smoother("ema", 5)
        smoothed = np.stack([smoother.update(p) for p in probs])
        labels = [cls.label(x) for x in smoothed]
        votes = {e: labels.count(e) for e in cls.reps}
        exercise = max(votes, key=votes.get) if any(votes.values()) else None
        true = v.rep_spans[0][3]
        counts = {}
        for mode in errors:
            counter = RepetitionCounter(relative=mode == "relative")
            if exercise is not None:
                hi, lo = cls.reps[exercise]
                for x in smoothed:
                    counter.update(float(x[hi]), float(x[lo]))
            counts[mode] = counter.count
            errors[mode].append(abs(counter.count - true))
        print(f"{v.name}: true {true}, absolute {counts['absolute']}, relative {counts['relative']} (exercise {exercise})")
    for mode, e in errors.items():
        print(f"{mode} counter: MAE {np.mean(e):.2f} over {len(e)} videos, exact {np.mean(np.array(e) == 0):.0%}")


if __name__ == "__main__":
    main(*sys.argv[1:])
