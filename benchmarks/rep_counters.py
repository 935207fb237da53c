"""Absolute vs relative two-position repetition counters on one model's outputs (BENCHMARKS.md).

Usage: .venv/bin/python benchmarks/rep_counters.py CHECKPOINT [REPS_DIR] [SPLIT]
(defaults runs/bench/reps, val). Runs `actkit evaluate`'s scoring (EMA over 5 frames) twice, with
`rep_relative=False` (each position > 0.5 on its own) and with the default relative counter
(positions divided by their sum), and prints the per-video counts and both MAEs.
"""
from __future__ import annotations

import sys
import tempfile

from actkit.streaming.evaluate import evaluate_streams


def main(ckpt: str, root: str = "runs/bench/reps", split: str = "val") -> None:
    with tempfile.TemporaryDirectory() as tmp:  # the reports are printed, not kept
        reps = {mode: evaluate_streams(ckpt, root, split, smooth="ema", window=5, rep_relative=mode == "relative",
                                       offline=False, plots=False, out=f"{tmp}/{mode}", progress=False)["reps"]
                for mode in ("absolute", "relative")}
    for a, r in zip(reps["absolute"]["items"], reps["relative"]["items"]):
        print(f"{a['video']}: true {a['true']}, absolute {a['pred']}, relative {r['pred']} (exercise {a['pred_exercise']})")
    for mode, rep in reps.items():
        print(f"{mode} counter: MAE {rep['mae']:.2f} over {rep['sets']} sets, exact {rep['exact']:.0%}")


if __name__ == "__main__":
    main(*sys.argv[1:])
