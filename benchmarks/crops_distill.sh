#!/usr/bin/env bash
# Distillation on the postures comparison: fastcrop_p and sc_c, each trained with the 60-epoch recipe of
# crops_seeds.sh (EPOCHS=60), plain and with the same teacher's soft targets (`--distill.teacher`), per seed.
# The teacher is one larger model (fastcrop_l) trained once with the plain recipe.
# Usage: bash benchmarks/crops_distill.sh [OUT_DIR] (renders OUT_DIR/postures.parquet if missing); ~70 min on 2 cores.
# EXTRA=1 adds the single-seed distillation settings tried first and the P variants of the same run
# (luma input, per-crop input normalisation, lr 3e-3, wider head or stages); about 60 min more.
# HEADS=1 adds the 2026-11-23 runs: position-aware pooling (`pool: gdc` / `flat`) and a moving average of the weights
# (`--optim.ema 0.995`) for both P and sc_c; about 70 min more for five seeds (BENCHMARKS.md used ten:
# SEEDS="0 1 2 3 4 5 6 7 8 9"; the plain-recipe P variants ran on seeds 0-4).
# HIRES=1 adds the 2026-11-23 runs: `pool: gdc` with a block at 16x12 (`strides: [1, 2, 2]`), EMA 0.995, beside
# the three it is compared with (`sc_c`, `fastcrop_p` and `fastcrop_p {pool: gdc}`, EMA 0.995), on $SEEDS; about 95 min on 2 cores for
# ten seeds with BASE=0, which leaves out the plain and distilled runs above (and their teacher).
# ANTIALIAS=1 adds the 2026-12-02 runs: the HIRES model with anti-aliased downsampling (`antialias: all`, blur 3 and 2;
# blur 2 is today's fastcrop_p) beside HIRES itself and `sc_c`, EMA 0.995, on $SEEDS (0-19 in the published table), plus three
# variants screened on the first five seeds; with BASE=0 about 2 h 10 min on 2 cores for 20 seeds on the 2026-12-02
# Intel host (an `sc_c` run is 466 s, a P run about 70 s).
# LATE=1 adds the 2026-12-02 runs: fastcrop_p1 (P without late_head) with its 256-wide head after pooling (`late_head: true`: a linear
# layer on the pooled vector instead of a 1x1 conv on the 4x3 map, 1/12 of the MACs; today's fastcrop_p), and the same
# 512 wide, on $SEEDS; about 40 min on 2 cores for 20 seeds.
# EXTRA=1 needs the teacher of BASE=1. TABLE_BASE names the run the table pairs the others with (default p).
# Runs that already have a summary.json are kept, so an interrupted run picks up where it stopped.
# fastcrop_p changed in two steps on 2026-12-02 (BENCHMARKS.md); the runs before ANTIALIAS use the earlier P, kept as
# fastcrop_p0, and ANTIALIAS sets the 2026-12-02 head (`late_head: false`, as fastcrop_p1).
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
SEEDS=${SEEDS:-0 1 2 3 4}
SUB=${OUT_SUB:-kd}
[ -f "$OUT/postures.parquet" ] || $ACT synth postures --out "$OUT/postures.parquet" --n 4000 --seed 0
mkdir -p "$OUT/$SUB"
run() {  # run NAME MODEL SEED [extra flags...]; NAME_sSEED is the run folder
  local d="$OUT/$SUB/$1_s$3"
  [ -f "$d/summary.json" ] && return 0
  $ACT -q train --data "$OUT/postures.parquet" --model "$2" --epochs 60 --seed "$3" --out "$d" \
    --run.plots false --run.threads 1 --run.keep_last 1 --run.keep_best 1 "${@:4}" > "$d.log" 2>&1
}
slot() {  # wait until fewer than two runs are going (one per core)
  while (( $(jobs -rp | wc -l) >= 2 )); do wait -n || true; done
}
ema_runs() {  # ema_runs SEED: sc_c, P and P {pool: gdc} with EMA 0.995, what HEADS and HIRES compare with
  slot; run sc_c_ema sc_c "$1" --optim.ema 0.995 &
  slot; run p_ema fastcrop_p0 "$1" --optim.ema 0.995 &
  slot; run p_gdc_ema fastcrop_p0 "$1" --optim.ema 0.995 --model.args '{pool: gdc}' &
}
T="$OUT/$SUB/teacher_fastcrop_l_s0/checkpoints/best.pt"
KD=(--distill.teacher "$T" --distill.alpha 0.5 --distill.temperature 2)
if [ "${BASE:-1}" = 1 ]; then
  run teacher_fastcrop_l fastcrop_l 0 &
  for s in $SEEDS; do
    slot; run p fastcrop_p0 "$s" &
    slot; run sc_c sc_c "$s" &
  done
  wait
  [ -f "$T" ] || { echo "teacher run failed: see $OUT/$SUB/teacher_fastcrop_l_s0.log" >&2; exit 1; }
  for s in $SEEDS; do
    slot; run p_kd_t2a5 fastcrop_p0 "$s" "${KD[@]}" &
    slot; run sc_c_kd_t2a5 sc_c "$s" "${KD[@]}" &
  done
