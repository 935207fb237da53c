#!/usr/bin/env bash
# Seed spread of the postures comparison (fastcrop_p vs sc_c, same recipe and data as crops.sh).
# Usage: bash benchmarks/crops_seeds.sh [OUT_DIR] (after crops.sh has rendered OUT_DIR/postures.parquet); ~20 min.
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
SEEDS=${SEEDS:-1 2}
run() {  # run MODEL SEED
  $ACT -q train --data "$OUT/postures.parquet" --model "$1" --epochs 30 --seed "$2" --out "$OUT/seeds/postures_$1_s$2" \
    --run.plots false --run.threads 1 --run.keep_last 1 --run.keep_best 1 > /dev/null
}
for s in $SEEDS; do run sc_c "$s" & done; wait
for s in $SEEDS; do run fastcrop_p "$s" & done; wait
.venv/bin/python - "$OUT" <<'PY' | tee "$OUT/seeds.md"
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
runs = {"fastcrop_p": [out / "postures_fastcrop_p"], "sc_c": [out / "postures_sc_c"]}
for d in sorted((out / "seeds").glob("postures_*_s*")):
    runs[d.name.rsplit("_s", 1)[0].replace("postures_", "", 1)].append(d)
print("| model | seeds | test macro-F1 per seed | mean | val macro-F1 mean |")
print("|---|---|---|---|---|")
for m, dirs in runs.items():
    t = [json.loads((d / "summary.json").read_text())["test"]["macro_f1"] for d in dirs]
    v = [json.loads((d / "summary.json").read_text())["val"]["macro_f1"] for d in dirs]
    print(f"| {m} | {len(t)} | {', '.join(f'{x:.4f}' for x in t)} | {statistics.mean(t):.4f} | {statistics.mean(v):.4f} |")
PY
