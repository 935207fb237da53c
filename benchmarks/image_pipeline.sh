#!/usr/bin/env bash
# The pose-aware image pipeline end to end on rendered people, in Stanford 40 Actions layout: render action
# clips, take frames as photos (JPEGImages/, ImageSplits/<action>_{train,test}.txt, XMLAnnotations/ person
# boxes), train a timm image model with `actkit train --task image`, evaluate it, then measure what BlazePose
# keypoints add (two streams, late fusion) and the geometric posture rule on a postures test split.
# About 10 minutes on 2 cores. Usage: bash benchmarks/image_pipeline.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/image_pipeline}
A=.venv/bin/actkit
mkdir -p "$OUT"
$A -q synth actions --out "$OUT/actions" --clips-per-class 12 --classes walk,punch,kick,jump,crawl \
    --frames 16 --size 160 --workers 2
.venv/bin/python - "$OUT" <<'PY'
import csv, json, sys
from pathlib import Path

import cv2

from actkit.data.video.sources import read_video

out = Path(sys.argv[1])
root, s40 = out / "actions", out / "stanford40"
for d in ("JPEGImages", "ImageSplits", "XMLAnnotations"):
    (s40 / d).mkdir(parents=True, exist_ok=True)
lists = {}
for row in csv.DictReader(open(root / "manifest.csv")):
    video = root / row["path"]
    action = row["label"].lower()
    boxes = json.loads((root / "boxes" / row["label"] / (video.stem + ".json")).read_text())["frames"]
    split = row["split"]  # <action>_val.txt beside Stanford40's train / test lists: frames of one clip stay together
    for t, rgb in enumerate(read_video(video)):
        if t % 2 or boxes[t] is None:
            continue
        name = f"{action}_{video.stem}_{t:02d}"
        cv2.imwrite(str(s40 / "JPEGImages" / f"{name}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        x0, y0, x1, y1 = boxes[t]
        (s40 / "XMLAnnotations" / f"{name}.xml").write_text(
            f"<annotation><size><width>{rgb.shape[1]}</width><height>{rgb.shape[0]}</height></size><object>"
            f"<name>person</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
            "</bndbox></object></annotation>")
        lists.setdefault((action, split), []).append(f"{name}.jpg")
for (action, split), names in lists.items():
    (s40 / "ImageSplits" / f"{action}_{split}.txt").write_text("\n".join(names) + "\n")
print(f"{sum(map(len, lists.values()))} photos in {s40}")
PY
$A train --task image --data "$OUT/stanford40" --model image_resnet18 --input 128,128 --epochs 8 \
    --batch-size 32 --lr 0.002 --out "$OUT/image_model" --overwrite
$A eval --model "$OUT/image_model/checkpoints/best.pt" --data "$OUT/stanford40" --split test --out "$OUT/eval"
$A bench --perception --two-stream "$OUT/stanford40" --models "$OUT/image_model/checkpoints/best.pt" \
    | tee "$OUT/two_stream.json"
$A -q synth postures --out "$OUT/postures.parquet" --n 1500
$A bench --perception --posture-rule "$OUT/postures.parquet" | tee "$OUT/posture_rule.json"
