"""Per-video streaming frame accuracy of several `actkit evaluate` reports of one streams split, side by side.

Usage: .venv/bin/python benchmarks/stream_per_video.py OUT.png NAME=REPORT.json [NAME=REPORT.json ...]

Each REPORT.json is a `stream_eval.json` of the same split. Prints a table (one row per video, with its ground
texture and clothes palette from the label files) and draws grouped bars: which scenes a model fails on.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out: str, specs: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names, reports = [], []
    for spec in specs:
        name, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"expected NAME=REPORT.json, got {spec!r}")
        names.append(name)
        reports.append(json.loads(Path(path).read_text()))
    videos = [v["video"] for v in reports[0]["per_video"]]
    for n, r in zip(names, reports):
        if [v["video"] for v in r["per_video"]] != videos:
            raise SystemExit(f"{n}: not the same videos as {names[0]}")
    labels = Path(reports[0]["data"]) / "labels"
    scene = {}
    for v in videos:
        d = json.loads((labels / f"{v}.json").read_text())
        scene[v] = f"t{d.get('texture')} p{d['people'][0].get('palette')}"
    acc = np.array([[v["streaming"] for v in r["per_video"]] for r in reports])
    print(f"{'video':<12}{'scene':<9}" + "".join(f"{n:>14}" for n in names))
    for j, v in enumerate(videos):
        print(f"{v:<12}{scene[v]:<9}" + "".join(f"{a:>14.3f}" for a in acc[:, j]))
    print(f"{'all frames':<21}" + "".join(f"{r['frame_accuracy']['streaming']:>14.3f}" for r in reports))
    print(f"{'event F1':<21}" + "".join(f"{r['events']['f1']:>14.3f}" for r in reports))
    fig, ax = plt.subplots(figsize=(max(8, len(videos) * 0.7), 4), layout="constrained")
    w = 0.8 / len(names)
    x = np.arange(len(videos))
    for i, n in enumerate(names):
        ax.bar(x + (i - (len(names) - 1) / 2) * w, acc[i], w,
               label=f"{n} (all {reports[i]['frame_accuracy']['streaming']:.3f}, event F1 {reports[i]['events']['f1']:.3f})")
    ax.set_xticks(x, [f"{v.replace('stream_', '')}\n{scene[v]}" for v in videos], fontsize=7)
    ax.set_ylabel("streaming frame accuracy")
    ax.set_ylim(0, 1.12)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{Path(reports[0]['data']).name} {reports[0]['split']}: per video (t = ground texture, p = palette)")
    ax.legend(fontsize=7, loc="upper center", ncol=len(names))
    fig.savefig(out, dpi=120)
    print(f"-> {out}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])
