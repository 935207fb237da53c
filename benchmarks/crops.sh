#!/usr/bin/env bash
# Every number in BENCHMARKS.md's crop section comes from this script (about 15 min on 2 cores).
# Usage: bash benchmarks/crops.sh [OUT_DIR]     (run from the repo root, after `make install`)
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
EPOCHS=${EPOCHS:-15}
mkdir -p "$OUT"

# 1. Data: synthetic postures, test split = unseen camera sectors, palettes and textures.
[ -f "$OUT/postures.parquet" ] || $ACT synth postures --out "$OUT/postures.parquet" --n 6000 --seed 0 --sheet "$OUT/postures_sheet.png"

# 2. Same data, same recipe: actkit's P vs the reference family's C (and P), 3 classes and the binary sitting view.
for m in fastcrop_p sc_p sc_c; do
  $ACT train --data "$OUT/postures.parquet" --model $m --epochs $EPOCHS --seed 0 --out "$OUT/postures_$m" --run.plots false
  $ACT eval --model "$OUT/postures_$m/checkpoints/best.pt" --data "$OUT/postures.parquet" --split test --json > "$OUT/postures_$m.eval.json"
  $ACT train --data "$OUT/postures.parquet" --positive sitting --model $m --epochs $EPOCHS --seed 0 --out "$OUT/sitting_$m" --run.plots false
  $ACT eval --model "$OUT/sitting_$m/checkpoints/best.pt" --data "$OUT/postures.parquet" --split test --json > "$OUT/sitting_$m.eval.json"
done

# 3. int8 export of actkit's P (calibrated on val, F1 change on test).
$ACT export "$OUT/postures_fastcrop_p/checkpoints/best.pt" --out "$OUT/postures_fastcrop_p.onnx" --int8 | tee "$OUT/export_postures.txt"
$ACT export "$OUT/sitting_fastcrop_p/checkpoints/best.pt" --out "$OUT/sitting_fastcrop_p.onnx" --int8 | tee "$OUT/export_sitting.txt"

# 4. Latency, side by side in one run per input size (body 32x24, eye 24x40).
$ACT bench --models fastcrop_p,sc_p,sc_baseline,fastcrop_s,fastcrop_l,sc_s,sc_c,sc_l --input 32x24 | tee "$OUT/bench_32x24.md"
$ACT bench --models fastcrop_p,sc_p,sc_baseline,fastcrop_s,fastcrop_l,sc_s,sc_c,sc_l --input 24x40 | tee "$OUT/bench_24x40.md"
$ACT bench --models "$OUT/postures_fastcrop_p.onnx,$OUT/postures_fastcrop_p.int8.onnx" | tee "$OUT/bench_int8.md"

# 5. Summary table of the accuracy runs.
.venv/bin/python - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| task | model | test macro-F1 | test accuracy | at val-tuned threshold |")
print("|---|---|---|---|---|")
for task in ("postures", "sitting"):
    for m in ("fastcrop_p", "sc_p", "sc_c"):
        r = json.loads((out / f"{task}_{m}.eval.json").read_text())
        tuned = r.get("at_tuned_threshold", {}).get("macro_f1")
        print(f"| {task} | {m} | {r['macro_f1']:.4f} | {r['accuracy']:.4f} | {'' if tuned is None else f'{tuned:.4f}'} |")
PY
