#!/usr/bin/env bash
# Seed spread of the postures comparison (fastcrop_p vs sc_c, same recipe and data as crops.sh).
# Usage: bash benchmarks/crops_seeds.sh [OUT_DIR] (after crops.sh has rendered OUT_DIR/postures.parquet); ~45 min.
# EPOCHS=60 OUT_SUB=seeds60 SEEDS="0 1 2" gives the longer-schedule table (both models trained to convergence).
# Those tables (2026-11-22) ran the P now kept as fastcrop_p0: P=fastcrop_p0, after crops.sh with MODELS="fastcrop_p0 sc_c".
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
SEEDS=${SEEDS-1 2 3 4}
EPOCHS=${EPOCHS:-30}
SUB=${OUT_SUB:-seeds}
P=${P:-fastcrop_p}
run() {  # run MODEL SEED
  $ACT -q train --data "$OUT/postures.parquet" --model "$1" --epochs "$EPOCHS" --seed "$2" --out "$OUT/$SUB/postures_$1_s$2" \
    --run.plots false --run.threads 1 --run.keep_last 1 --run.keep_best 1 > /dev/null
}
for m in sc_c "$P"; do  # two runs at a time (one per core)
  n=0
  for s in $SEEDS; do run "$m" "$s" & n=$((n + 1)); if (( n % 2 == 0 )); then wait; fi; done; wait
done
.venv/bin/python - "$OUT" "$SUB" "$P" <<'PY' | tee "$OUT/$SUB.md"
import json, pathlib, statistics, sys
out, sub, p = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
# seed 0 of the 30-epoch recipe is crops.sh's run
runs = {p: [out / f"postures_{p}"], "sc_c": [out / "postures_sc_c"]} if sub == "seeds" else {p: [], "sc_c": []}
for d in sorted((out / sub).glob("postures_*_s*")):
    runs[d.name.rsplit("_s", 1)[0].replace("postures_", "", 1)].append(d)
print("| model | seeds | test macro-F1 per seed | mean | median | val macro-F1 mean |")
print("|---|---|---|---|---|---|")
for m, dirs in runs.items():
    t = [json.loads((d / "summary.json").read_text())["test"]["macro_f1"] for d in dirs]
    v = [json.loads((d / "summary.json").read_text())["val"]["macro_f1"] for d in dirs]
    print(f"| {m} | {len(t)} | {', '.join(f'{x:.4f}' for x in t)} | {statistics.mean(t):.4f} | {statistics.median(t):.4f} "
          f"| {statistics.mean(v):.4f} |")
PY