fi
if [ "${EXTRA:-0}" = 1 ]; then
  [ -f "$T" ] || { echo "EXTRA=1 needs the teacher of the base runs: run with BASE=1 first" >&2; exit 1; }
  slot; run p_kd fastcrop_p0 0 --distill.teacher "$T" &  # the defaults: alpha 0.5, temperature 4
  slot; run p_kd_t1a5 fastcrop_p0 0 --distill.teacher "$T" --distill.temperature 1 &
  slot; run p_kd_t2a9 fastcrop_p0 0 --distill.teacher "$T" --distill.alpha 0.9 --distill.temperature 2 &
  slot; run p_fm200 fastcrop_p0 0 --distill.teacher "$T" --distill.alpha 1 --distill.temperature 1 --data.mixup 1 --epochs 200 &
  for s in $SEEDS; do
    slot; run p_in fastcrop_p0 "$s" --model.args '{input_norm: instance}' &
  done
  for s in 0 1 2; do slot; run p_y fastcrop_p0 "$s" --model.colour y & done
  for s in 0 1; do slot; run p_lr3 fastcrop_p0 "$s" --lr 3e-3 & done
  for s in 0 1; do slot; run p_w64 fastcrop_p0 "$s" --model.args '{stem: 32, widths: [64, 128], depths: [1, 2]}' & done
  for s in 0 1; do slot; run p_ws fastcrop_p0 "$s" --model.args '{widths: [96, 192], depths: [1, 2]}' & done
  for h in 512 768 1024; do
    for s in $SEEDS; do slot; run "p_h$h" fastcrop_p0 "$s" --model.args "{head_dim: $h}" & done
  done
  for s in $SEEDS; do slot; run p_h512_kd_t2a5 fastcrop_p0 "$s" --model.args '{head_dim: 512}' "${KD[@]}" & done
fi
if [ "${HEADS:-0}" = 1 ]; then
  for s in $SEEDS; do
    ema_runs "$s"
    slot; run p_gdc fastcrop_p0 "$s" --model.args '{pool: gdc}' &
    slot; run p_flat fastcrop_p0 "$s" --model.args '{pool: flat}' &
    slot; run p_gdc_h512 fastcrop_p0 "$s" --model.args '{pool: gdc, head_dim: 512}' &
    slot; run p_gdc_d33 fastcrop_p0 "$s" --model.args '{pool: gdc, depths: [3, 3]}' &
    slot; run p_gdc_st32_ema fastcrop_p0 "$s" --optim.ema 0.995 --model.args '{pool: gdc, stem: 32}' &
    slot; run p_gdc_k5_ema fastcrop_p0 "$s" --optim.ema 0.995 --model.args '{pool: gdc, dw_kernel: 5}' &
  done
fi
if [ "${HIRES:-0}" = 1 ]; then
  HI='{pool: gdc, widths: [24, 48, 96], depths: [1, 1, 3], strides: [1, 2, 2]}'
  for s in $SEEDS; do
    ema_runs "$s"
    slot; run p_gdc_hires_ema fastcrop_p0 "$s" --optim.ema 0.995 --model.args "$HI" &
  done
fi
if [ "${ANTIALIAS:-0}" = 1 ]; then
  HI='pool: gdc, widths: [24, 48, 96], depths: [1, 1, 3], strides: [1, 2, 2], late_head: false'  # the P head without late_head (fastcrop_p1)
  for s in $SEEDS; do
    slot; run sc_c_ema sc_c "$s" --optim.ema 0.995 &
    slot; run p_gdc_hires_ema fastcrop_p "$s" --optim.ema 0.995 --model.args "{$HI, antialias: none}" &
    slot; run p_gha_ema fastcrop_p "$s" --optim.ema 0.995 --model.args "{$HI, antialias: all, blur: 3}" &
    slot; run p_gha2_ema fastcrop_p "$s" --optim.ema 0.995 --model.args "{$HI, antialias: all, blur: 2}" &
  done
  for s in $(echo $SEEDS | cut -d' ' -f1-5); do  # screened on five seeds (four for p_gha16_ema) and dropped
    slot; run p_ghb_ema fastcrop_p "$s" --optim.ema 0.995 --model.args "{$HI, antialias: blocks, blur: 3}" &
    slot; run p_gha_st16_ema fastcrop_p "$s" --optim.ema 0.995 --model.args "{$HI, antialias: all, blur: 3, stem: 16}" &
    slot; run p_gha16_ema fastcrop_p "$s" --optim.ema 0.995 --model.args "{$HI, antialias: all, blur: 3, stem: 16, widths: [16, 48, 96]}" &
  done
fi
if [ "${LATE:-0}" = 1 ]; then  # 2026-12-02: the head's width after pooling (late_head), 256 as today's P, and 512
  for s in $SEEDS; do
    slot; run p_late_ema fastcrop_p "$s" --optim.ema 0.995 --model.args '{late_head: true}' &
    slot; run p_late512_ema fastcrop_p "$s" --optim.ema 0.995 --model.args '{late_head: true, head_dim: 512}' &
  done
fi
wait
.venv/bin/python benchmarks/runs_table.py "$OUT/$SUB" --base "${TABLE_BASE:-p}" --plot "$OUT/$SUB.png" | tee "$OUT/$SUB.md"
