#!/usr/bin/env bash
# The dives numbers in BENCHMARKS.md: 48 Diving48 classes, temporal model with a factorised
# and a flat head, and the single-frame baseline, same recipe.
# Usage: bash benchmarks/dives.sh [OUT_DIR]   (repo root, after `make install`).
# About 35 min per 60-epoch run on 2 cores, about 3 h in all, and 3.5 h more for the larger sets and the
# single-frame stem (steps at the end).
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
mkdir -p "$OUT"

$ACT -q synth dives --out "$OUT/dives" --videos-per-class 20 --seed 0 --workers 2 --sheet "$OUT/dives_sheet.png"

# Every frame of a dive matters: a 4.5-somersault dive turns up to 120 degrees between frames, so 16 frames
# spread over 32-48 alias the rotation. 32 frames at 80 px cost less than 16 at 112 px.
COMMON=(--task clip --data "$OUT/dives" --frames 32 --input 80,80 --epochs 60 --batch-size 16 --lr 3e-3
        --optim.label_smoothing 0.1 --data.sampler uniform --data.cache true --data.cache_dir "$OUT/dives_cache80"
        --data.workers 1 --data.colour_jitter 0.4 --data.eval_clips 2 --run.plots false)
# clip_fast_s pooling time once (stage 3) instead of twice: 8 steps left for the temporal conv, not 4.
TEMPORAL=(--model clip_fast_s --model.args '{time_pool: [false, false, true, false]}')
$ACT train "${COMMON[@]}" "${TEMPORAL[@]}" --model.head factorised --run.threads 2 --out "$OUT/dives_s32x80_fftf"
# The same model 40 epochs more from its best checkpoint (lr 2e-3): still climbing at epoch 60.
$ACT train "${COMMON[@]}" "${TEMPORAL[@]}" --model.head factorised --run.threads 2 --epochs 40 --lr 2e-3 \
    --model.init_from "$OUT/dives_s32x80_fftf/checkpoints/best.pt" --out "$OUT/dives_s32x80_fftf_more"
# Resolution for the twists: 12 epochs at 112 px from the 80 px model.
$ACT train "${COMMON[@]}" "${TEMPORAL[@]}" --model.head factorised --run.threads 2 --epochs 12 --lr 1e-3 --input 112,112 \
    --data.cache_dir "$OUT/dives_cache112" --model.init_from "$OUT/dives_s32x80_fftf_more/checkpoints/best.pt" --out "$OUT/dives_s32x112_ft"
# The single-frame baseline averages the features of 16 frames (an order-free model gains little from 32 but
# the cost: it runs its 2D net on every frame), and the temporal model with a flat 48-way head.
$ACT train "${COMMON[@]}" --model clip_frame_s --frames 16 --model.head factorised --run.threads 2 --out "$OUT/dives_frame_s16x80_fact"
$ACT train "${COMMON[@]}" "${TEMPORAL[@]}" --run.threads 2 --out "$OUT/dives_s32x80_fftf_flat"
for run in dives_s32x80_fftf dives_s32x80_fftf_more dives_s32x112_ft dives_frame_s16x80_fact dives_s32x80_fftf_flat; do
  $ACT eval --model "$OUT/$run/checkpoints/best.pt" --data "$OUT/dives" --split test --clips 2 --out "$OUT/$run/eval"
done

# 2026-11-22: more dives per class. Twists are what is left, and the model fits them on its training dives
# far better than on new ones: 40 and then 80 dives per class (24 and 48 training dives; the real Diving48 has
# ~300), each set a new draw with its own val and test dives (same split rules). The model continues from the
# previous set's best checkpoint: 30 epochs on 40 per class, 8 on 80 per class (CPU time).
for N in 40 80; do
  $ACT -q synth dives --out "$OUT/dives$N" --videos-per-class $N --seed 0 --workers 2
done
$ACT train "${COMMON[@]}" "${TEMPORAL[@]}" --model.head factorised --run.threads 1 --epochs 30 --lr 2e-3 \
    --data "$OUT/dives40" --data.cache_dir "$OUT/dives40_cache80" \
    --model.init_from "$OUT/dives_s32x80_fftf_more/checkpoints/best.pt" --out "$OUT/dives40_ft"
$ACT train "${COMMON[@]}" "${TEMPORAL[@]}" --model.head factorised --run.threads 2 --epochs 8 --lr 2e-3 \
    --data "$OUT/dives80" --data.cache_dir "$OUT/dives80_cache80" \
    --model.init_from "$OUT/dives40_ft/checkpoints/best.pt" --out "$OUT/dives80_ft"
for SPLIT in val test; do
  for FLIP in "" --flip; do
    $ACT eval --model "$OUT/dives_s32x80_fftf_more/checkpoints/best.pt" --data "$OUT/dives40" --split $SPLIT --clips 2 $FLIP
    $ACT eval --model "$OUT/dives40_ft/checkpoints/best.pt" --data "$OUT/dives40" --split $SPLIT --clips 2 $FLIP
    $ACT eval --model "$OUT/dives40_ft/checkpoints/best.pt" --data "$OUT/dives80" --split $SPLIT --clips 2 $FLIP
    $ACT eval --model "$OUT/dives80_ft/checkpoints/best.pt" --data "$OUT/dives80" --split $SPLIT --clips 2 $FLIP
  done
done

# 2026-11-23: a single-frame stem. The stem fused frame pairs, so a twisting dive turned up to twice its
# per-frame twist (200-400 degrees for 2.5-3 twists in pike) between the steps the later layers saw.
# `stem_frames: 1` gives them every frame until stage 2 pools pairs; init_from refits the stem kernel.
STEM1=(--model clip_fast_s --model.args '{time_pool: [false, true, true, false], stem_frames: 1}' --model.head factorised
       --run.threads 2 --data "$OUT/dives80" --data.cache_dir "$OUT/dives80_cache80")
$ACT train "${COMMON[@]}" "${STEM1[@]}" --epochs 10 --lr 2e-3 \
    --model.init_from "$OUT/dives80_ft/checkpoints/best.pt" --out "$OUT/dives80_stem1"
# Val was still rising at epoch 10: 8 more epochs at lr 1e-3 from its best checkpoint.
$ACT train "${COMMON[@]}" "${STEM1[@]}" --epochs 8 --lr 1e-3 \
    --model.init_from "$OUT/dives80_stem1/checkpoints/best.pt" --out "$OUT/dives80_stem1_more"
for run in dives80_stem1 dives80_stem1_more; do
  for SPLIT in val test; do
    for FLIP in "" --flip; do
      $ACT eval --model "$OUT/$run/checkpoints/best.pt" --data "$OUT/dives80" --split $SPLIT --clips 2 $FLIP
    done
  done
done
