#!/usr/bin/env bash
# Every number in BENCHMARKS.md's crop section comes from this script (~25 min on 2 cores).
# Usage: bash benchmarks/crops.sh [OUT_DIR]     (run from the repo root, after `make install`)
# Accuracy runs use 1 torch thread each and run the two tasks side by side; latency runs alone.
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
EPOCHS=${EPOCHS:-30}
N=${N:-4000}
MODELS=${MODELS:-fastcrop_p sc_c}
mkdir -p "$OUT"

# 1. Data: synthetic postures; the test split has unseen camera sectors, palettes and textures.
[ -f "$OUT/postures.parquet" ] || $ACT synth postures --out "$OUT/postures.parquet" --n "$N" --seed 0 --sheet "$OUT/postures_sheet.png"

# 2. Same data, same recipe (defaults: AdamW lr 1e-2 cosine, batch 64, $EPOCHS epochs, seed 0):
#    3 classes (postures) and the binary sitting-vs-not view (sitting).
task() {  # task NAME [extra train flags...]
  local name=$1; shift
  for m in $MODELS; do
    $ACT -q train --data "$OUT/postures.parquet" "$@" --model "$m" --epochs "$EPOCHS" --seed 0 \
      --out "$OUT/${name}_$m" --run.plots false --run.threads 1
    $ACT -q eval --model "$OUT/${name}_$m/checkpoints/best.pt" --data "$OUT/postures.parquet" --split test --json > "$OUT/${name}_$m.eval.json"
  done
}
task postures & task sitting --positive sitting & wait

# 3. int8 export of actkit's P (calibrated on val, F1 change on test).
for name in postures sitting; do
  $ACT -q export "$OUT/${name}_fastcrop_p/checkpoints/best.pt" --out "$OUT/${name}_fastcrop_p.onnx" --int8 | tee "$OUT/export_$name.txt"
done

# 4. Latency, side by side in one run per input size (body 32x24, eye 24x40), and fp32 vs int8.
$ACT -q bench --models fastcrop_p,sc_p,sc_baseline,fastcrop_s,fastcrop_m,sc_s,sc_c,fastcrop_l,sc_l --input 32x24 | tee "$OUT/bench_32x24.md"
$ACT -q bench --models fastcrop_p,sc_p,sc_baseline,fastcrop_s,fastcrop_m,sc_s,sc_c,fastcrop_l,sc_l --input 24x40 | tee "$OUT/bench_24x40.md"
$ACT -q bench --models "$OUT/postures_fastcrop_p.onnx,$OUT/postures_fastcrop_p.int8.onnx" | tee "$OUT/bench_int8.md"

# 5. Accuracy table.
.venv/bin/python - "$OUT" $MODELS <<'PY' | tee "$OUT/accuracy.md"
import json, sys, pathlib
out, models = pathlib.Path(sys.argv[1]), sys.argv[2:]
print("| task | model | test macro-F1 | test accuracy | ROC-AUC | ECE | macro-F1 at val-tuned threshold | train s |")
print("|---|---|---|---|---|---|---|---|")
for task in ("postures", "sitting"):
    for m in models:
        r = json.loads((out / f"{task}_{m}.eval.json").read_text())
        s = json.loads((out / f"{task}_{m}" / "summary.json").read_text())
        tuned = r.get("at_tuned_threshold", {}).get("macro_f1")
        print(f"| {task} | {m} | {r['macro_f1']:.4f} | {r['accuracy']:.4f} | {r['roc_auc']:.4f} | {r['ece']:.4f} | "
              f"{'' if tuned is None else f'{tuned:.4f}'} | {s['train_seconds']:.0f} |")
PY
