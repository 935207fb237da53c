#!/usr/bin/env bash
# Skeleton action models from the motion capture's true joints: train on `actkit synth skeletons` (unseen-camera
# test split), then the full pipeline on rendered video (render -> actkit keypoints -> the same model) to see
# what real pose estimation costs. About 6 minutes on 2 cores. Usage: bash benchmarks/skeletons.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/skeletons}
A=.venv/bin/actkit
mkdir -p "$OUT"
$A -q synth skeletons --out "$OUT/skeletons.parquet" --sequences-per-class 200 --frames 32 --fps 15
$A train --task skeleton --data "$OUT/skeletons.parquet" --model skel_gcn_s --epochs 12 --batch-size 64 \
    --lr 0.003 --out "$OUT/skel_gcn_s" --overwrite
$A eval --model "$OUT/skel_gcn_s/checkpoints/best.pt" --data "$OUT/skeletons.parquet" --split test \
    --out "$OUT/eval_true_joints"
$A -q synth actions --out "$OUT/actions" --clips-per-class 10 --frames 32 --size 192 --fps 15
$A keypoints "$OUT/actions" --dataset --out "$OUT/actions_keypoints.parquet"
$A eval --model "$OUT/skel_gcn_s/checkpoints/best.pt" --data "$OUT/actions_keypoints.parquet" --split test \
    --out "$OUT/eval_rendered_video"
