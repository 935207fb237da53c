#!/usr/bin/env bash
# The dives numbers in BENCHMARKS.md (issue 4): 48 Diving48 classes, temporal model with a factorised
# and a flat head, and the single-frame baseline, same recipe.
# Usage: bash benchmarks/dives.sh [OUT_DIR]   (repo root, after `make install`). About 80 min on 2 cores.
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
mkdir -p "$OUT"

$ACT -q synth dives --out "$OUT/dives" --videos-per-class 20 --seed 0 --workers 2 --sheet "$OUT/dives_sheet.png"

COMMON=(--task clip --data "$OUT/dives" --frames 16 --epochs 20 --batch-size 16 --lr 3e-3
        --optim.label_smoothing 0.1 --data.sampler uniform --data.cache true --data.workers 1
        --data.eval_clips 2 --run.plots false --run.threads 1)
$ACT train "${COMMON[@]}" --model clip_fast_s --model.head factorised --out "$OUT/dives_fast_s_fact"
$ACT train "${COMMON[@]}" --model clip_fast_s --out "$OUT/dives_fast_s_flat"
$ACT train "${COMMON[@]}" --model clip_frame_s --model.head factorised --out "$OUT/dives_frame_s_fact"
