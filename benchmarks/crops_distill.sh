#!/usr/bin/env bash
# Distillation on the postures comparison: fastcrop_p and sc_c, each trained with the 60-epoch recipe of
# crops_seeds.sh (EPOCHS=60), plain and with the same teacher's soft targets (`--distill.teacher`), per seed.
# The teacher is one larger model (TEACHER, default fastcrop_l) trained once with the plain recipe.
# Usage: bash benchmarks/crops_distill.sh [OUT_DIR] (renders OUT_DIR/postures.parquet if missing); ~60 min on 2 cores.
# Runs that already have a summary.json are kept, so an interrupted run picks up where it stopped.
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
SEEDS=${SEEDS:-0 1 2}
TEACHER=${TEACHER:-fastcrop_l}
ALPHA=${ALPHA:-0.5}
TEMP=${TEMP:-4}
SUB=${OUT_SUB:-kd}
[ -f "$OUT/postures.parquet" ] || $ACT synth postures --out "$OUT/postures.parquet" --n 4000 --seed 0
run() {  # run NAME MODEL SEED [extra flags...]
  local d="$OUT/$SUB/$1"
  [ -f "$d/summary.json" ] && return 0
  $ACT -q train --data "$OUT/postures.parquet" --model "$2" --epochs 60 --seed "$3" --out "$d" \
    --run.plots false --run.threads 1 --run.keep_last 1 --run.keep_best 1 "${@:4}" > "$d.log" 2>&1
}
slot() {  # wait until fewer than two runs are going (one per core)
  while (( $(jobs -rp | wc -l) >= 2 )); do wait -n || true; done
}
mkdir -p "$OUT/$SUB"
T="$OUT/$SUB/teacher_$TEACHER/checkpoints/best.pt"
run "teacher_$TEACHER" "$TEACHER" 0 &
for s in $SEEDS; do
  slot; run "p_s$s" fastcrop_p "$s" &
  slot; run "sc_c_s$s" sc_c "$s" &
done
wait
[ -f "$T" ] || { echo "teacher run failed: see $OUT/$SUB/teacher_$TEACHER.log" >&2; exit 1; }
for s in $SEEDS; do
  for m in fastcrop_p sc_c; do
    name="${m/fastcrop_p/p}_kd_s$s"
    slot; run "$name" "$m" "$s" --distill.teacher "$T" --distill.alpha "$ALPHA" --distill.temperature "$TEMP" &
  done
done
wait
.venv/bin/python - "$OUT/$SUB" "$TEACHER" <<'PY' | tee "$OUT/$SUB.md"
import json, pathlib, statistics, sys
sub, teacher = pathlib.Path(sys.argv[1]), sys.argv[2]
def summary(d):
    return json.loads((d / "summary.json").read_text())
t = summary(sub / f"teacher_{teacher}")
print(f"Teacher `{teacher}` (seed 0): test macro-F1 {t['test']['macro_f1']:.4f}, val {t['val']['macro_f1']:.4f}, "
      f"{t['train_seconds']:.0f} s\n")
print("| model | recipe | test macro-F1 per seed | mean | val macro-F1 mean | train s (mean) |")
print("|---|---|---|---|---|---|")
for model, stem in (("fastcrop_p", "p"), ("sc_c", "sc_c")):
    for recipe, tag in (("plain", ""), (f"distilled from {teacher}", "_kd")):
        dirs = sorted(sub.glob(f"{stem}{tag}_s*"))
        dirs = [d for d in dirs if d.is_dir() and (d / "summary.json").exists()]
        if not dirs:
            continue
        s = [summary(d) for d in dirs]
        test = [x["test"]["macro_f1"] for x in s]
        print(f"| {model} | {recipe} | {', '.join(f'{v:.4f}' for v in test)} | **{statistics.mean(test):.4f}** "
              f"| {statistics.mean(x['val']['macro_f1'] for x in s):.4f} | {statistics.mean(x['train_seconds'] for x in s):.0f} |")
PY
