#!/usr/bin/env bash
# Custom classifiers from few videos (BENCHMARKS.md, "Custom classifiers"): extractors pretrained on 10 of the 15
# motion-capture actions, a project of the other 5 (5 training videos each; validation videos from held-out
# cameras, palettes and speeds), heads trained on 2, 3 and 5 videos per class with and without a background class,
# false events on the idle frames of rendered streams. Usage: bash benchmarks/custom.sh [OUT]  (repo root, after
# `make install`). About 45 min on 2 cores (the pixel extractor's training is most of it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/custom}
A=.venv/bin/actkit
mkdir -p "$OUT"
TEN=backflip,cartwheel,crawl,dance_a,dance_b,getup_facedown,getup_faceup,roll,run,spinkick
NOISE=jitter=0.035,swap=0.08,drop_joint=0.08,drop_frame=0.03   # BlazePose's measured noise (keypoint_models.sh)

# 1. The project: jump, kick, punch, spin, walk; background = crawl, roll, dance_a videos. Idle: rendered streams.
$A custom example "$OUT/fs5v8" --classes jump,kick,punch,spin,walk --background crawl,roll,dance_a \
    --train 5 --valid 8 --frames 48 --size 192 --seed 0
$A -q synth streams --videos 4 --seconds 40 60 --seed 7 --out "$OUT/streams_idle"

# 2. Extractors that never saw the 5 classes: a causal skeleton model on keypoints, a pixel streaming model.
$A -q synth skeletons --set actions --classes $TEN --sequences-per-class 300 --noise $NOISE --seed 0 \
    --out "$OUT/actions10.parquet"
$A train --task skeleton --data "$OUT/actions10.parquet" --model skel_stream_s --frames 32 --epochs 12 \
    --batch-size 32 --lr 3e-3 --optim.label_smoothing 0.1 --run.plots false --run.threads 2 --seed 0 \
    --model.args '{side_invariant: true, depth: false}' --out "$OUT/ext_skel10c"
$A -q synth actions --out "$OUT/actions10v" --classes $TEN --clips-per-class 40 --frames 32 --size 128 --seed 0
$A train --task clip --data "$OUT/actions10v" --model stream_fast_s --model.args '{input_size: [112, 112]}' \
    --frames 16 --epochs 12 --batch-size 8 --lr 2e-3 --run.plots false --run.threads 1 --seed 0 --out "$OUT/ext_pix10"

# 3. Few-shot heads, speed, false events per idle minute: the two, and the shipped exercises model (which saw
#    all 15 actions: a reference, not a few-shot figure).
B="$A custom bench $OUT/fs5v8 --streams $OUT/streams_idle"
$B --extractor "$OUT/ext_skel10c/checkpoints/best.pt" --out "$OUT/bench_skel10.json"
$B --extractor "$OUT/ext_pix10/checkpoints/best.pt" --out "$OUT/bench_pix10.json"
$B --extractor exercises --out "$OUT/bench_exercises.json"
# 4. The studio flow in headless Chromium (timing in runs/test-artifacts/studio/timing.txt)
.venv/bin/python -m pytest -q tests/test_studio_browser.py
