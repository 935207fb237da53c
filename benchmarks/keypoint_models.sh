#!/usr/bin/env bash
# The shipped keypoint models and their numbers in BENCHMARKS.md: the exercises / events streaming model trained
# per frame on keypoint streams, the actions model, events and repetitions on true-joint keypoints and through
# rendered video -> BlazePose, and the cost per person per frame.
# Usage: bash benchmarks/keypoint_models.sh [OUT]   (repo root, after `make install`). About 1.5 h on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/kp}
A=.venv/bin/actkit
mkdir -p "$OUT"

# 1. Keypoint sets: the plans of `actkit synth streams --videos 80 --seconds 60 90 --seed 0` and of
#    `actkit synth reps --videos-per-exercise 20 --seed 0` (BENCHMARKS' streams80 and reps sets) as keypoints;
#    every training stream seen from 4 cameras (about 5 minutes).
$A -q synth skeletons --set streams --out "$OUT/streams" --videos 80 --seconds 60 90 --views 4 --seed 0
$A -q synth skeletons --set reps --out "$OUT/reps" --videos-per-exercise 20 --seed 0
$A -q synth skeletons --set actions --out "$OUT/skeletons.parquet" --sequences-per-class 200 --frames 32 --fps 15

# 2. The exercises model: skel_stream_s per frame on the streams' tags (25 classes), 6 epochs (1 thread).
$A train --task skeleton --data "$OUT/streams" --model skel_stream_s --frames 64 --epochs 6 --batch-size 32 \
    --lr 3e-3 --optim.label_smoothing 0.1 --data.imbalance none --run.plots false --run.threads 1 --seed 0 \
    --out "$OUT/exercises"
$A export "$OUT/exercises/checkpoints/best.pt" --out "$OUT/exercises.onnx"

# 3. The actions model: skel_gcn_s on the 15 clips, 12 epochs.
$A train --task skeleton --data "$OUT/skeletons.parquet" --model skel_gcn_s --epochs 12 --batch-size 64 --lr 0.003 \
    --run.plots false --out "$OUT/actions"
$A export "$OUT/actions/checkpoints/best.pt" --out "$OUT/actions.onnx"

# 4. True joints + noise: events with the rule tuned on val, then test; repetitions on the reps test split.
E=(--smooth ema --window 5)
$A evaluate --model "$OUT/exercises.onnx" --data "$OUT/streams" --split val "${E[@]}" --tune-events --out "$OUT/ev_val"
$A evaluate --model "$OUT/exercises.onnx" --data "$OUT/streams" --split test "${E[@]}" --tune-events --out "$OUT/ev_test"
$A evaluate --model "$OUT/exercises.onnx" --data "$OUT/reps" --split test "${E[@]}" --out "$OUT/ev_reps_test"

# 5. Through the full pipeline: the same plans rendered (test split only), BlazePose on every frame
#    (`actkit keypoints --dataset` writes a keypoint set beside the labels), then the same model and rule.
$A -q synth streams --out "$OUT/streams80_test" --videos 80 --seconds 60 90 --seed 0 --workers 1 --splits test
$A -q synth reps --out "$OUT/reps_test" --videos-per-exercise 20 --size 160 --seed 0 --workers 1 --splits test
$A -q keypoints "$OUT/reps_test" --dataset --out "$OUT/reps_test_kp"
$A -q keypoints "$OUT/streams80_test" --dataset --out "$OUT/streams80_test_kp"
$A evaluate --model "$OUT/exercises.onnx" --data "$OUT/streams80_test_kp" --split test "${E[@]}" --tune-events \
    --out "$OUT/ev_video_test"
$A evaluate --model "$OUT/exercises.onnx" --data "$OUT/reps_test_kp" --split test "${E[@]}" --out "$OUT/ev_video_reps"

# 6. Cost per person per frame (1 thread), beside BlazePose's.
$A bench --perception --skeleton-step "$OUT/exercises.onnx" --iters 2000
$A bench --perception --skeleton-step "$OUT/actions.onnx" --iters 2000
