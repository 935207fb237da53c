#!/usr/bin/env bash
# The shipped keypoint models and their numbers in BENCHMARKS.md: BlazePose's errors on rendered people, the
# exercises / events streaming model trained per frame on keypoint streams, the actions and posture models,
# events and repetitions on true-joint keypoints and through rendered video -> BlazePose, and the cost per
# person per frame. Usage: bash benchmarks/keypoint_models.sh [OUT]   (repo root, after `make install`).
# About 2.5 h on 2 cores (renders 25 min, BlazePose over 23,000 rendered frames 20 min, trainings 1.5 h).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/kp}
A=.venv/bin/actkit
mkdir -p "$OUT"
NOISE=jitter=0.035,swap=0.08,drop_joint=0.08,drop_frame=0.03   # what step 2 measured, rounded
ARGS='{side_invariant: true, depth: false}'

# 1. The test splits of BENCHMARKS' streams80 and reps sets rendered (same plans: --splits renders only those),
#    and BlazePose on every frame (a keypoint set beside the labels).
$A -q synth streams --out "$OUT/streams80_test" --videos 80 --seconds 60 90 --seed 0 --workers 1 --splits test
$A -q synth reps --out "$OUT/reps_test" --videos-per-exercise 20 --size 160 --seed 0 --workers 1 --splits test
$A -q keypoints "$OUT/reps_test" --dataset --out "$OUT/reps_test_kp"
$A -q keypoints "$OUT/streams80_test" --dataset --out "$OUT/streams80_test_kp"

# 2. BlazePose against the true joints of the rendered reps: found frames, joint error, left/right swaps.
$A bench --perception --pose-errors "$OUT/reps_test" "$OUT/reps_test_kp"

# 3. Keypoint sets from the same plans: streams with that noise (4 cameras per training video), reps and the
#    15 actions with the default noise, postures.
$A -q synth skeletons --set streams --out "$OUT/streams_bp" --videos 80 --seconds 60 90 --views 4 --seed 0 --noise $NOISE
$A -q synth skeletons --set streams --out "$OUT/streams" --videos 80 --seconds 60 90 --views 4 --seed 0
$A -q synth skeletons --set reps --out "$OUT/reps" --videos-per-exercise 20 --seed 0
$A -q synth skeletons --set actions --out "$OUT/skeletons.parquet" --sequences-per-class 200 --frames 32 --fps 15
$A -q synth skeletons --set postures --n 8000 --out "$OUT/posture_skeletons.parquet"

# 4. The three models (the shipped ones: their cards list these commands).
$A train --task skeleton --data "$OUT/streams_bp" --model skel_stream_s --frames 64 --epochs 6 --batch-size 32 \
    --lr 3e-3 --optim.label_smoothing 0.1 --data.imbalance none --run.plots false --run.threads 1 --seed 0 \
    --model.args "$ARGS" --out "$OUT/ex_bp_si_nz"
$A export "$OUT/ex_bp_si_nz/checkpoints/best.pt" --stream --out "$OUT/exercises.onnx"
$A train --task skeleton --data "$OUT/skeletons.parquet" --model skel_gcn_s --epochs 12 --batch-size 64 --lr 0.003 \
    --model.args "$ARGS" --run.plots false --run.threads 1 --seed 0 --out "$OUT/actions_nz_si"
$A train --task skeleton --data "$OUT/posture_skeletons.parquet" --model skel_gcn_s --frames 4 --epochs 15 \
    --batch-size 64 --lr 0.003 --model.args '{depth: false}' --run.plots false --run.threads 1 --seed 0 \
    --out "$OUT/posture_nz"

# 5. Events: the rule tuned on val (true joints + noise), then every test set with it; repetitions.
M="$OUT/ex_bp_si_nz/checkpoints/best.pt"
$A evaluate --model "$M" --data "$OUT/streams_bp" --split val --smooth ema --window 5 --tune-events --out "$OUT/ev_val"
RULE=(--smooth hmm --window 9 --event-threshold 0.5 --min-event-frames 16 --event-hold 16)   # what ev_val printed
for D in streams_bp streams reps streams80_test_kp reps_test_kp; do
  $A evaluate --model "$M" --data "$OUT/$D" --split test "${RULE[@]}" --out "$OUT/ev_test_$D"
done

# 6. Actions through rendered video (150 clips at 192 px -> BlazePose), and posture on the real plaza.
$A -q synth actions --out "$OUT/actions_video" --clips-per-class 10 --frames 32 --size 192 --fps 15 --workers 1
$A -q keypoints "$OUT/actions_video" --dataset --out "$OUT/actions_video_kp.parquet"
$A eval --model "$OUT/actions_nz_si/checkpoints/best.pt" --data "$OUT/actions_video_kp.parquet" --split test
$A bench --perception --posture-footage posture

# 7. Cost per person per frame (1 thread), beside BlazePose's.
$A bench --perception --skeleton-step exercises --iters 2000
$A bench --perception --skeleton-step posture --iters 2000
