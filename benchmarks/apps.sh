#!/usr/bin/env bash
# Applications (BENCHMARKS.md, "Applications"): sitting seconds against per-frame truth on multi-person keypoint
# streams, the eye-state crop model behind the drowsiness app, and the drowsiness app's cost with the crop opinion,
# and the fitness app on the reps set (true joints and rendered video through BlazePose). Usage: bash benchmarks/apps.sh
# [OUT]  (repo root, after `make install`). About 12 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/apps}
A=.venv/bin/actkit
mkdir -p "$OUT"
NOISE=jitter=0.035,swap=0.08,drop_joint=0.08,drop_frame=0.03   # BlazePose's measured noise (keypoint_models.sh)

# 1. Sitting: 40 streams of 2-3 people, 60-120 s each, with the default noise and with BlazePose's.
$A -q synth skeletons --set sitting --videos 40 --out "$OUT/sitting"
$A -q synth skeletons --set sitting --videos 40 --noise "$NOISE" --out "$OUT/sitting_bp"
for D in sitting sitting_bp; do
  for S in test all; do
    $A -q app sitting --evaluate "$OUT/$D" --split "$S" > "$OUT/${D}_eval_$S.json"
  done
done

# 2. The eye-state model (the shipped eyes.json lists the same commands), its test split, and the real eyes
#    (pytest tests/test_app_drowsiness.py -k real_open_eyes).
$A -q synth eyes --n 16000 --out "$OUT/eyes.parquet"
$A train --task crop --data "$OUT/eyes.parquet" --model fastcrop_p --input 24,40 --epochs 12 --batch-size 128 \
    --seed 0 --run.plots false --out "$OUT/eyes_p"
$A export "$OUT/eyes_p/checkpoints/best.pt" --out "$OUT/eyes.onnx"
$A bench --models "$OUT/eyes.onnx",sc_p,sc_l --input 24x40 --iters 2000   # OCEC-P and -L are sc_p and sc_l at 24x40

# 3. Drowsiness per stage: landmarks only, crops where uncertain (the default), crops on every frame.
$A -q data fetch opencv-samples
FACE=$(.venv/bin/python -c "from actkit.perception.samples import sample_path; print(sample_path('227943776_1.jpg'))")
mkdir -p "$OUT/face_frames"
for i in $(seq -w 0 59); do cp "$FACE" "$OUT/face_frames/$i.jpg"; done
for C in "--eyes-model none" "--eye-crops uncertain" "--eye-crops always"; do
  $A -q app drowsiness --source "$OUT/face_frames" --threads 2 --calibrate-s 1 $C > "$OUT/drowsiness_$(echo $C | tr -d ' -').json"
done

# 4. Fitness: repetitions and the exercise named, true joints and the full pipeline, on the test videos; the
#    training and validation videos (rendered and through BlazePose too) are where the feet thresholds were chosen.
$A -q synth skeletons --set reps --out "$OUT/reps" --videos-per-exercise 20 --seed 0
$A -q synth reps --out "$OUT/reps_video" --videos-per-exercise 20 --size 160 --seed 0 --workers 2
$A -q keypoints "$OUT/reps_video" --dataset --out "$OUT/reps_video_kp"
for S in train val test; do
  $A -q app fitness --evaluate "$OUT/reps" --split $S > "$OUT/fitness_true_$S.json"
  $A -q app fitness --evaluate "$OUT/reps_video_kp" --split $S > "$OUT/fitness_video_$S.json"
done
